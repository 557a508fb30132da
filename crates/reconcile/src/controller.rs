//! The controller runner: drains a [`WorkQueue`] into a reconcile function with bounded
//! concurrency, applies the [`Action`] each reconcile returns, and stops on injected shutdown.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinSet};
use tracing::Instrument;

use crate::Key;
use crate::action::Action;
use crate::error::ConfigError;
use crate::queue::{Lease, QueueConfig, QueueHandle, WorkQueue};

/// The error policy used when none is more specific: retry with the per-key exponential
/// backoff ([`Action::backoff`]), whatever the error.
///
/// A controller whose errors include bad input should pass its own policy that returns
/// [`Action::await_change`] for those, so they are recorded and not retried forever.
pub fn default_error_policy<K, E>(_key: &K, _error: &E, _attempts: u32) -> Action {
    Action::backoff()
}

/// A named controller over keys of type `K`.
///
/// Create it, hand [`QueueHandle`]s to the sources that enqueue keys, then [`Controller::run`]
/// it until shutdown.
pub struct Controller<K: Key> {
    name: Arc<str>,
    queue: Arc<WorkQueue<K>>,
}

impl<K: Key> Controller<K> {
    /// A controller called `name` (the `controller` field of its tracing spans) over a fresh
    /// queue.
    pub fn new(name: impl Into<Arc<str>>, queue_config: QueueConfig) -> Self {
        Self {
            name: name.into(),
            queue: Arc::new(WorkQueue::new(queue_config)),
        }
    }

    /// The controller's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A cloneable handle that enqueues keys, for watches, event streams and resyncs. It stays
    /// valid after [`Controller::run`] returns; its adds are then ignored.
    pub fn handle(&self) -> QueueHandle<K> {
        self.queue.handle()
    }

    /// Reconcile keys until `shutdown` completes.
    ///
    /// - Up to `concurrency` different keys reconcile at once, each in its own tokio task; the
    ///   same key never runs twice at once (the queue leases it).
    /// - `Ok(action)` resets the key's failure count and applies `action`.
    /// - `Err(e)` counts a failure and applies `error_policy(&key, &e, consecutive_failures)`;
    ///   [`Action::backoff`] there means the per-key exponential backoff.
    /// - A panicking reconcile counts as a failure and is retried with the backoff; the
    ///   controller keeps running.
    ///
    /// A key has one deadline, so an add from a source while the key waits out a requeue or a
    /// backoff runs it at once (as in kube-runtime and client-go); its failure count is kept, so
    /// if that run fails too the next wait is longer.
    ///
    /// Each reconcile runs in an `info` span `reconcile` with fields `controller`, `key` (Debug)
    /// and `attempt` (1 + consecutive failures before it).
    ///
    /// On shutdown the queue stops handing out keys and drops pending ones; reconciles in flight
    /// run to completion (their requeues are dropped) before `run` returns.
    ///
    /// # Errors
    /// [`ConfigError::ZeroConcurrency`] if `concurrency` is 0, before anything runs.
    pub async fn run<F, Fut, E, P, S>(
        self,
        reconcile: F,
        error_policy: P,
        concurrency: usize,
        shutdown: S,
    ) -> Result<(), ConfigError>
    where
        F: Fn(K) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Action, E>> + Send + 'static,
        E: std::error::Error + Send + 'static,
        P: Fn(&K, &E, u32) -> Action + Send + Sync + 'static,
        S: Future<Output = ()>,
    {
        if concurrency == 0 {
            return Err(ConfigError::ZeroConcurrency);
        }
        let worker = Arc::new(Worker {
            name: Arc::clone(&self.name),
            queue: Arc::clone(&self.queue),
            reconcile,
            error_policy,
        });
        // Permits are taken *before* a key is leased, so keys stay in the queue (where adds
        // still dedupe into them) while every worker slot is busy.
        let slots = Arc::new(Semaphore::new(concurrency));
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);

        tracing::debug!(controller = %self.name, concurrency, "controller started");
        loop {
            while let Some(joined) = tasks.try_join_next() {
                self.log_join(joined);
            }
            let permit = tokio::select! {
                biased;
                () = &mut shutdown => break,
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    // Never closed; treat it as a shutdown rather than spin.
                    Err(_) => break,
                },
            };
            let lease = tokio::select! {
                biased;
                () = &mut shutdown => break,
                lease = self.queue.next() => match lease {
                    Some(lease) => lease,
                    None => break,
                },
            };
            tasks.spawn(Arc::clone(&worker).reconcile_one(lease, permit));
        }

        self.queue.shutdown();
        tracing::debug!(
            controller = %self.name,
            in_flight = tasks.len(),
            "controller stopping; waiting for in-flight reconciles"
        );
        while let Some(joined) = tasks.join_next().await {
            self.log_join(joined);
        }
        tracing::debug!(controller = %self.name, "controller stopped");
        Ok(())
    }

    fn log_join(&self, joined: Result<(), JoinError>) {
        // Panics are caught inside the task; a JoinError here means the runtime is shutting
        // down underneath us, which is worth a line but nothing more.
        if let Err(error) = joined {
            tracing::error!(controller = %self.name, %error, "reconcile task ended abnormally");
        }
    }
}

impl<K: Key> fmt::Debug for Controller<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("name", &self.name)
            .field("queue", &self.queue)
            .finish()
    }
}

/// What every reconcile task shares.
struct Worker<K, F, P> {
    name: Arc<str>,
    queue: Arc<WorkQueue<K>>,
    reconcile: F,
    error_policy: P,
}

impl<K, F, Fut, E, P> Worker<K, F, P>
where
    K: Key,
    F: Fn(K) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Action, E>> + Send + 'static,
    E: std::error::Error + Send + 'static,
    P: Fn(&K, &E, u32) -> Action + Send + Sync + 'static,
{
    async fn reconcile_one(self: Arc<Self>, lease: Lease<K>, permit: OwnedSemaphorePermit) {
        let key = lease.key().clone();
        let span = tracing::info_span!(
            "reconcile",
            controller = %self.name,
            key = ?key,
            attempt = lease.attempt(),
        );
        // Calling the reconcile function inside the async block puts a panic in the call itself
        // under catch_unwind too.
        let outcome = AssertUnwindSafe(async { (self.reconcile)(key.clone()).await })
            .catch_unwind()
            .instrument(span.clone())
            .await;

        let _entered = span.enter(); // no await below: safe to hold
        let next = match outcome {
            Ok(Ok(action)) => {
                self.queue.forget(&key);
                tracing::debug!(?action, "reconciled");
                action
            }
            Ok(Err(error)) => {
                let attempts = self.queue.record_failure(&key);
                let action = (self.error_policy)(&key, &error, attempts);
                tracing::warn!(%error, attempts, ?action, "reconcile failed");
                action
            }
            Err(panic) => {
                let attempts = self.queue.record_failure(&key);
                let message = panic_message(panic.as_ref());
                tracing::error!(panic = message, attempts, "reconcile panicked; backing off");
                Action::backoff()
            }
        };
        self.apply(key, next);
        // The lease goes first so a re-add parked during the reconcile is scheduled before
        // the slot frees up for another worker.
        drop(lease);
        drop(permit);
    }

    fn apply(&self, key: K, action: Action) {
        if let Some(delay) = action.requeue_after() {
            self.queue.add_after(key, delay);
        } else if action.is_backoff() {
            let delay = self.queue.backoff_delay(&key);
            self.queue.add_after(key, delay);
        }
        // await_change: nothing to schedule; a source will add the key when something changes.
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}
