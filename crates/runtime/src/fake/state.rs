//! The fake engine's state and its transitions. Everything here runs under one lock and
//! never awaits, so every call sees (and leaves) a consistent engine.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

use super::behavior::{Call, FakeBehavior, Op};
use crate::error::{Result, RuntimeError};
use crate::types::observed::{
    ContainerInfo, ContainerState, ContainerSummary, EventAction, HealthStatus, LogLine,
    MachineInfo, PortBinding, RuntimeEvent, Stats,
};
use crate::types::spec::{ContainerId, ContainerSpec, MountSource, NetworkAttach};

/// First ephemeral host port the fake hands out (Docker's range starts at 32768 or 49153).
pub(super) const FIRST_EPHEMERAL_PORT: u16 = 49153;

/// What event subscribers receive.
#[derive(Debug, Clone)]
pub(super) enum Msg {
    Event(RuntimeEvent),
    /// The engine "went away": subscribers end with `Unavailable`.
    Disconnected,
}

#[derive(Debug)]
pub(super) struct FakeContainer {
    pub id: ContainerId,
    pub name: String,
    pub spec: ContainerSpec,
    pub behavior: FakeBehavior,
    pub state: ContainerState,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
    pub health: Option<HealthStatus>,
    pub ports: Vec<PortBinding>,
    pub ip_addresses: BTreeMap<String, String>,
    /// Incremented at each start: timers of an earlier run do nothing.
    pub run: u64,
    pub logs: Vec<LogLine>,
    /// Bumped on every new log line and state change (followers of `logs` wait on it).
    pub changes: watch::Sender<u64>,
    pub stats: watch::Sender<Stats>,
}

impl FakeContainer {
    pub fn info(&self) -> ContainerInfo {
        ContainerInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            image: self.spec.image.clone(),
            labels: self.spec.labels.clone(),
            state: self.state,
            exit_code: self.exit_code,
            oom_killed: self.oom_killed,
            started_at: self.started_at,
            finished_at: self.finished_at,
            health: self.health,
            ports: self.ports.clone(),
            ip_addresses: self.ip_addresses.clone(),
            error: None,
        }
    }

    pub fn summary(&self) -> ContainerSummary {
        ContainerSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            image: self.spec.image.clone(),
            labels: self.spec.labels.clone(),
            state: self.state,
        }
    }

    fn touch(&self) {
        self.changes.send_modify(|v| *v += 1);
    }
}

#[derive(Debug)]
pub(super) struct FakeNetwork {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    /// Docker's predefined networks cannot be removed.
    pub predefined: bool,
    pub next_ip: u32,
    pub subnet: u32,
}

/// A volume of the fake engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeVolume {
    /// Labels it was created with.
    pub labels: BTreeMap<String, String>,
    /// Driver options it was created with.
    pub driver_opts: BTreeMap<String, String>,
}

#[derive(Debug)]
pub(super) struct State {
    pub images: BTreeSet<String>,
    /// By id, in creation order of ids (ids sort by creation: see `next_id`).
    pub containers: BTreeMap<ContainerId, FakeContainer>,
    pub creation: Vec<ContainerId>,
    /// Ids by their `ecsctl.task` label, in creation order: listing one task's containers
    /// must not cost a scan of every container (controller benchmarks use thousands).
    pub by_task: BTreeMap<String, Vec<ContainerId>>,
    pub names: BTreeMap<String, ContainerId>,
    pub networks: BTreeMap<String, FakeNetwork>,
    pub volumes: BTreeMap<String, FakeVolume>,
    pub behaviors: BTreeMap<String, FakeBehavior>,
    pub default_behavior: FakeBehavior,
    pub failures: BTreeMap<Op, VecDeque<RuntimeError>>,
    pub calls: Vec<Call>,
    pub event_log: Vec<RuntimeEvent>,
    pub unavailable: bool,
    /// What `machine` reports.
    pub machine: MachineInfo,
    pub next_id: u64,
    pub next_port: u16,
    pub next_subnet: u32,
    pub clock_base: tokio::time::Instant,
    pub events: broadcast::Sender<Msg>,
    /// The packet filter of each running container's namespace (gone when it stops).
    pub packet_filters: BTreeMap<ContainerId, crate::types::packet_filter::PacketFilter>,
}

/// 2024-01-01T00:00:00Z: the fake's clock starts there and advances with tokio's clock
/// (so `tokio::time::pause()` makes its timestamps deterministic).
const EPOCH: i64 = 1_704_067_200;

