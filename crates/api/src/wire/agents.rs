//! What agents send: registering a container instance, reporting an object's status, and
//! reading the value of a Secret a task of theirs needs.

use serde::{Deserialize, Serialize};

/// `POST /v1/instances`: register (or find again) a container instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterInstance {
    /// The instance's id, kept in the agent's data directory across restarts.
    pub id: String,
    /// Its cluster (`default` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// `PUT /v1/objects/{plural}/{name}/status`: the object's new status, written only if the
/// object is still at `resourceVersion` when one is given (409 otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusUpdate {
    pub status: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<u64>,
}

/// `GET /v1/secrets/{name}/value`: a Secret's value, resolved by the server (held in its
/// store, read from its files or its environment, as its operator allows).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretValue {
    pub value: String,
}

impl std::fmt::Debug for SecretValue {
    // Never print a value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretValue").finish_non_exhaustive()
    }
}
