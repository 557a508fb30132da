//! What ecsctl records about one TaskDefinition revision besides its spec: ECS's lifecycle
//! (ACTIVE, then INACTIVE once deregistered, then DELETE_IN_PROGRESS once deleted while
//! still in use), who registered it, and when it was deregistered or its deletion asked.
//! A revision without a status (every one `ecsctl apply` writes) is ACTIVE.

use crate::object::Object;
use crate::state::wire_enum;
use serde::{Deserialize, Serialize};

wire_enum! {
    /// ECS's task definition states.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
    pub enum RevisionState {
        /// Registered: new tasks and services may use it.
        #[default]
        Active = "ACTIVE",
        /// Deregistered: what runs it keeps running (a service on it may scale), nothing
        /// new may start from it.
        Inactive = "INACTIVE",
        /// Deleted while something still uses it: removed once nothing does.
        DeleteInProgress = "DELETE_IN_PROGRESS",
    }
}

/// The status of a TaskDefinition revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionStatus {
    /// Its state.
    #[serde(default)]
    pub status: RevisionState,
    /// Who registered it (the ECS API's caller), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
    /// When it was deregistered (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistered_at: Option<String>,
    /// When its deletion was asked (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_requested_at: Option<String>,
}

/// The state of a stored TaskDefinition revision: ACTIVE unless its status says otherwise
/// (a status that does not decode counts as ACTIVE, as a revision without one does).
pub fn revision_state(revision: &Object) -> RevisionState {
    revision
        .status_as::<TaskDefinitionStatus>()
        .map(|s| s.status)
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Kind;
    use serde_json::json;

    #[test]
    fn no_status_is_active_and_states_read_back() {
        let mut td = Object::new(Kind::TaskDefinition, "web", json!({}));
        assert_eq!(revision_state(&td), RevisionState::Active);
        td.status = json!({"status": "INACTIVE", "deregisteredAt": "2024-01-01T00:00:00Z"});
        assert_eq!(revision_state(&td), RevisionState::Inactive);
        td.status = json!({"status": "DELETE_IN_PROGRESS"});
        assert_eq!(revision_state(&td), RevisionState::DeleteInProgress);
        let s = TaskDefinitionStatus {
            status: RevisionState::Inactive,
            registered_by: Some("ci".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"status": "INACTIVE", "registeredBy": "ci"})
        );
    }
}