impl State {
    pub fn new(events: broadcast::Sender<Msg>) -> Self {
        let mut s = Self {
            images: BTreeSet::new(),
            containers: BTreeMap::new(),
            creation: Vec::new(),
            by_task: BTreeMap::new(),
            names: BTreeMap::new(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            behaviors: BTreeMap::new(),
            default_behavior: FakeBehavior::default(),
            failures: BTreeMap::new(),
            calls: Vec::new(),
            event_log: Vec::new(),
            unavailable: false,
            machine: MachineInfo {
                cpus: 64,
                memory_bytes: 256 << 30,
            },
            next_id: 0,
            next_port: FIRST_EPHEMERAL_PORT,
            next_subnet: 17,
            clock_base: tokio::time::Instant::now(),
            events,
            packet_filters: BTreeMap::new(),
        };
        for name in ["bridge", "host", "none"] {
            s.add_network(name, BTreeMap::new(), true);
        }
        s
    }

    pub fn now(&self) -> OffsetDateTime {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.clock_base);
        OffsetDateTime::from_unix_timestamp(EPOCH).unwrap_or(OffsetDateTime::UNIX_EPOCH) + elapsed
    }

    /// Records a call, then fails it if the engine is "down" or a failure was queued.
    pub fn begin(&mut self, op: Op, target: &str) -> Result<()> {
        self.calls.push(Call {
            op,
            target: target.to_owned(),
        });
        if self.unavailable {
            return Err(RuntimeError::Unavailable("fake engine is down".to_owned()));
        }
        match self.failures.get_mut(&op).and_then(VecDeque::pop_front) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A unique, deterministic 64-hex-digit id whose 12-digit prefix is unique too.
    pub fn next_id(&mut self, prefix: u64) -> String {
        self.next_id += 1;
        let mut x = self.next_id ^ prefix;
        let mut out = String::with_capacity(64);
        for _ in 0..4 {
            // splitmix64: a bijection, so distinct counters give distinct first words.
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            out.push_str(&format!("{:016x}", z ^ (z >> 31)));
        }
        out
    }

    pub fn add_network(&mut self, name: &str, labels: BTreeMap<String, String>, predefined: bool) {
        let id = self.next_id(0x6e65_7477);
        let subnet = self.next_subnet;
        self.next_subnet += 1;
        self.networks.insert(
            name.to_owned(),
            FakeNetwork {
                id,
                labels,
                predefined,
                next_ip: 2,
                subnet,
            },
        );
    }

    /// The container's id from an id or a name.
    pub fn resolve(&self, id_or_name: &str) -> Result<ContainerId> {
        let id = ContainerId(id_or_name.to_owned());
        if self.containers.contains_key(&id) {
            return Ok(id);
        }
        self.names
            .get(id_or_name)
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound(format!("container {id_or_name}")))
    }

    pub fn get(&self, id: &ContainerId) -> Result<&FakeContainer> {
        self.containers
            .get(id)
            .ok_or_else(|| RuntimeError::NotFound(format!("container {id}")))
    }

    pub fn get_mut(&mut self, id: &ContainerId) -> Result<&mut FakeContainer> {
        self.containers
            .get_mut(id)
            .ok_or_else(|| RuntimeError::NotFound(format!("container {id}")))
    }

    pub fn emit(&mut self, id: &ContainerId, action: EventAction) {
        let Some(c) = self.containers.get(id) else {
            return;
        };
        let event = RuntimeEvent {
            id: id.clone(),
            name: Some(c.name.clone()),
            action,
            labels: c.spec.labels.clone(),
            time: self.now(),
        };
        self.event_log.push(event.clone());
        // No subscriber is fine: events are not stored for later subscribers.
        let _ = self.events.send(Msg::Event(event));
    }

