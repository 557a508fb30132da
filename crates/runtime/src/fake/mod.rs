//! [`FakeRuntime`]: a strict, inspectable, deterministic in-memory engine for controller
//! tests.
//!
//! Strict: an unknown id is `NotFound`, an image not registered with
//! [`FakeRuntime::add_image`] is `ImageNotFound`, a taken name is `Conflict`; nothing is
//! ever silently "running". Deterministic: ids, ports and IPs come from counters, and time
//! follows tokio's clock, so `tokio::time::pause()` makes timers and timestamps exact.
//! Container "processes" follow a scripted [`FakeBehavior`] chosen by container name.

mod behavior;
mod engine;
mod exec;
mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::broadcast;

pub use self::behavior::{Call, FakeBehavior, Op, SignalReaction};
pub use self::exec::FakeExec;
pub use self::state::FakeVolume;
use self::state::{Msg, State};
use crate::error::{Result, RuntimeError};
use crate::types::observed::{
    ContainerInfo, HealthStatus, LogLine, LogStream, MachineInfo, RuntimeEvent, Stats,
};
use crate::types::spec::{ContainerId, ContainerSpec};

/// How many events a slow subscriber may fall behind before its stream ends with an error.
const EVENT_BUFFER: usize = 4096;

/// The in-memory engine. Clones share the same engine.
#[derive(Debug, Clone)]
pub struct FakeRuntime {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// A std mutex: never held across an await, so every call is one atomic step.
    state: Mutex<State>,
    events: broadcast::Sender<Msg>,
    /// Interactive execs (a std mutex too, never held across an await).
    execs: Mutex<exec::Execs>,
}

