//! The clock the queue reads deadlines from, injected so tests control time.

use std::fmt::Debug;

use futures::future::BoxFuture;
use tokio::time::Instant;

/// A source of "now" and a way to sleep until a deadline.
///
/// The queue asks the clock for the current time when a key is added and sleeps on it until the
/// earliest deadline. Instants are tokio's, so [`TokioClock`] under `tokio::time::pause()` is the
/// usual test clock; a custom clock must wake its sleepers when its time moves.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Instant;

    /// A future that completes at or after `deadline`.
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;
}

/// The real clock: tokio's, which honours `tokio::time::pause()` and `advance()` in tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(deadline))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock;
        let start = clock.now();
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(clock.now() - start, Duration::from_secs(5));

        let deadline = start + Duration::from_secs(65);
        clock.sleep_until(deadline).await;
        assert_eq!(clock.now(), deadline);
    }
}
