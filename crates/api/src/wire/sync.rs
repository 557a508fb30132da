//! Directory sync (GitOps): `POST /v1/sync` (one sync now) and `GET /v1/syncs` (the status
//! of every synced directory).

use super::objects::{ApplyResult, ObjectRef};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The body of `POST /v1/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncRequest {
    /// The directory, an absolute path on the server's machine.
    pub dir: PathBuf,
    /// Compute everything, write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Delete the objects the directory owned and no longer holds (default true).
    #[serde(default = "yes")]
    pub prune: bool,
}

fn yes() -> bool {
    true
}

/// The answer of `POST /v1/sync`: what the sync did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncResponse {
    /// The directory.
    pub source: String,
    /// Content hash of the directory applied.
    pub revision: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Every object of the directory and what happened to it.
    pub applied: Vec<ApplyResult>,
    /// Pruned (or, with prune off, prunable but kept: see `prune_skipped`).
    pub pruned: Vec<ObjectRef>,
    /// Prune was off.
    pub prune_skipped: bool,
    /// `kind/name` of objects changed by hand since the last sync, restored by this one.
    pub drift: Vec<String>,
    /// Validation warnings.
    pub warnings: Vec<String>,
    /// Always empty in a 2xx answer (a failed sync answers with an [`super::ErrorBody`]).
    pub errors: Vec<String>,
}

/// The answer of `GET /v1/syncs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncList {
    /// One entry per synced directory.
    pub items: Vec<SyncStatus>,
}

/// Where a source stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncState {
    /// The store holds what the directory says (as of the last sync).
    Synced,
    /// The directory changed (or is being watched) and the change is not applied yet.
    OutOfSync,
    /// The last sync failed; the previous good state stays.
    Error,
}

impl SyncState {
    /// `Synced`, `OutOfSync` or `Error`, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::Synced => "Synced",
            SyncState::OutOfSync => "OutOfSync",
            SyncState::Error => "Error",
        }
    }
}

/// Counts of the last successful sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCounts {
    /// Objects created.
    pub created: usize,
    /// Objects changed.
    pub configured: usize,
    /// Objects already as the directory says.
    pub unchanged: usize,
}

/// The status of one synced directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// The directory.
    pub source: String,
    /// Content hash of the directory last applied.
    pub revision: Option<String>,
    /// RFC 3339 time of the last successful sync.
    pub last_applied_at: Option<String>,
    /// Where it stands.
    pub state: SyncState,
    /// `file:line:col: path: message` lines of the last failed sync.
    pub errors: Vec<String>,
    /// Objects the directory holds (as of the last good sync).
    pub objects: usize,
    /// Counts of the last good sync.
    pub applied: SyncCounts,
    /// `kind/name` pruned by the last sync.
    pub pruned: Vec<String>,
    /// `kind/name` changed by hand since the sync before, restored by the last one.
    pub drift: Vec<String>,
    /// Warnings of the last sync.
    pub warnings: Vec<String>,
    /// What happened to this source, newest first (bounded).
    pub events: Vec<SyncEvent>,
}

/// One thing that happened to a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncEvent {
    /// RFC 3339.
    pub at: String,
    /// What happened.
    pub message: String,
}
