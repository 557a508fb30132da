//! `GET /v1/watch?from=N`: one [`WatchEvent`] per line (newline-delimited JSON).

use crate::Object;
use serde::{Deserialize, Serialize};

/// What happened to the object of a [`WatchEvent`]. On the wire: `ADDED`, `MODIFIED`,
/// `DELETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WatchEventType {
    /// The object was created (for TaskDefinitions: a new revision).
    Added,
    /// The object's spec, labels or status changed.
    Modified,
    /// The object was deleted; the event carries its last stored state.
    Deleted,
}

/// One write, as a watch reports it. On the wire: `{"revision", "type", "object"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchEvent<O = Object> {
    /// The store revision of the write (unique, increasing by one per write).
    pub revision: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: WatchEventType,
    /// The object after the write (for a delete: before it).
    pub object: O,
}
