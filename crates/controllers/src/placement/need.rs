//! What a task reserves on its container instance ([`need`]: CPU, memory, fixed host ports,
//! as ECS counts them against an instance's registered resources), and what this machine
//! has ([`Capacity::local`]). Pure functions.

use api::taskdef::{NetworkMode, Protocol, TaskDefinitionSpec};
use std::collections::{BTreeSet, HashMap};

/// What a task reserves on its instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Need {
    /// CPU units (1024 = one vCPU).
    pub cpu: u64,
    /// MiB.
    pub memory: u64,
    /// Fixed host ports (bridge with a hostPort, host mode).
    pub ports: BTreeSet<(u16, Protocol)>,
}

/// What ECS reserves for a task: task-level cpu/memory, else the sum of its containers'
/// (memory, or memoryReservation when there is no hard limit).
pub fn need(td: &TaskDefinitionSpec) -> Need {
    let cs = &td.container_definitions;
    let cpu = td.cpu.map(|c| u64::from(c.0)).unwrap_or_else(|| {
        cs.iter()
            .filter_map(|c| c.cpu)
            .map(|c| u64::from(c.0))
            .sum()
    });
    let memory = td.memory.map(|m| u64::from(m.0)).unwrap_or_else(|| {
        cs.iter()
            .filter_map(|c| c.memory.or(c.memory_reservation))
            .map(|m| u64::from(m.0))
            .sum()
    });
    let mode = td.network_mode();
    let ports = cs
        .iter()
        .flat_map(|c| &c.port_mappings)
        .filter_map(|p| {
            let host = match mode {
                NetworkMode::Host => p.container_port.map(|c| c.0),
                NetworkMode::Bridge => p.host_port.map(|h| h.0).filter(|h| *h != 0),
                _ => None,
            }?;
            Some((host, p.protocol.unwrap_or(Protocol::Tcp)))
        })
        .collect();
    Need { cpu, memory, ports }
}

/// What task definitions reserve, as read so far: `family:N` names one immutable revision,
/// so its need is kept; a bare family (a task not yet started) names whatever revision is
/// latest, so it is never kept and is read again next time.
#[derive(Debug, Default)]
pub struct Needs(HashMap<String, Option<Need>>);

impl Needs {
    /// What `task_definition` reserves, if known (`Some(None)`: it does not exist).
    pub fn cached(&self, task_definition: &str) -> Option<Option<Need>> {
        self.0.get(task_definition).cloned()
    }

    /// What `task_definition` (read as `spec`) reserves, kept when it names one revision.
    pub fn remember(
        &mut self,
        task_definition: &str,
        spec: Option<&TaskDefinitionSpec>,
    ) -> Option<Need> {
        let n = spec.map(need);
        if task_definition.contains(':') {
            self.0.insert(task_definition.to_string(), n.clone());
        }
        n
    }
}

/// The instance's registered resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub cpu: u64,
    pub memory: u64,
}

impl Capacity {
    /// This machine: 1024 units per CPU, its total memory.
    pub fn local() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .map_or(u64::MAX, |kb| kb / 1024);
        Capacity {
            cpu: cpus * 1024,
            memory,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn td(v: serde_json::Value) -> TaskDefinitionSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn counts_cpu_memory_and_ports() {
        let web = need(&td(json!({"containerDefinitions": [
            {"name": "a", "image": "x", "memory": 256, "cpu": 512},
            {"name": "b", "image": "x", "memoryReservation": 128}]})));
        assert_eq!((web.cpu, web.memory), (512, 384));
        assert!(web.ports.is_empty());
        let fixed = need(&td(json!({"containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]})));
        assert_eq!(
            fixed.ports.into_iter().collect::<Vec<_>>(),
            [(8080, Protocol::Tcp)]
        );
        let dynamic = need(&td(json!({"containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "portMappings": [{"containerPort": 80, "hostPort": 0}]}]})));
        assert!(
            dynamic.ports.is_empty(),
            "hostPort 0: the engine picks a free one"
        );
    }

    #[test]
    fn only_a_revision_named_by_number_is_kept() {
        let spec = td(json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 64}]}));
        let mut needs = Needs::default();
        assert_eq!(
            needs.remember("web:3", Some(&spec)).map(|n| n.memory),
            Some(64)
        );
        assert_eq!(needs.cached("web:3").flatten().map(|n| n.memory), Some(64));
        needs.remember("web", Some(&spec));
        assert_eq!(
            needs.cached("web"),
            None,
            "a bare family names the latest: read again"
        );
        needs.remember("gone:1", None);
        assert_eq!(needs.cached("gone:1"), Some(None));
    }
}
