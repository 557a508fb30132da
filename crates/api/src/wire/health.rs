//! `GET /v1/health`: the API answers, with the store revision and the runtime's state.

use serde::{Deserialize, Serialize};

/// The answer of `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok`: the API answered.
    pub status: HealthStatus,
    /// The store's current revision (a watch from it sees only later writes).
    pub revision: u64,
    /// Whether the container engine answers.
    pub runtime: RuntimeHealth,
}

/// `ok`: the only state an answering API has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// The API answered.
    Ok,
}

/// The runtime's state: `"disabled"` (the server runs without controllers), or
/// `{"state": "available", "version"}` / `{"state": "unavailable", "reason"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RuntimeHealth {
    /// The server runs without a container runtime.
    Disabled(RuntimeDisabled),
    /// The server drives a runtime; whether it answered.
    Probed(EngineHealth),
}

/// The word `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeDisabled {
    /// No runtime.
    Disabled,
}

/// What the engine said when asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum EngineHealth {
    /// The engine answered.
    Available {
        /// Its version.
        version: String,
    },
    /// It did not (or with an error).
    Unavailable {
        /// Why, in words.
        reason: String,
    },
}
