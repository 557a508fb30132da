//! The keyed work queue: dedupe, one deadline per key, one lease per key, per-key failure counts.
//!
//! Modeled on client-go's workqueue (dirty / processing sets) merged with kube-runtime's
//! scheduler (one pending entry per key, the earliest deadline wins). Every key is in at most one
//! of these states, which is what makes "never run concurrently" and "runs once more after it
//! finishes" hold:
//!
//! - *scheduled*: waiting for its deadline (`now` for [`WorkQueue::add`]), in `scheduled` and
//!   indexed by `(deadline, seq)` in `by_deadline` so the earliest comes out first and keys due at
//!   the same instant come out in the order they were added;
//! - *in flight*: handed out as a [`Lease`], in `in_flight`; adds for it are *parked*
//!   (earliest deadline wins) and move to *scheduled* when the lease is dropped;
//! - *idle*: in none of them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::Key;
use crate::backoff::Backoff;
use crate::clock::{Clock, TokioClock};

/// How far away "never" is when a requested delay overflows an `Instant` (tokio's choice).
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Settings shared by a [`WorkQueue`] and the [`Controller`](crate::Controller) that drains it.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    backoff: Backoff,
    clock: Arc<dyn Clock>,
}

impl QueueConfig {
    /// Use `backoff` for failing keys instead of the default 5 ms .. 60 s.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Read time from `clock` instead of [`TokioClock`].
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The per-key backoff bounds.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The clock deadlines are measured on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            clock: Arc::new(TokioClock),
        }
    }
}

/// A keyed work queue. See the module docs for the states a key moves through.
///
/// Producers add keys through [`WorkQueue::add`] / [`WorkQueue::add_after`] or a cloned
/// [`QueueHandle`]; a consumer takes keys with [`WorkQueue::next`] and holds the [`Lease`] while
/// it works on the key.
pub struct WorkQueue<K> {
    shared: Arc<Shared<K>>,
}

/// A cloneable, add-only handle to a [`WorkQueue`], for sources in other tasks (a store watch, a
/// Docker event stream, a periodic resync). Adds after shutdown are ignored.
pub struct QueueHandle<K> {
    shared: Arc<Shared<K>>,
}

/// A key handed out by [`WorkQueue::next`]. While it lives, the key is in flight and is not
/// handed out again; dropping it (also on panic) finishes the key and schedules any add that
/// arrived meanwhile.
pub struct Lease<K: Key> {
    shared: Arc<Shared<K>>,
    key: K,
    attempt: u32,
}

struct Shared<K> {
    config: QueueConfig,
    // A std mutex: it is held only for map updates, never across an await.
    state: Mutex<State<K>>,
    // Wakes `next()` callers when a key may have become ready earlier than they planned or the
    // queue shut down. Waiters enable their `Notified` before reading state, so no wake is lost.
    changed: Notify,
}

struct State<K> {
    scheduled: HashMap<K, (Instant, u64)>,
    by_deadline: BTreeMap<(Instant, u64), K>,
    in_flight: HashSet<K>,
    parked: HashMap<K, Instant>,
    failures: HashMap<K, u32>,
    seq: u64,
    shut_down: bool,
}

