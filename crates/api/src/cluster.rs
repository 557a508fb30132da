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
    /// Allow `privileged: true` containers, added capabilities, and
    /// `dockerSecurityOptions` other than `no-new-privileges` (seccomp, AppArmor and SELinux
    /// profiles, `systempaths=unconfined`).
    #[serde(default)]
    pub allow_privileged: bool,
    /// Allow networkMode host (and pidMode/ipcMode host).
    #[serde(default)]
    pub allow_host_network: bool,
    /// Allow mounting a container engine's socket (Docker's, containerd's... or any Unix
    /// socket, since a socket cannot be told apart by its name) into containers.
    #[serde(default)]
    pub allow_docker_socket: bool,
    /// Allow bind-mounting character and block devices (host paths that resolve to one).
    #[serde(default)]
    pub allow_devices: bool,
    /// Directories (normal absolute paths) that host volumes may bind-mount, themselves or
    /// what lies inside them, judged on the real path once symlinks are resolved. An entry
    /// that holds or lies in a container engine's socket or state (`/`, `/run`, `/var`,
    /// `/var/lib/docker`) is refused.
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
