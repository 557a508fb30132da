//! ContainerInstance: a host that runs tasks, as ECS's container instances (EC2 launch type).
//! System-owned: the server registers its own machine's instance (and, later, each agent its
//! host's); users read them only. The spec is empty for now; what the instance reports is
//! its status.

use crate::state::wire_enum;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Spec of a ContainerInstance (system-owned: written when an agent registers, and by
/// `ecsctl drain`/`undrain`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerInstanceSpec {
    /// The identity (its `--tokens` name) of the agent that registered the instance: only it
    /// may report the instance's status and that of the tasks placed on it. `None` for the
    /// server's own instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Asked to drain (`ecsctl drain`, ECS's UpdateContainerInstancesState): the instance
    /// takes no new tasks and its service tasks are replaced elsewhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draining: bool,
}

wire_enum! {
    /// Whether an instance takes tasks, in ECS's words.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    pub enum InstanceStatus {
        /// Takes new tasks.
        #[default]
        Active = "ACTIVE",
        /// Takes no new tasks; its service tasks are replaced elsewhere.
        Draining = "DRAINING",
        /// Deregistered.
        Inactive = "INACTIVE",
        /// A word this release does not know (a newer server wrote it). Written as "".
        #[serde(other)]
        Unknown = "",
    }
}

/// What an instance has (registered) or has left (remaining): CPU units (1024 a core, as
/// ECS counts them), memory in MiB and the host ports taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceResources {
    /// CPU units: 1024 a core.
    pub cpu: u64,
    /// Memory in MiB.
    pub memory: u64,
    /// Host ports in use (registered: those reserved for the host itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
}

/// Status of a ContainerInstance: what its agent last reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInstanceStatus {
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: InstanceStatus,
    /// Whether its agent heartbeats.
    pub agent_connected: bool,
    /// What the host has for tasks.
    pub registered_resources: InstanceResources,
    /// What is left once its RUNNING and PENDING tasks' task-level cpu and memory are taken.
    pub remaining_resources: InstanceResources,
    /// `ecs.os-type`, `ecs.cpu-architecture`, `ecs.instance-id` and the operator's own.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub running_tasks_count: u32,
    #[serde(default)]
    pub pending_tasks_count: u32,
    /// When the agent last reported (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_heartbeat: String,
    /// When the instance registered (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registered_at: String,
    /// The agent's version (ecsctl's).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent_version: String,
    /// Where its tasks' host ports are reached.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// What happened to it, newest first (registered, lost its agent, back, draining,
    /// active again): at most [`MAX_EVENTS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<crate::service::Event>,
}

/// Events an instance keeps.
pub const MAX_EVENTS: usize = 20;

impl ContainerInstanceStatus {
    /// Records an event at `at` (RFC 3339), `id` unique among its events.
    pub fn record(&mut self, id: String, at: &str, message: String) {
        self.events.insert(
            0,
            crate::service::Event {
                id,
                created_at: at.to_string(),
                message,
            },
        );
        self.events.truncate(MAX_EVENTS);
    }
}

/// ECS's name for a CPU architecture, from Rust's or Docker's (`x86_64`/`amd64`,
/// `aarch64`/`arm64`).
pub fn ecs_architecture(arch: &str) -> &str {
    match arch {
        "x86_64" | "amd64" => "x86_64",
        "aarch64" | "arm64" => "arm64",
        other => other,
    }
}

/// Attribute names ECS gives every instance.
pub mod attributes {
    /// `linux`.
    pub const OS_TYPE: &str = "ecs.os-type";
    /// `x86_64` or `arm64`.
    pub const CPU_ARCHITECTURE: &str = "ecs.cpu-architecture";
    /// The instance's id.
    pub const INSTANCE_ID: &str = "ecs.instance-id";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_ecs_words_on_the_wire() {
        for s in InstanceStatus::ALL {
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json, s.as_str());
        }
        let st = ContainerInstanceStatus {
            agent_connected: true,
            registered_resources: InstanceResources {
                cpu: 2048,
                memory: 4096,
                ports: vec![],
            },
            ..Default::default()
        };
        let v = serde_json::to_value(&st).unwrap();
        assert_eq!(v["status"], "ACTIVE");
        assert_eq!(v["agentConnected"], true);
        assert_eq!(v["registeredResources"]["cpu"], 2048);
        assert_eq!(
            serde_json::from_value::<ContainerInstanceStatus>(v).unwrap(),
            st
        );
        assert_eq!(ecs_architecture("amd64"), "x86_64");
        assert_eq!(ecs_architecture("aarch64"), "arm64");
    }
}
