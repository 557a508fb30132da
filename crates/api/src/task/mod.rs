//! Task: one ECS task (this file: the spec a user or the service scheduler writes), and what
//! the task controller reports about it (`status.rs`).

mod status;

pub use status::{
    ContainerPhase, ContainerStatus, DesiredStatus, HealthState, NetworkBinding, StopCode,
    TaskPhase, TaskStatus,
};

use crate::units::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of a Task: one ECS task, standalone (as `ecsctl run-task` starts) or owned by a
/// service. The object's name is the task id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskSpec {
    /// `family` (latest revision when the task is created) or `family:N`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,255}(:[1-9][0-9]*)?$"))]
    pub task_definition: String,
    /// A Task object is one task; only 1 is accepted here (`ecsctl run-task --count N`
    /// creates N of them).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_u32"
    )]
    #[schemars(range(min = 1, max = 1))]
    pub count: Option<u32>,
    /// RUNNING (default) or STOPPED: `ecsctl stop-task` sets STOPPED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_status: Option<DesiredStatus>,
    /// Who asked the task to stop: UserInitiated (default) or ServiceSchedulerInitiated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<StopCode>,
    /// Why the task was asked to stop, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<TaskOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES, as RunTask was asked (all run on the
    /// local Docker engine); reported by DescribeTasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<crate::service::LaunchType>,
    /// awsvpc settings as RunTask was given them (subnets and security groups are kept; the
    /// task gets an address on the cluster's network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<crate::service::NetworkConfiguration>,
    /// Tags (ECS's RunTask `tags`, TagResource on the task's ARN), kept as metadata.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<crate::taskdef::Tag>,
    /// The container instance (its id) that runs the task: chosen by placement when the
    /// task is created (service scheduler, run-task), or given, as ECS's StartTask is. Only
    /// that instance's agent acts on the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_instance: Option<String>,
    /// Rules the placement must satisfy (RunTask's `placementConstraints`; a service's
    /// tasks are placed by the service's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub placement_constraints: Vec<crate::service::PlacementConstraint>,
    /// How the placement orders the instances that qualify (RunTask's
    /// `placementStrategy`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub placement_strategy: Vec<crate::service::PlacementStrategy>,
    /// Whether `ecsctl exec` may run commands in the task's containers (ECS Exec): set by
    /// RunTask's `enableExecuteCommand` (`ecsctl run-task --enable-execute-command`), or
    /// copied from its service's. Off by default, as in ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,
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

impl TaskSpec {
    /// A task of `task_definition` to run, started by `started_by` (a deployment id, a user),
    /// nothing else set.
    pub fn new(task_definition: &str, started_by: Option<String>) -> Self {
        TaskSpec {
            task_definition: task_definition.to_string(),
            count: None,
            desired_status: None,
            stop_code: None,
            stopped_reason: None,
            overrides: None,
            started_by,
            group: None,
            launch_type: None,
            network_configuration: None,
            tags: Vec::new(),
            container_instance: None,
            placement_constraints: Vec::new(),
            placement_strategy: Vec::new(),
            enable_execute_command: None,
        }
    }

    /// Whether ECS Exec is on for the task.
    pub fn execute_command_enabled(&self) -> bool {
        self.enable_execute_command == Some(true)
    }

    /// Someone (a user or the service scheduler) asked the task to stop.
    pub fn stop_requested(&self) -> bool {
        self.desired_status.is_some_and(DesiredStatus::is_stopped)
    }

    /// The instance the task is bound to: its spec's, else (a task an earlier release
    /// started) the one its status reports.
    pub fn bound_instance<'a>(&'a self, status: &'a TaskStatus) -> Option<&'a str> {
        self.container_instance
            .as_deref()
            .or(status.container_instance.as_deref())
    }
}

/// The fields of a Task's spec that ask it to stop (`ecsctl stop-task`, the service
/// scheduler). Merged into the stored spec (`Object::merge_spec`) so that everything else
/// stays as it was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StopRequest {
    /// Always STOPPED.
    pub desired_status: DesiredStatus,
    pub stop_code: StopCode,
    pub stopped_reason: String,
}

impl StopRequest {
    /// Asks for a stop, saying who asks and why.
    pub fn new(stop_code: StopCode, reason: impl Into<String>) -> Self {
        StopRequest {
            desired_status: DesiredStatus::Stopped,
            stop_code,
            stopped_reason: reason.into(),
        }
    }
}
