//! The servers a client may use (`--server URL[,URL...]`) and the one it uses now, and the
//! error when none of them could be reached.
//!
//! Every server of a control plane serves the whole API, so any of them will do. The client
//! keeps to the one it reached last: moving only when that one cannot be reached keeps a
//! client's reads on one server (one view of the store, one server's log to read) while it
//! is up.

use super::ServerAddr;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The servers in the order given, and which one requests go to first.
#[derive(Debug)]
pub(super) struct Servers {
    list: Vec<ServerAddr>,
    /// Index into `list` of the server reached last (shared by every clone of the client:
    /// the agent's store calls run on clones).
    current: AtomicUsize,
}

impl Servers {
    /// `list` must not be empty.
    pub(super) fn new(list: Vec<ServerAddr>) -> Self {
        debug_assert!(!list.is_empty());
        Servers {
            list,
            current: AtomicUsize::new(0),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    pub(super) fn addr(&self, i: usize) -> &ServerAddr {
        &self.list[i % self.list.len()]
    }

    pub(super) fn all(&self) -> &[ServerAddr] {
        &self.list
    }

    /// The server requests go to first.
    pub(super) fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// Where a request that found `current` in place starts: that server, unless it is the
    /// one a stream just lost (`lost`), then the one after it. Each server is tried once,
    /// in order, from there.
    pub(super) fn order(&self, current: usize, lost: Option<usize>) -> Vec<usize> {
        let n = self.list.len();
        let first = if lost == Some(current) {
            current + 1
        } else {
            current
        };
        (0..n).map(|k| (first + k) % n).collect()
    }

    /// Server `reached` answered a request that started while `was` was the current one:
    /// it becomes the current one. Only the request that makes the move says so, once.
    pub(super) fn reached(&self, was: usize, reached: usize) {
        if was == reached {
            return;
        }
        if self
            .current
            .compare_exchange(was, reached, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            tracing::info!(
                from = %self.addr(was),
                to = %self.addr(reached),
                "moved to another ecsctl server"
            );
        }
    }
}

/// One server that could not be reached, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub server: String,
    pub reason: String,
}

/// No server could be reached: nothing answered (connection refused or timed out, no
/// socket file, the connection reset before an answer, a TLS handshake that broke off).
/// Each server was tried once, in order.
#[derive(Debug)]
pub struct Unreachable {
    pub tried: Vec<Attempt>,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tried.as_slice() {
            [one] => write!(
                f,
                "cannot reach the ecsctl server at {}: is `ecsctl server` running? ({})",
                one.server, one.reason
            ),
            many => {
                f.write_str("cannot reach any ecsctl server: ")?;
                for (i, a) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} ({})", a.server, a.reason)?;
                }
                f.write_str(": is `ecsctl server` running?")
            }
        }
    }
}

impl std::error::Error for Unreachable {}

/// Whether `err` says that no server could be reached (as opposed to a server that answered,
/// even with an error): the agent waits and tries again then.
pub fn is_unreachable(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Unreachable>().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(n: usize) -> Servers {
        Servers::new(
            (0..n)
                .map(|i| ServerAddr::Tcp(format!("127.0.0.1:{}", 7000 + i)))
                .collect(),
        )
    }

    #[test]
    fn requests_start_at_the_current_server_and_try_each_once() {
        let s = servers(3);
        assert_eq!(s.order(0, None), [0, 1, 2]);
        assert_eq!(s.order(2, None), [2, 0, 1]);
        // A stream lost the current server: the next one first, the lost one last.
        assert_eq!(s.order(1, Some(1)), [2, 0, 1]);
        // Another request has moved on already: start where it did.
        assert_eq!(s.order(2, Some(1)), [2, 0, 1]);
        assert_eq!(servers(1).order(0, Some(0)), [0]);
    }

    #[test]
    fn the_server_reached_becomes_current_once() {
        let s = servers(3);
        s.reached(0, 2);
        assert_eq!(s.current(), 2);
        // A request that started before the move and reached another server does not undo
        // it.
        s.reached(0, 1);
        assert_eq!(s.current(), 2);
        s.reached(2, 2);
        assert_eq!(s.current(), 2);
    }

    #[test]
    fn unreachable_names_every_server_tried() {
        let one = Unreachable {
            tried: vec![Attempt {
                server: "unix:/x/ecsctl.sock".into(),
                reason: "connection refused".into(),
            }],
        };
        assert_eq!(
            one.to_string(),
            "cannot reach the ecsctl server at unix:/x/ecsctl.sock: is `ecsctl server` running? (connection refused)"
        );
        let two = Unreachable {
            tried: vec![
                Attempt {
                    server: "tcp://10.0.0.1:7070".into(),
                    reason: "connection timed out after 10s".into(),
                },
                Attempt {
                    server: "unix:/x/ecsctl.sock".into(),
                    reason: "no socket file there".into(),
                },
            ],
        };
        assert_eq!(
            two.to_string(),
            "cannot reach any ecsctl server: tcp://10.0.0.1:7070 (connection timed out after 10s), unix:/x/ecsctl.sock (no socket file there): is `ecsctl server` running?"
        );
        assert!(is_unreachable(&two.into()));
        assert!(!is_unreachable(&anyhow::anyhow!("HTTP 500")));
    }
}
