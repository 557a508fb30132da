//! How the task controller feeds the engine when many tasks start at once (issue 20).
//!
//! - **Start slots**: at most [`START_SLOTS`] tasks create and start containers at a time,
//!   each holding its slot from its first create to its last start, as a client keeping that
//!   many create+start sequences in flight does. Reconciles beyond that wait for a slot, not
//!   for a whole reconcile (reading the store, writing the status) of a task before them.
//! - **Echoes**: the store watch event of a status this controller wrote itself, and the
//!   engine's `start` event of a container it started itself, tell the controller nothing
//!   it does not know: they wake no reconcile (each would list and inspect the task's
//!   containers again while other tasks are starting).
//!
//! Only these keys' own echoes are skipped: any other writer makes a new resourceVersion,
//! and a start by someone else is not in the set.

use api::{Object, ObjectKey};
use runtime::{ContainerId, EventAction, RuntimeEvent};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Tasks creating and starting containers at once. The peers bench
/// (`cargo bench -p ecsctl --bench peers`) prints the engine's time for 20 and 50
/// create+start sequences at 1, 4, 8 and 16 in flight: on Docker 20.10 on 2 cores, 8 and 16
/// are even for 20 containers and 16 is the fastest for 50 (bench/RESULTS.md).
pub const START_SLOTS: usize = 16;

/// Shared by the task controller's reconciles and its event sources.
#[derive(Debug, Clone)]
pub struct Pipeline {
    slots: Arc<Semaphore>,
    echoes: Arc<Mutex<Echoes>>,
}

#[derive(Debug, Default)]
struct Echoes {
    /// The last status this controller wrote (or is writing), per task.
    written: HashMap<ObjectKey, Written>,
    /// Containers this controller asked the engine to start, whose `start` event is due.
    started: HashSet<ContainerId>,
}

/// A status write of this controller: the status, and once the store answered, its
/// resourceVersion. Noted before the write: the watch may deliver it before the store's answer.
#[derive(Debug)]
struct Written {
    status: serde_json::Value,
    version: Option<u64>,
}

/// A task's turn at creating and starting containers; the slot frees when it is dropped.
#[derive(Debug)]
pub struct StartSlot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Default for Pipeline {
    fn default() -> Self {
        Self::new(START_SLOTS)
    }
}

