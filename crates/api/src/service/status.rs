//! What the service controller reports about a service: counts, deployments, conditions
//! and events.

use crate::deployment::DeploymentSummary;
use crate::state::wire_enum;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the service controller reports (`ecsctl get service NAME -o json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
// Partial statuses decode: a status may hold only what the controllers' invalid-object
// recorder wrote (`controllers::invalid`).
#[serde(rename_all = "camelCase", default)]
pub struct ServiceStatus {
    pub desired_count: u32,
    pub running_count: u32,
    pub pending_count: u32,
    #[serde(default)]
    pub observed_generation: u64,
    #[serde(default)]
    pub deployments: Vec<DeploymentSummary>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Newest first, bounded.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Task starts are held back until this time after repeated failures (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub throttled_until: String,
    /// The id of the last autoscaler decision reported as an event.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_autoscaler_decision: String,
    /// Tasks registered with the service's load balancers, as last reported in events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_targets: Vec<String>,
    /// A revision the circuit breaker rolled back: not deployed again until the service
    /// points at another one, or a deployment is forced.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub failed_task_definition: String,
    /// The value of the `ecsctl.dev/force-deployment` annotation last acted on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub force_token: String,
    /// Fingerprint of the service settings its tasks take when they start (Service Connect)
    /// last acted on: a change makes a new deployment, as in ECS.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub task_config_token: String,
}

wire_enum! {
    /// What a service condition is about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    pub enum ConditionType {
        /// Every desired task runs healthy in the PRIMARY deployment and nothing else runs.
        SteadyState = "SteadyState",
    }
}

wire_enum! {
    /// Whether a condition holds, as Kubernetes conditions say it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    pub enum ConditionStatus {
        True = "True",
        False = "False",
        Unknown = "Unknown",
    }
}

impl From<bool> for ConditionStatus {
    fn from(holds: bool) -> Self {
        if holds {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    }
}

impl ConditionStatus {
    /// The condition holds.
    pub fn is_true(self) -> bool {
        self == ConditionStatus::True
    }
}

/// One condition of a service (today: SteadyState).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub condition_type: ConditionType,
    pub status: ConditionStatus,
    /// One CamelCase word saying why (`AllTasksHealthy`, `Reconciling`).
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub last_transition_time: String,
}

impl ServiceStatus {
    /// The deployment the service converges to, if there is one yet.
    pub fn primary(&self) -> Option<&DeploymentSummary> {
        self.deployments.iter().find(|d| d.status.is_primary())
    }

    /// The condition of that type, if recorded.
    pub fn condition(&self, condition_type: ConditionType) -> Option<&Condition> {
        self.conditions
            .iter()
            .find(|c| c.condition_type == condition_type)
    }

    /// Whether the service has reached a steady state.
    pub fn is_steady(&self) -> bool {
        self.condition(ConditionType::SteadyState)
            .is_some_and(|c| c.status.is_true())
    }
}

/// An event, in ECS's words (a service's; a container instance's too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    pub created_at: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status as the controller wrote it when its states were strings: read and written
    /// back through the enums, it is the same bytes.
    #[test]
    fn status_json_is_unchanged_by_the_enums() {
        let written = r#"{"desiredCount":2,"runningCount":2,"pendingCount":0,"observedGeneration":3,"deployments":[{"id":"ecs-svc/1","status":"INACTIVE","taskDefinition":"web:1","desiredCount":0,"runningCount":0,"pendingCount":0,"failedTasks":0,"rolloutState":"COMPLETED","rolloutStateReason":"ECS deployment completed.","createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:01:00Z","generation":1},{"id":"ecs-svc/2","status":"ACTIVE","taskDefinition":"web:2","desiredCount":0,"runningCount":0,"pendingCount":0,"failedTasks":3,"rolloutState":"FAILED","generation":2},{"id":"ecs-svc/3","status":"PRIMARY","taskDefinition":"web:1","desiredCount":2,"runningCount":2,"pendingCount":0,"failedTasks":0,"rolloutState":"IN_PROGRESS","generation":2,"rolledBackFrom":"ecs-svc/2"}],"conditions":[{"type":"SteadyState","status":"False","reason":"Reconciling","message":"","lastTransitionTime":"2026-01-01T00:02:00Z"}],"events":[]}"#;
        let st: ServiceStatus = serde_json::from_str(written).unwrap();
        assert_eq!(serde_json::to_string(&st).unwrap(), written);
        assert_eq!(st.primary().map(|d| d.id.as_str()), Some("ecs-svc/3"));
        assert!(!st.is_steady());
    }
}
