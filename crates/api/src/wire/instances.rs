//! `PUT /v1/instances/{id}/state?cluster=`: drain or undrain a container instance
//! (`ecsctl drain`, `ecsctl undrain`).

use crate::Object;
use crate::instance::InstanceStatus;
use serde::{Deserialize, Serialize};

/// The state asked for: `{"status": "DRAINING"}` or `{"status": "ACTIVE"}` (any other word
/// is refused, 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceStateRequest {
    pub status: InstanceStatus,
}

/// The answer: the instance as stored now, and whether this request changed it (`false`:
/// it was in that state already).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStateResponse<O = Object> {
    pub instance: O,
    pub changed: bool,
}
