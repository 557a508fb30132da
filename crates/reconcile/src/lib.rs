//! ecsctl's controller machinery, the counterpart of kube-runtime's `Controller` and
//! controller-runtime's workqueue: generic over a key type, with no Docker and no store types.
//!
//! - [`WorkQueue`] carries *keys*, not objects: a reconciler re-reads what it needs when the key
//!   comes out. Keys are deduplicated, a key is never handed out twice at once, a key added while
//!   it is in flight runs once more after it finishes, and each key has one deadline (the earliest
//!   one asked for wins).
//! - [`Backoff`] is the per-key exponential backoff on consecutive failures, reset on success.
//! - [`Controller`] runs a reconcile function over the queue with bounded concurrency, applies the
//!   [`Action`] it returns (requeue after a delay, or wait for a change), asks an error policy
//!   what to do on failure, and stops when an injected shutdown future completes.
//! - [`Clock`] is injected so tests control time; [`TokioClock`] follows tokio's clock, so
//!   `tokio::time::pause()` and `advance()` drive it.
//!
//! The reconciler is never told *why* it runs: an event, a resync, a requeue or a retry all look
//! the same. That keeps it level-triggered and idempotent.
//!
//! ```no_run
//! use std::time::Duration;
//! use ecsctl_reconcile::{Action, Controller, QueueConfig, default_error_policy};
//!
//! # #[derive(Debug, thiserror::Error)] #[error("boom")] struct MyError;
//! # async fn example() -> Result<(), ecsctl_reconcile::ConfigError> {
//! let controller = Controller::<String>::new("task", QueueConfig::default());
//! let handle = controller.handle(); // give clones to watches and event streams
//! handle.add("task/abc".to_string());
//! let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
//! # drop(stop_tx);
//! controller
//!     .run(
//!         |key: String| async move {
//!             tracing::info!(%key, "reconciling");
//!             Ok::<_, MyError>(Action::requeue(Duration::from_secs(30)))
//!         },
//!         default_error_policy,
//!         4,
//!         async move {
//!             let _ = stop_rx.await;
//!         },
//!     )
//!     .await
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod action;
mod backoff;
mod clock;
mod controller;
mod error;
mod queue;

pub use action::Action;
pub use backoff::Backoff;
pub use clock::{Clock, TokioClock};
pub use controller::{Controller, default_error_policy};
pub use error::ConfigError;
pub use queue::{Lease, QueueConfig, QueueHandle, WorkQueue};

/// What a queue key must be: cheap to clone, hashable and ordered, printable in traces, and
/// shareable between the tasks that enqueue it and the task that reconciles it.
///
/// Blanket-implemented; it only names the bound.
pub trait Key:
    Clone + Eq + std::hash::Hash + Ord + std::fmt::Debug + Send + Sync + 'static
{
}

impl<T> Key for T where
    T: Clone + Eq + std::hash::Hash + Ord + std::fmt::Debug + Send + Sync + 'static
{
}
