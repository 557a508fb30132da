//! Cluster: what the workloads in a cluster may do (policy) and the capacity they may use.

use crate::taskdef::Tag;
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
    /// ECS's `containerInsights` cluster setting, kept and reported (DescribeClusters);
    /// ecsctl sends no metrics to CloudWatch whatever it says (`ecsctl top` shows them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_insights: Option<ContainerInsights>,
    /// Tags (ECS's TagResource on the cluster's ARN), kept as metadata.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// The values of ECS's `containerInsights` cluster setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContainerInsights {
    Enhanced,
    Enabled,
    Disabled,
}

impl ContainerInsights {
    /// The value as ECS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerInsights::Enhanced => "enhanced",
            ContainerInsights::Enabled => "enabled",
            ContainerInsights::Disabled => "disabled",
        }
    }
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
    /// Most processes (and threads) one container may run (Docker `--pids-limit`); default
    /// [`DEFAULT_PIDS_LIMIT`]. A fork bomb stops there instead of exhausting the host's pids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 16, max = 4194304))]
    pub pids_limit: Option<u32>,
    /// Most tasks one Service may want (`desiredCount`) and one apply may start in this
    /// cluster (`run-task --count`); default [`DEFAULT_MAX_DESIRED_COUNT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_desired_count: Option<u32>,
    /// Most tasks the cluster may hold: the Services' desiredCounts and the standalone tasks
    /// that are not stopped; default [`DEFAULT_MAX_TASKS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tasks: Option<u32>,
    /// Allow LoadBalancer listeners and bridge-mode `hostPort`s below 1024 (ports the host's
    /// own services expect: the server runs as root and could take them).
    #[serde(default)]
    pub allow_privileged_ports: bool,
    /// Allow LoadBalancer listeners on addresses other than loopback (reachable from other
    /// machines).
    #[serde(default)]
    pub allow_public_listeners: bool,
}

/// Default pids limit per container: far above what a service's processes and threads need
/// (a JVM or a pool of workers runs a few hundred), far below the kernel's default
/// `pid_max` (32,768 or 4,194,304), so one container cannot take every pid of the host.
pub const DEFAULT_PIDS_LIMIT: u32 = 1024;
/// Default cap on a Service's desiredCount (and on the tasks one apply starts): ECS's own
/// quota on tasks per service is 5,000 across a fleet; one machine needs far fewer.
pub const DEFAULT_MAX_DESIRED_COUNT: u32 = 1000;
/// Default cap on the tasks of one cluster (ECS's default quota is 5,000 per service and
/// thousands of instances per cluster; one local machine holds far fewer).
pub const DEFAULT_MAX_TASKS: u32 = 2000;

impl ClusterPolicy {
    /// The pids limit of each container.
    pub fn pids_limit(&self) -> u32 {
        self.pids_limit.unwrap_or(DEFAULT_PIDS_LIMIT)
    }

    /// The cap on one Service's desiredCount.
    pub fn max_desired_count(&self) -> u32 {
        self.max_desired_count.unwrap_or(DEFAULT_MAX_DESIRED_COUNT)
    }

    /// The cap on the tasks of the cluster.
    pub fn max_tasks(&self) -> u32 {
        self.max_tasks.unwrap_or(DEFAULT_MAX_TASKS)
    }
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
