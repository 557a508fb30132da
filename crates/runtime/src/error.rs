//! The runtime's typed errors. Their `Display` is one line a user can act on.

/// Everything a runtime operation can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// No container, network or volume with that id or name.
    #[error("{0} not found")]
    NotFound(String),

    /// The image is not on this machine (nothing is ever pulled): ECS calls this
    /// CannotPullContainerError.
    #[error("image {0} not found on this machine (images are never pulled)")]
    ImageNotFound(String),

    /// The name is taken, or the object is in a state that forbids the call (removing a
    /// running container without force, signalling one that does not run...).
    #[error("conflict: {0}")]
    Conflict(String),

    /// The engine cannot be reached; the next call tries to connect again.
    #[error("container engine unavailable: {0}")]
    Unavailable(String),

    /// The engine (or our own check) refused the spec.
    #[error("invalid container spec: {0}")]
    InvalidSpec(String),

    /// This runtime cannot do it from here (a packet filter with no way into the
    /// container's network namespace: a remote engine, no iptables). Retrying will not help.
    #[error("not supported here: {0}")]
    Unsupported(String),

    /// Anything else the engine said.
    #[error("{0}")]
    Other(String),
}

impl RuntimeError {
    /// The thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }

    /// Retrying later may help (the engine was unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Result of a runtime operation.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