impl<K: Key> WorkQueue<K> {
    /// An empty queue.
    pub fn new(config: QueueConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State {
                    scheduled: HashMap::new(),
                    by_deadline: BTreeMap::new(),
                    in_flight: HashSet::new(),
                    parked: HashMap::new(),
                    failures: HashMap::new(),
                    seq: 0,
                    shut_down: false,
                }),
                changed: Notify::new(),
            }),
        }
    }

    /// A cloneable add-only handle for sources in other tasks.
    pub fn handle(&self) -> QueueHandle<K> {
        QueueHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The queue's settings.
    pub fn config(&self) -> &QueueConfig {
        &self.shared.config
    }

    /// Queue `key` to run now. A key already queued is not queued twice; a key in flight runs
    /// once more after its lease is dropped.
    pub fn add(&self, key: K) {
        self.shared.add_after(key, Duration::ZERO);
    }

    /// Queue `key` to run after `delay`. A key has one deadline: if it is already queued (or
    /// parked while in flight), the earlier of the two deadlines is kept.
    pub fn add_after(&self, key: K, delay: Duration) {
        self.shared.add_after(key, delay);
    }

    /// Wait for the next key whose deadline has passed and that is not in flight, and lease it.
    /// Returns `None` once the queue is shut down.
    pub async fn next(&self) -> Option<Lease<K>> {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();

            let wake_at = {
                let mut state = self.shared.lock();
                if state.shut_down {
                    return None;
                }
                let now = self.shared.config.clock.now();
                match state.pop_due(now) {
                    Ok(key) => {
                        let attempt = state.failures.get(&key).copied().unwrap_or(0) + 1;
                        return Some(Lease {
                            shared: Arc::clone(&self.shared),
                            key,
                            attempt,
                        });
                    }
                    Err(next_deadline) => next_deadline,
                }
            };

            match wake_at {
                Some(deadline) => {
                    let sleep = self.shared.config.clock.sleep_until(deadline);
                    tokio::select! {
                        () = changed => {}
                        () = sleep => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    /// Count a failure of `key` and return its number of consecutive failures, this one included.
    pub fn record_failure(&self, key: &K) -> u32 {
        let mut state = self.shared.lock();
        let count = state.failures.entry(key.clone()).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    /// Reset `key`'s failure count, after a success (or when the key is gone for good).
    pub fn forget(&self, key: &K) {
        self.shared.lock().failures.remove(key);
    }

    /// `key`'s consecutive failures so far.
    pub fn failures(&self, key: &K) -> u32 {
        self.shared.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// The backoff delay for `key`'s current failure count.
    pub fn backoff_delay(&self, key: &K) -> Duration {
        self.shared.config.backoff.delay(self.failures(key))
    }

    /// Keys waiting to run, due or not, including in-flight keys that will run again.
    /// In-flight keys with nothing pending are not counted.
    pub fn len(&self) -> usize {
        self.shared.lock().pending()
    }

    /// Whether no key is waiting to run.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys currently leased.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().in_flight.len()
    }

    /// Stop handing out keys: pending keys are dropped, later adds are ignored, and
    /// [`WorkQueue::next`] returns `None`. Leases already handed out stay valid and may finish.
    pub fn shutdown(&self) {
        let mut state = self.shared.lock();
        state.shut_down = true;
        state.scheduled.clear();
        state.by_deadline.clear();
        state.parked.clear();
        drop(state);
        self.shared.changed.notify_waiters();
    }

    /// Whether [`WorkQueue::shutdown`] was called.
    pub fn is_shutdown(&self) -> bool {
        self.shared.lock().shut_down
    }
}

impl<K: Key> QueueHandle<K> {
    /// See [`WorkQueue::add`].
    pub fn add(&self, key: K) {
        self.shared.add_after(key, Duration::ZERO);
    }

    /// See [`WorkQueue::add_after`].
    pub fn add_after(&self, key: K, delay: Duration) {
        self.shared.add_after(key, delay);
    }

    /// Whether the queue has shut down, so a source can stop feeding it.
    pub fn is_shutdown(&self) -> bool {
        self.shared.lock().shut_down
    }
}

impl<K: Key> Lease<K> {
    /// The leased key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Which attempt this is: one more than the key's consecutive failures when it was leased.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl<K: Key> Drop for Lease<K> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.in_flight.remove(&self.key);
        let parked = state.parked.remove(&self.key);
        let rescheduled = match parked {
            Some(deadline) if !state.shut_down => {
                state.schedule(self.key.clone(), deadline);
                true
            }
            _ => false,
        };
        drop(state);
        if rescheduled {
            self.shared.changed.notify_waiters();
        }
    }
}

impl<K: Key> Shared<K> {
    fn lock(&self) -> MutexGuard<'_, State<K>> {
        // A panic while holding this lock can only come from a bug in this module's map
        // updates; the maps are still usable, so keep going rather than poison every caller.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add_after(&self, key: K, delay: Duration) {
        let now = self.config.clock.now();
        let deadline = now
            .checked_add(delay)
            .or_else(|| now.checked_add(FAR_FUTURE))
            .unwrap_or(now);
        let mut state = self.lock();
        if state.shut_down {
            return;
        }
        if state.in_flight.contains(&key) {
            let parked = state.parked.entry(key).or_insert(deadline);
            *parked = (*parked).min(deadline);
            // No wake: the key cannot come out before its lease is dropped.
            return;
        }
        if state.schedule(key, deadline) {
            drop(state);
            self.changed.notify_waiters();
        }
    }
}

impl<K: Key> State<K> {
    /// Schedule `key` at `deadline` unless it already has an earlier or equal one.
    /// Returns whether its deadline moved (so waiters should look again).
    fn schedule(&mut self, key: K, deadline: Instant) -> bool {
        if let Some(&(existing, seq)) = self.scheduled.get(&key) {
            if existing <= deadline {
                return false;
            }
            self.by_deadline.remove(&(existing, seq));
        }
        self.seq += 1;
        let slot = (deadline, self.seq);
        self.by_deadline.insert(slot, key.clone());
        self.scheduled.insert(key, slot);
        true
    }

    /// Take the earliest key due at `now` and mark it in flight, or return the next deadline
    /// (`None` when nothing is scheduled).
    fn pop_due(&mut self, now: Instant) -> Result<K, Option<Instant>> {
        let Some(entry) = self.by_deadline.first_entry() else {
            return Err(None);
        };
        let (deadline, _) = *entry.key();
        if deadline > now {
            return Err(Some(deadline));
        }
        let key = entry.remove();
        self.scheduled.remove(&key);
        self.in_flight.insert(key.clone());
        Ok(key)
    }

    fn pending(&self) -> usize {
        self.scheduled.len() + self.parked.len()
    }
}

impl<K: Key> fmt::Debug for WorkQueue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl<K: Key> fmt::Debug for QueueHandle<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl<K: Key> fmt::Debug for Shared<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("WorkQueue")
            .field("pending", &state.pending())
            .field("in_flight", &state.in_flight.len())
            .field("shut_down", &state.shut_down)
            .finish_non_exhaustive()
    }
}

impl<K: Key> fmt::Debug for Lease<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("key", &self.key)
            .field("attempt", &self.attempt)
            .finish()
    }
}

impl<K> Clone for QueueHandle<K> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

#[cfg(test)]
mod tests;
