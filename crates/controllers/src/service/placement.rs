//! Placement on the one local container instance: a task is placed only if the instance has
//! the CPU, memory and host ports it needs once the tasks already there are counted, as ECS
//! places on a container instance's registered resources. Pure functions.

use api::taskdef::{NetworkMode, Protocol, TaskDefinitionSpec};
use std::collections::BTreeSet;

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

/// How many more tasks needing `need` fit next to `used`, and if not all of `wanted`, why.
pub fn placeable(
    capacity: Capacity,
    used: &[Need],
    need: &Need,
    wanted: u32,
) -> (u32, Option<String>) {
    let cpu_used: u64 = used.iter().map(|n| n.cpu).sum();
    let mem_used: u64 = used.iter().map(|n| n.memory).sum();
    let taken: BTreeSet<&(u16, Protocol)> = used.iter().flat_map(|n| &n.ports).collect();
    if let Some((port, proto)) = need.ports.iter().find(|p| taken.contains(p)) {
        let why = format!("the local container instance already uses host port {port}/{proto}");
        return (0, Some(why));
    }
    let by_cpu = capacity
        .cpu
        .saturating_sub(cpu_used)
        .checked_div(need.cpu)
        .unwrap_or(u64::MAX);
    let by_mem = capacity
        .memory
        .saturating_sub(mem_used)
        .checked_div(need.memory)
        .unwrap_or(u64::MAX);
    // A task with fixed host ports fits once on the instance.
    let by_ports = if need.ports.is_empty() { u64::MAX } else { 1 };
    let n = by_cpu.min(by_mem).min(by_ports).min(u64::from(wanted)) as u32;
    if n >= wanted {
        return (n, None);
    }
    let why = if by_ports < by_cpu.min(by_mem) {
        "its host ports are already taken on the local container instance by another task of it"
            .to_string()
    } else if by_mem <= by_cpu {
        format!(
            "the local container instance has insufficient memory available ({} MiB needed, {} MiB free of {})",
            need.memory,
            capacity.memory.saturating_sub(mem_used),
            capacity.memory
        )
    } else {
        format!(
            "the local container instance has insufficient CPU units available ({} needed, {} free of {})",
            need.cpu,
            capacity.cpu.saturating_sub(cpu_used),
            capacity.cpu
        )
    };
    (n, Some(why))
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
        let cap = Capacity {
            cpu: 2048,
            memory: 1024,
        };
        let web = need(&td(json!({"containerDefinitions": [
            {"name": "a", "image": "x", "memory": 256, "cpu": 512},
            {"name": "b", "image": "x", "memoryReservation": 128}]})));
        assert_eq!((web.cpu, web.memory), (512, 384));
        assert_eq!(placeable(cap, &[], &web, 2), (2, None));
        let (n, why) = placeable(cap, std::slice::from_ref(&web), &web, 3);
        assert_eq!(n, 1);
        assert!(why.unwrap().contains("insufficient memory"));
        let fixed = need(&td(json!({"containerDefinitions": [
            {"name": "a", "image": "x", "memory": 8, "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]})));
        let (n, why) = placeable(cap, &[], &fixed, 2);
        assert_eq!(n, 1);
        assert!(why.unwrap().contains("host ports"));
        let (n, why) = placeable(cap, std::slice::from_ref(&fixed), &fixed, 1);
        assert_eq!(n, 0);
        assert!(why.unwrap().contains("host port 8080/tcp"));
    }
}
