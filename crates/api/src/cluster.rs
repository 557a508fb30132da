//! Cluster: what the workloads in a cluster may do (policy) and the capacity they may use.

use crate::units::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of a Cluster: what workloads in it may do, and the capacity they may use.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ClusterPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<ClusterCapacity>,
}

/// Workload policy; everything dangerous is refused unless allowed here.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterPolicy {
    /// Allow `privileged: true` containers.
    #[serde(default)]
    pub allow_privileged: bool,
    /// Allow networkMode host (and pidMode/ipcMode host).
    #[serde(default)]
    pub allow_host_network: bool,
    /// Allow mounting the Docker socket into containers.
    #[serde(default)]
    pub allow_docker_socket: bool,
    /// Host paths (prefixes) that host volumes may bind-mount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_path_allowlist: Vec<String>,
    /// Allow LoadBalancer listeners and bridge-mode `hostPort`s below 1024 (ports the host's
    /// own services expect: the server runs as root and could take them).
    #[serde(default)]
    pub allow_privileged_ports: bool,
    /// Allow LoadBalancer listeners on addresses other than loopback (reachable from other
    /// machines).
    #[serde(default)]
    pub allow_public_listeners: bool,
}

/// Capacity of the local container instance offered to the cluster.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterCapacity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuUnits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryMiB>,
}