impl Pipeline {
    /// A pipeline with `slots` start slots (at least one).
    pub fn new(slots: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            echoes: Arc::default(),
        }
    }

    /// Waits for a start slot (first come, first served).
    pub async fn start_slot(&self) -> StartSlot {
        // The semaphore is never closed, so acquiring only waits.
        let permit = self.slots.clone().acquire_owned().await;
        StartSlot(permit.unwrap_or_else(|_| unreachable!("the start slots are never closed")))
    }

    /// Slots free now.
    pub fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }

    fn echoes(&self) -> std::sync::MutexGuard<'_, Echoes> {
        self.echoes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This controller is about to write `status` as `key`'s status (a write conditional
    /// on the version it read: no one else's write can land between).
    pub fn writing(&self, key: &ObjectKey, status: serde_json::Value) {
        let w = Written {
            status,
            version: None,
        };
        self.echoes().written.insert(key.clone(), w);
    }

    /// The write of `key`'s status went through at `version` (unless its echo came first),
    /// or failed (`None`): then no echo is due.
    pub fn wrote(&self, key: &ObjectKey, version: Option<u64>) {
        let mut echoes = self.echoes();
        match version {
            Some(v) => {
                if let Some(w) = echoes.written.get_mut(key) {
                    w.version = Some(v);
                }
            }
            None => {
                echoes.written.remove(key);
            }
        }
    }

    /// Whether a store event is the echo of this controller's own status write: the very
    /// version written, or (before the store answered) the very status. Forgotten once seen;
    /// a deleted task is forgotten too.
    pub fn is_own_write(&self, object: &Object, deleted: bool) -> bool {
        let key = object.key();
        let mut echoes = self.echoes();
        if deleted {
            echoes.written.remove(&key);
            return false;
        }
        let echo = echoes.written.get(&key).is_some_and(|w| {
            match (w.version, object.metadata.resource_version) {
                (Some(mine), Some(v)) => mine == v,
                _ => w.status == object.status,
            }
        });
        if echo {
            echoes.written.remove(&key);
        }
        echo
    }

    /// This controller is about to start container `id`.
    pub fn starting(&self, id: &ContainerId) {
        self.echoes().started.insert(id.clone());
    }

    /// The start of `id` failed: no event will come.
    pub fn start_failed(&self, id: &ContainerId) {
        self.echoes().started.remove(id);
    }

    /// Whether an engine event can wake a task: not the `create` and `start` of what this
    /// controller did itself, nor what leaves a task as it is (`exec_*` of health checks and
    /// `ecsctl exec`, `attach`, `resize`...).
    pub fn wakes(&self, ev: &RuntimeEvent) -> bool {
        match &ev.action {
            EventAction::Create | EventAction::Other(_) => false,
            EventAction::Start => !self.echoes().started.remove(&ev.id),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Kind;
    use std::collections::BTreeMap;

    fn event(id: &str, action: EventAction) -> RuntimeEvent {
        RuntimeEvent {
            id: ContainerId(id.to_string()),
            name: None,
            action,
            labels: BTreeMap::new(),
            time: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn task_at(version: u64) -> Object {
        let mut o = Object::new(
            Kind::Task,
            "t1",
            serde_json::json!({"taskDefinition": "web"}),
        );
        o.metadata.resource_version = Some(version);
        o
    }

    #[test]
    fn only_the_written_version_is_an_echo_and_only_once() {
        let p = Pipeline::default();
        let key = task_at(1).key();
        p.writing(&key, serde_json::json!({"lastStatus": "RUNNING"}));
        p.wrote(&key, Some(7));
        assert!(!p.is_own_write(&task_at(6), false), "an older version");
        assert!(
            !p.is_own_write(&task_at(8), false),
            "someone else's newer write"
        );
        assert!(p.is_own_write(&task_at(7), false));
        assert!(
            !p.is_own_write(&task_at(7), false),
            "seen once, then forgotten"
        );
        p.writing(&key, serde_json::json!({"lastStatus": "RUNNING"}));
        p.wrote(&key, Some(9));
        assert!(
            !p.is_own_write(&task_at(9), true),
            "a deletion always wakes"
        );
        assert!(!p.is_own_write(&task_at(9), false), "and forgets the write");
        p.writing(&key, serde_json::json!({"lastStatus": "RUNNING"}));
        p.wrote(&key, None);
        assert!(
            !p.is_own_write(&task_at(11), false),
            "a failed write has no echo"
        );
    }

    #[test]
    fn an_echo_before_the_stores_answer_is_known_by_its_status() {
        let p = Pipeline::default();
        let mut ours = task_at(3);
        ours.status = serde_json::json!({"lastStatus": "RUNNING"});
        p.writing(&ours.key(), ours.status.clone());
        let mut other = task_at(3);
        other.status = serde_json::json!({"lastStatus": "PENDING"});
        assert!(!p.is_own_write(&other, false), "another status wakes");
        assert!(p.is_own_write(&ours, false), "the status being written");
        p.wrote(&ours.key(), Some(3));
        assert!(!p.is_own_write(&ours, false), "seen once already");
    }

    #[test]
    fn own_starts_and_creates_wake_nothing_but_the_rest_does() {
        let p = Pipeline::default();
        let id = ContainerId("c1".to_string());
        p.starting(&id);
        assert!(!p.wakes(&event("c1", EventAction::Start)), "our own start");
        assert!(
            p.wakes(&event("c1", EventAction::Start)),
            "a second start (someone else's) wakes"
        );
        assert!(p.wakes(&event("c2", EventAction::Start)));
        p.starting(&id);
        p.start_failed(&id);
        assert!(p.wakes(&event("c1", EventAction::Start)));
        assert!(!p.wakes(&event("c1", EventAction::Create)));
        assert!(!p.wakes(&event("c1", EventAction::Other("exec_start: true".into()))));
        for a in [
            EventAction::Die { exit_code: 1 },
            EventAction::Oom,
            EventAction::HealthStatus(runtime::HealthStatus::Unhealthy),
            EventAction::Stop,
            EventAction::Kill { signal: None },
            EventAction::Pause,
            EventAction::Unpause,
            EventAction::Destroy,
        ] {
            assert!(p.wakes(&event("c1", a.clone())), "{a:?}");
        }
    }

    #[tokio::test]
    async fn slots_bound_the_tasks_starting_at_once() {
        let p = Pipeline::new(2);
        let a = p.start_slot().await;
        let _b = p.start_slot().await;
        assert_eq!(p.free_slots(), 0);
        let waiting = tokio::spawn({
            let p = p.clone();
            async move { p.start_slot().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a third task waits for a slot");
        drop(a);
        let _c = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the freed slot goes to the waiting task")
            .expect("join");
        assert_eq!(p.free_slots(), 0);
    }
}
