//! What can go wrong while running a test cluster. Start-up failures carry the end of the
//! member's log, because that is where etcd says why (a port in use, a bad flag, no quorum).

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// An error of the harness (finding etcd, starting or talking to a member).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// No etcd binary: neither `ECSCTL_ETCD` nor `etcd` on `PATH`.
    #[error("etcd not found: run scripts/install-etcd.sh (Debian's etcd-server)")]
    EtcdNotFound,

    /// `ECSCTL_ETCD` is set but does not name an executable file.
    #[error("ECSCTL_ETCD={0} is not an executable file")]
    BadEtcdEnv(PathBuf),

    /// A cluster needs at least one member.
    #[error("an etcd cluster needs at least one member")]
    NoMembers,

    /// A file-system or process operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What the harness was doing.
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The harness was asked to wait for a member it has no process for (killed, say).
    #[error("etcd member {0} is not running")]
    NotRunning(String),

    /// A member's process ended while the harness waited for it to become healthy.
    #[error("etcd member {member} exited ({status}) while starting; end of {}:\n{log_tail}", log.display())]
    MemberExited {
        /// The member's name (`m0`, `m1`, ...).
        member: String,
        /// How the process ended.
        status: ExitStatus,
        /// The member's log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// A member did not answer `GET /health` with `{"health":"true"}` in time.
    #[error("etcd member {member} not healthy after {waited:?}; end of {}:\n{log_tail}", log.display())]
    Unhealthy {
        /// The member's name.
        member: String,
        /// How long the harness waited.
        waited: Duration,
        /// The member's log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// An HTTP exchange with a member failed (connection, timeout, malformed response).
    #[error("HTTP {method} {url}: {reason}")]
    Http {
        /// The request method.
        method: &'static str,
        /// The URL requested.
        url: String,
        /// What went wrong.
        reason: String,
    },

    /// `openssl` could not make a test certificate ([`TestPki`](crate::TestPki)).
    #[error("cannot {action}: {reason}")]
    Openssl {
        /// What the harness was making.
        action: String,
        /// Why not (openssl missing, or what it said).
        reason: String,
    },

    /// The JSON gateway answered, but not with success.
    #[error("etcd gateway {path} on {endpoint}: HTTP {status}: {body}")]
    Gateway {
        /// The member's client address.
        endpoint: String,
        /// The gateway path (`/v3/kv/put`, ...).
        path: String,
        /// The HTTP status code.
        status: u16,
        /// The response body (etcd's error message).
        body: String,
    },
}

impl HarnessError {
    /// Wraps an I/O error with what the harness was doing.
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}
