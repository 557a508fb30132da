//! `GET /v1/status`: this server's place in the control plane (`ecsctl status`).

use serde::{Deserialize, Serialize};

/// The answer of `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    /// This server's id.
    pub id: String,
    /// Whether this server's controllers act (`leader`) or wait for it to fail (`standby`).
    pub role: Role,
    /// The id of the server whose controllers act; `None` while nobody leads (an election
    /// under way).
    pub leader: Option<String>,
    /// Where the leader serves the API (its `--listen`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_address: Option<String>,
    /// Since when it leads (RFC 3339; the server's start on sled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_since: Option<String>,
    /// Where the state is kept, as `--store` says it: `sled`, or `etcd://HOST:PORT,...`.
    pub store: String,
    /// etcd's members (`HOST:PORT`); empty for sled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// The key prefix in etcd, or sled's directory.
    pub location: String,
    /// The store's current revision.
    pub revision: u64,
}

/// `leader` or `standby`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the controllers, the load balancers and the directory syncs.
    Leader,
    /// Serves the API; takes over when the leader's lease expires.
    Standby,
}

impl Role {
    /// `leader` or `standby`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Standby => "standby",
        }
    }
}