impl Default for FakeRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeRuntime {
    /// An empty engine: no images, no containers, the predefined networks `bridge`, `host`
    /// and `none`.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::new(events.clone())),
                events,
                execs: Mutex::default(),
            }),
        }
    }

    /// An engine that has these images.
    pub fn with_images<I: IntoIterator<Item = S>, S: AsRef<str>>(images: I) -> Self {
        let fake = Self::new();
        for i in images {
            fake.add_image(i.as_ref());
        }
        fake
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not wedge every other call.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn exec_table(&self) -> MutexGuard<'_, exec::Execs> {
        self.shared
            .execs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes an image present (`busybox` means `busybox:latest`, as on Docker).
    pub fn add_image(&self, image: &str) {
        self.state().images.insert(state::normalize_image(image));
    }

    /// Removes an image, so later creates fail with `ImageNotFound`.
    pub fn remove_image(&self, image: &str) {
        self.state().images.remove(&state::normalize_image(image));
    }

    /// Scripts the process of the container that will be created with this name.
    pub fn program(&self, name: &str, behavior: FakeBehavior) {
        self.state().behaviors.insert(name.to_owned(), behavior);
    }

    /// The behaviour of containers whose name was not [`FakeRuntime::program`]med.
    pub fn set_default_behavior(&self, behavior: FakeBehavior) {
        self.state().default_behavior = behavior;
    }

    /// The next call of `op` fails with `error` (queued: several calls fail in turn) and
    /// has no effect.
    pub fn fail_next(&self, op: Op, error: RuntimeError) {
        self.state()
            .failures
            .entry(op)
            .or_default()
            .push_back(error);
    }

    /// Sets what `machine` reports (default: 64 CPUs and 256 GiB).
    pub fn set_machine(&self, machine: MachineInfo) {
        self.state().machine = machine;
    }

    /// Takes the engine down (every call fails with `Unavailable`, event streams end with
    /// it) or brings it back.
    pub fn set_unavailable(&self, down: bool) {
        self.state().unavailable = down;
        if down {
            let _ = self.shared.events.send(Msg::Disconnected);
        }
    }

    /// The container's process ends by itself with `exit_code` (a Die event follows).
    pub fn crash(&self, id: &ContainerId, exit_code: i64) -> Result<()> {
        self.end(id, exit_code, false)
    }

    /// The OOM killer ends the container's process: exit 137, `oom_killed`, Oom + Die events.
    pub fn oom_kill(&self, id: &ContainerId) -> Result<()> {
        self.end(id, 137, true)
    }

    fn end(&self, id: &ContainerId, exit_code: i64, oom: bool) -> Result<()> {
        let mut s = self.state();
        let id = s.resolve(id.as_str())?;
        if !s.get(&id)?.state.is_alive() {
            return Err(RuntimeError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        s.exit(&id, exit_code, oom);
        Ok(())
    }

    /// Sets the health check result (a HealthStatus event follows when it changes).
    pub fn set_health(&self, id: &ContainerId, health: HealthStatus) -> Result<()> {
        let mut s = self.state();
        let id = s.resolve(id.as_str())?;
        s.set_health(&id, health)
    }

    /// The container prints a line.
    pub fn push_log(&self, id: &ContainerId, stream: LogStream, text: &str) -> Result<()> {
        let mut s = self.state();
        let id = s.resolve(id.as_str())?;
        let now = s.now();
        let c = s.get_mut(&id)?;
        c.logs.push(LogLine {
            stream,
            text: text.to_owned(),
            timestamp: Some(now),
        });
        c.changes.send_modify(|v| *v += 1);
        Ok(())
    }

    /// Sets the container's stats counters (what `stats` reads from now on).
    pub fn set_stats(&self, id: &ContainerId, stats: Stats) -> Result<()> {
        let s = self.state();
        let id = s.resolve(id.as_str())?;
        s.get(&id)?.stats.send_replace(stats);
        Ok(())
    }

    /// Removes a container behind the controller's back (as `docker rm -f` would), without
    /// a call in the log.
    pub fn remove_externally(&self, id: &ContainerId) -> Result<()> {
        let mut s = self.state();
        let id = s.resolve(id.as_str())?;
        s.exit(&id, 137, false);
        s.remove(&id);
        Ok(())
    }

    /// Every container, oldest first.
    pub fn containers(&self) -> Vec<ContainerInfo> {
        let s = self.state();
        s.creation
            .iter()
            .filter_map(|id| s.containers.get(id))
            .map(|c| c.info())
            .collect()
    }

    /// One container by id or name.
    pub fn container(&self, id_or_name: &str) -> Option<ContainerInfo> {
        let s = self.state();
        let id = s.resolve(id_or_name).ok()?;
        s.containers.get(&id).map(|c| c.info())
    }

    /// The spec a container was created from.
    pub fn spec_of(&self, id_or_name: &str) -> Option<ContainerSpec> {
        let s = self.state();
        let id = s.resolve(id_or_name).ok()?;
        s.containers.get(&id).map(|c| c.spec.clone())
    }

    /// Network names with their labels (the predefined ones included).
    pub fn networks(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let s = self.state();
        s.networks
            .iter()
            .map(|(n, net)| (n.clone(), net.labels.clone()))
            .collect()
    }

    /// Volumes by name.
    pub fn volumes(&self) -> BTreeMap<String, FakeVolume> {
        self.state().volumes.clone()
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// How many calls of `op` there were.
    pub fn call_count(&self, op: Op) -> usize {
        self.state().calls.iter().filter(|c| c.op == op).count()
    }

    /// How many calls changed something (see [`Op::is_mutating`]).
    pub fn mutating_call_count(&self) -> usize {
        self.state()
            .calls
            .iter()
            .filter(|c| c.op.is_mutating())
            .count()
    }

    /// Forgets the call log (e.g. after setting a scene up).
    pub fn clear_calls(&self) {
        self.state().calls.clear();
    }

    /// The packet filter loaded into a running container's namespace, if any.
    pub fn packet_filter(&self, id_or_name: &str) -> Option<crate::PacketFilter> {
        let s = self.state();
        let id = s.resolve(id_or_name).ok()?;
        s.packet_filters.get(&id).cloned()
    }

    /// Every event emitted so far, subscribers or not.
    pub fn event_log(&self) -> Vec<RuntimeEvent> {
        self.state().event_log.clone()
    }
}
