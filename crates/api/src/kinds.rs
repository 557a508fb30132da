//! The smaller kinds: Cluster, Task, LoadBalancer, Autoscaler and the system-owned Deployment.

use crate::units::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// Spec of a Task: one ECS task, standalone (as `ecsctl run-task` starts) or owned by a
/// service. The object's name is the task id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskSpec {
    /// `family` (latest revision when the task is created) or `family:N`.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(:[1-9][0-9]*)?$"))]
    pub task_definition: String,
    /// A Task object is one task; only 1 is accepted here (`ecsctl run-task --count N`
    /// creates N of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1))]
    pub count: Option<u32>,
    /// RUNNING (default) or STOPPED: `ecsctl stop-task` sets STOPPED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_status: Option<crate::task::DesiredStatus>,
    /// Who asked the task to stop: UserInitiated (default) or ServiceSchedulerInitiated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<crate::task::StopCode>,
    /// Why the task was asked to stop, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<TaskOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskOverride {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_overrides: Vec<ContainerOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuUnits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryMiB>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerOverride {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<crate::taskdef::KeyValuePair>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuUnits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryMiB>,
}

/// Spec of a LoadBalancer served by the server's built-in proxy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerSpec {
    #[schemars(length(min = 1))]
    pub listeners: Vec<Listener>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<TargetHealthCheck>,
    /// Seconds a deregistered target keeps serving in-flight requests (default 300, as ECS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub deregistration_delay_seconds: Option<u32>,
    /// round_robin (default) or least_outstanding_requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<LbAlgorithm>,
    /// Seconds over which a new target's share of traffic ramps up (0 = off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 900))]
    pub slow_start_seconds: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Listener {
    pub port: Port,
    /// HTTP (L7, routes by rules), HTTPS (HTTP behind TLS: needs certificates) or TCP (L4
    /// pass-through).
    pub protocol: LbProtocol,
    /// Bind address (default 127.0.0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// HTTP routing rules, matched by priority (lowest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<ListenerRule>,
    /// Service that receives traffic no rule matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_service: Option<String>,
    /// HTTPS only: the certificates it presents, as an ALB's listener lists them. The first is
    /// the default; another is chosen when the name a client asks for (SNI) is one of its
    /// names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<ListenerCertificate>,
}

/// A certificate of an HTTPS listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerCertificate {
    /// The Secret holding the PEM certificate chain and its private key, both in one value:
    /// its name, or an ARN whose last segment is the name
    /// (`arn:aws:acm:us-east-1:123456789012:certificate/web-cert`).
    pub certificate_arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LbProtocol {
    Http,
    Https,
    Tcp,
}

impl LbProtocol {
    /// HTTP or HTTPS: requests are routed by rules (TCP passes connections through).
    pub fn is_http(self) -> bool {
        matches!(self, LbProtocol::Http | LbProtocol::Https)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LbAlgorithm {
    RoundRobin,
    LeastOutstandingRequests,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50000))]
    pub priority: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^/"))]
    pub path_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The Service that receives matching requests.
    pub service: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetHealthCheck {
    /// HTTP path probed (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Port probed (default the target's port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Port>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 300))]
    pub interval_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub healthy_threshold_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub unhealthy_threshold_count: Option<u32>,
    /// HTTP codes that count as healthy: `200`, `200-299`, `200,302`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$"))]
    pub matcher: Option<String>,
}

/// Spec of an Autoscaler: Application Auto Scaling for one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalerSpec {
    /// Name of the Service (same cluster) whose desiredCount this scales.
    pub service: String,
    pub min_capacity: Count,
    pub max_capacity: Count,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_tracking: Vec<TargetTrackingPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_scaling: Vec<StepScalingPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled: Vec<ScheduledAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetTrackingPolicy {
    pub metric: ScalingMetric,
    /// Target value of the metric (percent for CPU/memory, requests per target otherwise).
    #[schemars(range(min = 0.0))]
    pub target_value: f64,
    /// Seconds after a scale-out before another scale-out (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<Count>,
    /// Seconds after a scale-in before another scale-in (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScalingMetric {
    #[serde(rename = "ECSServiceAverageCPUUtilization")]
    EcsServiceAverageCpuUtilization,
    #[serde(rename = "ECSServiceAverageMemoryUtilization")]
    EcsServiceAverageMemoryUtilization,
    #[serde(rename = "ALBRequestCountPerTarget")]
    AlbRequestCountPerTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepScalingPolicy {
    pub metric: ScalingMetric,
    /// ChangeInCapacity, PercentChangeInCapacity or ExactCapacity.
    pub adjustment_type: AdjustmentType,
    pub steps: Vec<ScalingStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<Count>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AdjustmentType {
    ChangeInCapacity,
    PercentChangeInCapacity,
    ExactCapacity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_bound: Option<f64>,
    pub adjustment: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduledAction {
    /// Cron expression (`cron(0 9 * * ? *)` or five-field cron).
    pub schedule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_capacity: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<Count>,
}

/// Spec of a Deployment (system-owned: written by the service controller).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentSpec {
    pub service: String,
    pub task_definition: String,
    pub desired_count: u32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}
