//! Deployment: the system-owned record of one rollout of a service. The service controller
//! keeps the summaries in the service's status and mirrors each as a Deployment object
//! (spec below, the summary as its status) so that `ecsctl get deployments` lists them.

use crate::state::wire_enum;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

wire_enum! {
    /// Where a deployment stands among its service's deployments, in ECS's words.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    pub enum DeploymentStatus {
        /// The deployment the service converges to; there is at most one.
        Primary = "PRIMARY",
        /// An earlier deployment whose tasks are still being replaced.
        Active = "ACTIVE",
        /// An earlier deployment with no tasks left.
        Inactive = "INACTIVE",
        /// A word this release does not know (a newer server wrote it), kept readable so the
        /// rest of the status still is. Written as "".
        #[serde(other)]
        Unknown = "",
    }
}

impl DeploymentStatus {
    /// The deployment the service converges to.
    pub fn is_primary(self) -> bool {
        self == DeploymentStatus::Primary
    }

    /// An earlier deployment that still has tasks to replace.
    pub fn is_active(self) -> bool {
        self == DeploymentStatus::Active
    }
}

wire_enum! {
    /// How a deployment's rollout went, in ECS's words.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    pub enum RolloutState {
        /// Tasks of the deployment are still being started (or old ones stopped).
        InProgress = "IN_PROGRESS",
        /// Every desired task of the deployment ran healthy and nothing else was left.
        Completed = "COMPLETED",
        /// The circuit breaker stopped the deployment.
        Failed = "FAILED",
        /// A word this release does not know (a newer server wrote it). Written as "".
        #[serde(other)]
        Unknown = "",
    }
}

impl RolloutState {
    /// Still rolling out.
    pub fn is_in_progress(self) -> bool {
        self == RolloutState::InProgress
    }

    /// Rolled out completely.
    pub fn is_completed(self) -> bool {
        self == RolloutState::Completed
    }

    /// Stopped by the circuit breaker.
    pub fn is_failed(self) -> bool {
        self == RolloutState::Failed
    }

    /// Finished, one way or the other: nothing more happens to the rollout.
    pub fn is_terminal(self) -> bool {
        matches!(self, RolloutState::Completed | RolloutState::Failed)
    }
}

/// One deployment of a service, as its status lists it (and as the Deployment object's
/// status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSummary {
    /// `ecs-svc/` and a number, as ECS names deployments.
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: DeploymentStatus,
    pub task_definition: String,
    pub desired_count: u32,
    pub running_count: u32,
    #[serde(default)]
    pub pending_count: u32,
    pub failed_tasks: u32,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: RolloutState,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rollout_state_reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub updated_at: String,
    /// The service generation this deployment was made for.
    #[serde(default)]
    pub generation: u64,
    /// Set on a deployment that restores an earlier one after a failure.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rolled_back_from: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_ecs_words_on_the_wire() {
        for s in DeploymentStatus::ALL {
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json, s.as_str());
            assert_eq!(
                serde_json::from_value::<DeploymentStatus>(json).unwrap(),
                *s
            );
        }
        for s in RolloutState::ALL {
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json, s.as_str());
            assert_eq!(serde_json::from_value::<RolloutState>(json).unwrap(), *s);
        }
        let newer: RolloutState = serde_json::from_value("PAUSED".into()).unwrap();
        assert_eq!(newer, RolloutState::Unknown);
        assert!(RolloutState::Failed.is_terminal() && !RolloutState::InProgress.is_terminal());
    }
}
