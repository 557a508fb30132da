//! `GET /v1/status`: this server's place in the control plane (`ecsctl status`).

use serde::{Deserialize, Serialize};

/// The answer of `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerStatus {
    /// This server's id (what the leader record names).
    pub id: String,
    /// Whether this server's controllers act (`leader`) or wait for it to fail (`standby`).
    pub role: Role,
    /// The server whose controllers act; `None` while nobody leads (an election under way).
    pub leader: Option<LeaderRecord>,
    /// Where the state is kept.
    pub store: StoreStatus,
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

/// Who leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderRecord {
    /// The leading server's id.
    pub id: String,
    /// Where it serves the API (its `--listen`).
    pub address: String,
    /// Since when it leads (RFC 3339).
    pub since: String,
}

/// The store behind the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreStatus {
    /// `sled` (embedded, one server) or `etcd` (shared by every server of the control plane).
    pub backend: String,
    /// etcd's members (`HOST:PORT`); empty for sled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// The key prefix in etcd, or sled's directory.
    pub location: String,
    /// The store's current revision.
    pub revision: u64,
}