    pub fn create(&mut self, spec: &ContainerSpec) -> Result<ContainerId> {
        spec.validate()?;
        if !self.images.contains(&normalize_image(&spec.image)) {
            return Err(RuntimeError::ImageNotFound(spec.image.clone()));
        }
        if self.names.contains_key(&spec.name) {
            return Err(RuntimeError::Conflict(format!(
                "container name {} is already in use",
                spec.name
            )));
        }
        // As Docker: the namespace or network joined is looked up at start, not here.
        for m in &spec.mounts {
            if let MountSource::Volume(v) = &m.source {
                self.volumes.entry(v.clone()).or_insert_with(|| FakeVolume {
                    labels: BTreeMap::new(),
                    driver_opts: BTreeMap::new(),
                });
            }
        }
        let id = ContainerId(self.next_id(0));
        let behavior = self
            .behaviors
            .get(&spec.name)
            .unwrap_or(&self.default_behavior)
            .clone();
        let zero = Stats {
            cpu_total_ns: 0,
            memory_bytes: 0,
            memory_limit_bytes: spec
                .memory_bytes
                .map_or(0, |m| u64::try_from(m).unwrap_or(0)),
            at: self.now(),
        };
        let container = FakeContainer {
            id: id.clone(),
            name: spec.name.clone(),
            spec: spec.clone(),
            behavior,
            state: ContainerState::Created,
            exit_code: None,
            oom_killed: false,
            started_at: None,
            finished_at: None,
            health: None,
            ports: Vec::new(),
            ip_addresses: BTreeMap::new(),
            run: 0,
            logs: Vec::new(),
            changes: watch::Sender::new(0),
            stats: watch::Sender::new(zero),
        };
        if let Some(task) = spec.labels.get(crate::labels::TASK) {
            self.by_task
                .entry(task.clone())
                .or_default()
                .push(id.clone());
        }
        self.containers.insert(id.clone(), container);
        self.creation.push(id.clone());
        self.names.insert(spec.name.clone(), id.clone());
        self.emit(&id, EventAction::Create);
        Ok(id)
    }

    /// Starts a container; returns its new run number, or `None` if it already ran.
    pub fn start(&mut self, id: &ContainerId) -> Result<Option<u64>> {
        let c = self.get(id)?;
        if c.state.is_alive() {
            return Ok(None);
        }
        let network = c.spec.network.clone();
        match &network {
            NetworkAttach::Container(target) => {
                let target = self.resolve(target.as_str())?;
                if !self.get(&target)?.state.is_alive() {
                    return Err(RuntimeError::Conflict(format!(
                        "cannot join the network namespace of container {target}: it does not run"
                    )));
                }
            }
            NetworkAttach::Named { network, .. } if !self.networks.contains_key(network) => {
                return Err(RuntimeError::NotFound(format!("network {network}")));
            }
            _ => {}
        }
        let ports = self.allocate_ports(id)?;
        let ip_addresses = self.allocate_ip(&network);
        let now = self.now();
        let c = self.get_mut(id)?;
        c.run += 1;
        c.state = ContainerState::Running;
        c.exit_code = None;
        c.oom_killed = false;
        c.started_at = Some(now);
        c.ports = ports;
        c.ip_addresses = ip_addresses;
        c.health = c
            .spec
            .health_check
            .as_ref()
            .filter(|h| h.test.first().map(String::as_str) != Some("NONE"))
            .map(|_| HealthStatus::Starting);
        let output = c.behavior.output.clone();
        for (stream, text) in output {
            c.logs.push(LogLine {
                stream,
                text,
                timestamp: Some(now),
            });
        }
        c.touch();
        let run = c.run;
        self.emit(id, EventAction::Start);
        Ok(Some(run))
    }

