//! What the task controller reports about a task (`ecsctl get task ID -o json`), in ECS's
//! words: lastStatus/desiredStatus, stopCode and stoppedReason, containers and their ports.

use crate::state::wire_enum;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

wire_enum! {
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
    pub enum TaskPhase {
        /// Resources for the task (its network namespace) are being set up.
        #[default]
        Provisioning = "PROVISIONING",
        /// Containers are being created.
        Pending = "PENDING",
        /// Containers are starting, in dependsOn order.
        Activating = "ACTIVATING",
        /// Every essential container runs.
        Running = "RUNNING",
        /// The task is leaving its load balancers.
        Deactivating = "DEACTIVATING",
        /// Containers are being stopped, dependents first.
        Stopping = "STOPPING",
        /// Task resources are being removed.
        Deprovisioning = "DEPROVISIONING",
        /// Nothing runs any more.
        Stopped = "STOPPED",
    }
}

impl TaskPhase {
    /// STOPPED: the task is over and nothing of it runs.
    pub fn is_terminal(self) -> bool {
        self == TaskPhase::Stopped
    }

    /// RUNNING: every essential container runs.
    pub fn is_running(self) -> bool {
        self == TaskPhase::Running
    }

    /// Not RUNNING yet (ECS counts these tasks as pending).
    pub fn is_pending(self) -> bool {
        self < TaskPhase::Running
    }
}

wire_enum! {
    /// What the task should become.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
    pub enum DesiredStatus {
        #[default]
        Running = "RUNNING",
        Stopped = "STOPPED",
    }
}

impl DesiredStatus {
    /// Someone asked the task to stop.
    pub fn is_stopped(self) -> bool {
        self == DesiredStatus::Stopped
    }
}

wire_enum! {
    /// Why a task stopped.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    pub enum StopCode {
        TaskFailedToStart = "TaskFailedToStart",
        EssentialContainerExited = "EssentialContainerExited",
        UserInitiated = "UserInitiated",
        ServiceSchedulerInitiated = "ServiceSchedulerInitiated",
        // The task's host went away under it: ECS writes this code (with "Host EC2 (instance
        // ...) terminated.") when a container instance is lost, and ecsctl when an instance's
        // agent stops heartbeating (`ecsctl server --instance-timeout`). Not a failure of the
        // task's revision. (A plain comment: a doc comment would split the JSON Schema enum.)
        TerminationNotice = "TerminationNotice",
    }
}

impl StopCode {
    /// The task stopped on its own (it could not start, or an essential container exited),
    /// not because someone asked: what the circuit breaker and start throttle count.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            StopCode::TaskFailedToStart | StopCode::EssentialContainerExited
        )
    }
}

wire_enum! {
    /// Health of a task or container, as ECS reports it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
    pub enum HealthState {
        Healthy = "HEALTHY",
        Unhealthy = "UNHEALTHY",
        #[default]
        Unknown = "UNKNOWN",
    }
}

impl HealthState {
    /// The health check passes.
    pub fn is_healthy(self) -> bool {
        self == HealthState::Healthy
    }

    /// The health check fails.
    pub fn is_unhealthy(self) -> bool {
        self == HealthState::Unhealthy
    }
}

wire_enum! {
    /// The lifecycle of one container of a task, as ECS reports a container's lastStatus.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
    pub enum ContainerPhase {
        /// Not made yet, or made and not started.
        #[default]
        Pending = "PENDING",
        Running = "RUNNING",
        /// Exited, removed, or never made because the task failed first.
        Stopped = "STOPPED",
    }
}

impl ContainerPhase {
    /// STOPPED: the container will not run again.
    pub fn is_terminal(self) -> bool {
        self == ContainerPhase::Stopped
    }
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
    /// The id of the ContainerInstance that runs the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_instance: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerStatus>,
    /// What was done to the task from outside its lifecycle (each `ecsctl exec`: who ran
    /// what in which container, and how it ended), newest first, the newest
    /// [`TaskStatus::MAX_EVENTS`] kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<crate::service::Event>,
}

impl TaskStatus {
    /// How many events a task keeps (as a service does).
    pub const MAX_EVENTS: usize = 100;
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
    pub last_status: ContainerPhase,
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
    pub protocol: crate::taskdef::Protocol,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T>(all: &[T], word: impl Fn(&T) -> &'static str)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        for v in all {
            let json = serde_json::to_value(v).unwrap();
            assert_eq!(json, word(v));
            assert_eq!(&serde_json::from_value::<T>(json).unwrap(), v);
        }
    }

    #[test]
    fn states_are_ecs_words_on_the_wire() {
        round_trips(TaskPhase::ALL, |v| v.as_str());
        round_trips(DesiredStatus::ALL, |v| v.as_str());
        round_trips(StopCode::ALL, |v| v.as_str());
        round_trips(HealthState::ALL, |v| v.as_str());
        round_trips(ContainerPhase::ALL, |v| v.as_str());
        assert_eq!("STOPPED".parse::<TaskPhase>(), Ok(TaskPhase::Stopped));
        assert!("stopped".parse::<TaskPhase>().is_err());
        assert!(TaskPhase::Activating.is_pending() && !TaskPhase::Running.is_pending());
        // A lost host is not the revision's fault: the circuit breaker does not count it.
        assert!(!StopCode::TerminationNotice.is_failure());
    }
}

#[cfg(test)]
mod golden {
    use super::*;

    /// A task status as the controller wrote it when container states and binding protocols
    /// were strings: the same bytes through the enums.
    #[test]
    fn status_json_is_unchanged_by_the_enums() {
        let written = r#"{"taskDefinition":"web:1","lastStatus":"STOPPED","desiredStatus":"STOPPED","healthStatus":"UNKNOWN","stopCode":"EssentialContainerExited","stoppedReason":"Essential container in task exited","containers":[{"name":"app","runtimeId":"abc","image":"busybox","lastStatus":"STOPPED","exitCode":1,"healthStatus":"UNHEALTHY","essential":true,"networkBindings":[{"containerPort":80,"hostPort":32768,"hostIp":"127.0.0.1","protocol":"tcp"}]},{"name":"side","image":"busybox","lastStatus":"PENDING","healthStatus":"HEALTHY","essential":false}]}"#;
        let st: TaskStatus = serde_json::from_str(written).unwrap();
        assert_eq!(serde_json::to_string(&st).unwrap(), written);
        assert!(st.last_status.is_terminal() && st.stop_code.is_some_and(StopCode::is_failure));
    }
}
