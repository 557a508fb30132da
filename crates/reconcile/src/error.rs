//! Errors for configuration that cannot work. Reconcile errors belong to the caller (the `E`
//! of the reconcile function); the machinery itself has no runtime failure modes.

use std::time::Duration;

/// A controller or queue configuration that was rejected before anything ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A zero base would retry a failing key in a hot loop: every doubling of zero is zero.
    #[error("backoff base must be greater than zero")]
    ZeroBackoffBase,
    /// The cap is the longest a failing key waits; it cannot be shorter than the first wait.
    #[error("backoff base {base:?} is longer than its cap {cap:?}")]
    BackoffBaseExceedsCap {
        /// The delay after the first failure.
        base: Duration,
        /// The longest delay.
        cap: Duration,
    },
    /// A controller that may run no reconcile at a time would never make progress.
    #[error("controller concurrency must be at least 1")]
    ZeroConcurrency,
}