    fn allocate_ports(&mut self, id: &ContainerId) -> Result<Vec<PortBinding>> {
        let c = self.get(id)?;
        if !matches!(
            c.spec.network,
            NetworkAttach::Bridge | NetworkAttach::Named { .. }
        ) {
            return Ok(Vec::new());
        }
        let taken: BTreeSet<(u16, &'static str)> = self
            .containers
            .values()
            .filter(|o| o.state.is_alive())
            .flat_map(|o| o.ports.iter().map(|p| (p.host_port, p.protocol.as_str())))
            .collect();
        let mut next = self.next_port;
        let mut out = Vec::new();
        for p in &c.spec.ports {
            let host_port = match p.host_port.filter(|&h| h != 0) {
                Some(h) if taken.contains(&(h, p.protocol.as_str())) => {
                    return Err(RuntimeError::Other(format!(
                        "host port {h}/{} is already allocated",
                        p.protocol
                    )));
                }
                Some(h) => h,
                None => {
                    while taken.contains(&(next, p.protocol.as_str())) {
                        next = next.checked_add(1).unwrap_or(FIRST_EPHEMERAL_PORT);
                    }
                    let h = next;
                    next = next.checked_add(1).unwrap_or(FIRST_EPHEMERAL_PORT);
                    h
                }
            };
            out.push(PortBinding {
                container_port: p.container_port,
                host_ip: p.host_ip.clone().unwrap_or_else(|| "0.0.0.0".to_owned()),
                host_port,
                protocol: p.protocol,
            });
        }
        self.next_port = next;
        out.sort();
        Ok(out)
    }

    fn allocate_ip(&mut self, network: &NetworkAttach) -> BTreeMap<String, String> {
        let name = match network {
            NetworkAttach::Bridge => "bridge",
            NetworkAttach::Named { network, .. } => network.as_str(),
            _ => return BTreeMap::new(),
        };
        let Some(net) = self.networks.get_mut(name) else {
            return BTreeMap::new();
        };
        let host = net.next_ip;
        net.next_ip += 1;
        let ip = format!("172.{}.{}.{}", net.subnet, host / 254, host % 254);
        BTreeMap::from([(name.to_owned(), ip)])
    }

    /// The process ended: records how and tells subscribers (Oom before Die, as Docker).
    pub fn exit(&mut self, id: &ContainerId, exit_code: i64, oom: bool) {
        let now = self.now();
        let Some(c) = self.containers.get_mut(id) else {
            return;
        };
        if !c.state.is_alive() {
            return;
        }
        c.state = ContainerState::Exited;
        c.exit_code = Some(exit_code);
        c.oom_killed = oom;
        c.finished_at = Some(now);
        c.ports.clear();
        c.ip_addresses.clear();
        c.touch();
        // The namespace went with the process, and its filter with it.
        self.packet_filters.remove(id);
        if oom {
            self.emit(id, EventAction::Oom);
        }
        self.emit(id, EventAction::Die { exit_code });
    }

    pub fn set_health(&mut self, id: &ContainerId, health: HealthStatus) -> Result<()> {
        let c = self.get_mut(id)?;
        if c.health == Some(health) {
            return Ok(());
        }
        c.health = Some(health);
        self.emit(id, EventAction::HealthStatus(health));
        Ok(())
    }

    pub fn remove(&mut self, id: &ContainerId) {
        if let Some(c) = self.containers.get(id) {
            let name = c.name.clone();
            let task = c.spec.labels.get(crate::labels::TASK).cloned();
            self.emit(id, EventAction::Destroy);
            self.names.remove(&name);
            self.creation.retain(|x| x != id);
            if let Some(task) = task
                && let Some(ids) = self.by_task.get_mut(&task)
            {
                ids.retain(|x| x != id);
                if ids.is_empty() {
                    self.by_task.remove(&task);
                }
            }
            // Dropping the container drops its watch senders: stats and log streams end.
            self.containers.remove(id);
        }
    }

    /// Whether a container (any state) mounts the volume.
    pub fn volume_in_use(&self, name: &str) -> bool {
        self.containers.values().any(|c| {
            c.spec
                .mounts
                .iter()
                .any(|m| matches!(&m.source, MountSource::Volume(v) if v == name))
        })
    }

    /// Whether a running container is attached to the network.
    pub fn network_in_use(&self, name: &str) -> bool {
        self.containers.values().any(|c| {
            c.state.is_alive()
                && matches!(&c.spec.network, NetworkAttach::Named { network, .. } if network == name)
        })
    }
}

/// When a health check settles on `target` after a start.
pub(super) fn health_delay(spec: &ContainerSpec, target: HealthStatus) -> Duration {
    let Some(h) = &spec.health_check else {
        return Duration::ZERO;
    };
    let interval = if h.interval.is_zero() {
        Duration::from_secs(30)
    } else {
        h.interval
    };
    match target {
        HealthStatus::Unhealthy => {
            let retries = if h.retries == 0 { 3 } else { h.retries };
            h.start_period + interval * retries
        }
        _ => interval,
    }
}

/// `busybox` -> `busybox:latest`, as Docker resolves a reference without a tag.
pub(super) fn normalize_image(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || image.contains('@') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_get_latest() {
        assert_eq!(normalize_image("busybox"), "busybox:latest");
        assert_eq!(
            normalize_image("localhost:5000/web"),
            "localhost:5000/web:latest"
        );
        assert_eq!(
            normalize_image("ecsctl/busybox:local"),
            "ecsctl/busybox:local"
        );
    }

    #[test]
    fn ids_are_unique_in_their_first_twelve_digits() {
        let (tx, _) = broadcast::channel(1);
        let mut s = State::new(tx);
        let ids: BTreeSet<String> = (0..1000).map(|_| s.next_id(0)[..12].to_owned()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
