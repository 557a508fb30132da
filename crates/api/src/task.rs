//! What the task controller reports about a task (`ecsctl get task ID -o json`), in ECS's
//! words: lastStatus/desiredStatus, stopCode and stoppedReason, containers and their ports.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The ECS task lifecycle, in order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskPhase {
    /// Resources for the task (its network namespace) are being set up.
    #[default]
    Provisioning,
    /// Containers are being created.
    Pending,
    /// Containers are starting, in dependsOn order.
    Activating,
    /// Every essential container runs.
    Running,
    /// The task is leaving its load balancers.
    Deactivating,
    /// Containers are being stopped, dependents first.
    Stopping,
    /// Task resources are being removed.
    Deprovisioning,
    /// Nothing runs any more.
    Stopped,
}

impl TaskPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskPhase::Provisioning => "PROVISIONING",
            TaskPhase::Pending => "PENDING",
            TaskPhase::Activating => "ACTIVATING",
            TaskPhase::Running => "RUNNING",
            TaskPhase::Deactivating => "DEACTIVATING",
            TaskPhase::Stopping => "STOPPING",
            TaskPhase::Deprovisioning => "DEPROVISIONING",
            TaskPhase::Stopped => "STOPPED",
        }
    }
}

/// What the task should become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DesiredStatus {
    #[default]
    Running,
    Stopped,
}

/// Why a task stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StopCode {
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
}

/// Health of a task or container, as ECS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthState {
    Healthy,
    Unhealthy,
    #[default]
    Unknown,
}

/// Status of a task.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
// Partial statuses decode: a status may hold only what the controllers' invalid-object
// recorder wrote (`controllers::invalid`).
#[serde(rename_all = "camelCase", default)]
pub struct TaskStatus {
    /// The revision the task runs, `family:N`, resolved when the task was created.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub task_definition: String,
    pub last_status: TaskPhase,
    pub desired_status: DesiredStatus,
    /// Worst health of the essential containers that have a health check.
    pub health_status: HealthState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<StopCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    /// The task's address on its cluster network (awsvpc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerStatus>,
}

/// Status of one container of a task.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: String,
    /// Docker container id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_id: Option<String>,
    pub image: String,
    /// PENDING, RUNNING or STOPPED.
    pub last_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub health_status: HealthState,
    pub essential: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_bindings: Vec<NetworkBinding>,
    /// For awslogs: the log group and stream its output would have in CloudWatch
    /// (`prefix/container/task-id`); the output itself is kept locally (`ecsctl logs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream: Option<String>,
}

/// A published port of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkBinding {
    pub container_port: u16,
    pub host_port: u16,
    pub host_ip: String,
    pub protocol: String,
}
