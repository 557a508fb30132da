//! The errors [`crate::LbManager::sync`] reports.

use std::net::SocketAddr;

/// Why a desired load balancer state could not be applied in full.
///
/// `sync` applies everything it can before it reports: one listener that cannot bind does not
/// keep the others (or the target changes) from taking effect.
#[derive(Debug, thiserror::Error)]
pub enum LbError {
    /// A listener could not listen on its address (port taken, address not on this host...).
    #[error(
        "load balancer {lb} (cluster {cluster}): cannot listen on port {port} ({addr}): {source}"
    )]
    Bind {
        lb: String,
        cluster: String,
        port: u16,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The listener's address is not an IP address.
    #[error(
        "load balancer {lb} (cluster {cluster}): listener port {port}: invalid address {address:?}: expected an IP address such as 127.0.0.1 or 0.0.0.0"
    )]
    InvalidAddress {
        lb: String,
        cluster: String,
        port: u16,
        address: String,
    },
    /// Two listeners (of one or two load balancers) want the same address and port.
    #[error(
        "load balancer {lb} (cluster {cluster}): port {port} ({addr}) is already a listener of load balancer {other}"
    )]
    Conflict {
        lb: String,
        cluster: String,
        port: u16,
        addr: SocketAddr,
        other: String,
    },
    /// The health check's matcher is not a list of codes or ranges (`200`, `200-299,302`).
    #[error(
        "load balancer {lb} (cluster {cluster}): invalid health check matcher {matcher:?}: expected codes or ranges such as 200, 200-299 or 200,302"
    )]
    InvalidMatcher {
        lb: String,
        cluster: String,
        matcher: String,
    },
    /// An HTTPS listener's certificate cannot be used (missing Secret, no PEM certificate or
    /// key, a key that does not match). A listener already serving keeps its last good
    /// certificates.
    #[error(
        "load balancer {lb} (cluster {cluster}): HTTPS listener port {port}: certificate {certificate}: {reason}"
    )]
    Certificate {
        lb: String,
        cluster: String,
        port: u16,
        certificate: String,
        reason: String,
    },
    /// Several of the above; each is also in the listener statuses of the snapshot.
    #[error("{}", join(.0))]
    Several(Vec<LbError>),
}

fn join(errors: &[LbError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl LbError {
    /// The load balancer `(cluster, name)` the error is about (`None` for [`LbError::Several`]).
    pub fn lb(&self) -> Option<(&str, &str)> {
        match self {
            LbError::Bind { lb, cluster, .. }
            | LbError::InvalidAddress { lb, cluster, .. }
            | LbError::Conflict { lb, cluster, .. }
            | LbError::InvalidMatcher { lb, cluster, .. }
            | LbError::Certificate { lb, cluster, .. } => Some((cluster, lb)),
            LbError::Several(_) => None,
        }
    }

    /// Whether applying the same desired state again may succeed without anything in the
    /// store changing: only a bind error (the port may be freed by whoever holds it). The
    /// others need a change of the spec, of a Secret, or of another load balancer.
    pub fn is_retryable(&self) -> bool {
        match self {
            LbError::Bind { .. } => true,
            LbError::Several(errors) => errors.iter().any(LbError::is_retryable),
            _ => false,
        }
    }

    /// One error for a list of them (`None` when the list is empty).
    pub(crate) fn collect(mut errors: Vec<LbError>) -> Option<LbError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(LbError::Several(errors)),
        }
    }
}
