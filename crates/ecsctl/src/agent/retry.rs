//! How the agent waits out a control plane it cannot reach: it keeps trying, slower and
//! slower, and never gives up. Its tasks run on meanwhile; exiting would only leave them
//! unwatched until something restarted it.

use crate::client::is_unreachable;
use std::future::Future;
use std::time::Duration;

/// Pauses between tries while no server can be reached: 1 s, doubling up to 30 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_secs(1);
    pub const MAX: Duration = Duration::from_secs(30);

    /// The pause before the next try (the one after is twice as long, up to [`Self::MAX`]).
    pub fn pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        pause
    }

    /// A server answered: the next outage starts from [`Self::FIRST`] again.
    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::FIRST }
    }
}

/// Runs `op` until a server answers it (whatever the answer): while none can be reached,
/// says so in the log, waits ([`Backoff`]) and tries again. Any other error is returned.
pub async fn until_reachable<T, F, Fut>(what: &str, mut op: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut backoff = Backoff::default();
    loop {
        match op().await {
            Err(e) if is_unreachable(&e) => {
                let pause = backoff.pause();
                tracing::warn!(error = %e, retry_in = ?pause, "{what}: no ecsctl server can be reached; trying again");
                tokio::time::sleep(pause).await;
            }
            answered => return answered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Attempt, Unreachable};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn pauses_double_up_to_the_bound_and_start_over() {
        let mut b = Backoff::default();
        let pauses: Vec<u64> = (0..7).map(|_| b.pause().as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30]);
        b.reset();
        assert_eq!(b.pause(), Backoff::FIRST);
    }

    fn unreachable() -> anyhow::Error {
        Unreachable {
            tried: vec![Attempt {
                server: "tcp://127.0.0.1:1".into(),
                reason: "connection refused".into(),
            }],
        }
        .into()
    }

    #[tokio::test(start_paused = true)]
    async fn retries_while_unreachable_and_returns_any_answer() {
        let calls = AtomicUsize::new(0);
        let got = until_reachable("test", || async {
            match calls.fetch_add(1, Ordering::Relaxed) {
                0 | 1 => Err(unreachable()),
                _ => Ok(7),
            }
        })
        .await
        .unwrap();
        assert_eq!((got, calls.load(Ordering::Relaxed)), (7, 3));

        // An answer that is an error (a refused token) is not waited out.
        let calls = AtomicUsize::new(0);
        let err = until_reachable::<(), _, _>("test", || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(anyhow::anyhow!("HTTP 403"))
        })
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "HTTP 403");
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }
}
