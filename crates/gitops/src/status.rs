//! Sync status per source, kept in memory and shown by `ecsctl get syncs`.

use crate::scan::Snapshot;
use crate::{SyncReport, fingerprint};
use api::ObjectKey;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Where a source stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SyncState {
    /// The store holds what the directory says (as of the last sync).
    Synced,
    /// The directory changed (or is being watched) and the change is not applied yet.
    OutOfSync,
    /// The last sync failed; the previous good state stays.
    Error,
}

/// Counts of the last successful sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: usize,
    pub configured: usize,
    pub unchanged: usize,
}

/// The status of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub source: String,
    /// Content hash of the directory last applied.
    pub revision: Option<String>,
    /// RFC 3339 time of the last successful sync.
    pub last_applied_at: Option<String>,
    pub state: SyncState,
    /// `file:line:col: path: message` lines of the last failed sync.
    pub errors: Vec<String>,
    /// Objects the directory holds (as of the last good sync).
    pub objects: usize,
    pub applied: Counts,
    /// `kind/name` pruned by the last sync.
    pub pruned: Vec<String>,
    /// `kind/name` changed by hand since the sync before, restored by the last one.
    pub drift: Vec<String>,
    pub warnings: Vec<String>,
    /// What happened to this source, newest first (bounded): failed syncs with their first
    /// error, syncs that changed something. `ecsctl events` shows them.
    pub events: Vec<SyncEvent>,
    #[serde(skip)]
    fingerprints: BTreeMap<ObjectKey, String>,
}

/// One thing that happened to a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncEvent {
    pub at: String,
    pub message: String,
}

/// Events kept per source.
const MAX_SYNC_EVENTS: usize = 50;

impl SyncStatus {
    /// Adds an event unless the newest one already says the same.
    fn event(&mut self, message: String) {
        if self.events.first().is_some_and(|e| e.message == message) {
            return;
        }
        let at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        self.events.insert(0, SyncEvent { at, message });
        self.events.truncate(MAX_SYNC_EVENTS);
    }
}

impl SyncStatus {
    fn new(source: &str) -> Self {
        SyncStatus {
            source: source.to_string(),
            revision: None,
            last_applied_at: None,
            state: SyncState::OutOfSync,
            errors: Vec::new(),
            events: Vec::new(),
            objects: 0,
            applied: Counts::default(),
            pruned: Vec::new(),
            drift: Vec::new(),
            warnings: Vec::new(),
            fingerprints: BTreeMap::new(),
        }
    }
}

/// The status of every source, shared by the syncers and the HTTP API.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    inner: Arc<Mutex<BTreeMap<String, SyncStatus>>>,
    /// One sync at a time per source (watcher, resync and `POST /v1/sync`).
    locks: Arc<Mutex<BTreeMap<String, Arc<Mutex<()>>>>>,
}

/// Holds a source's sync lock.
#[derive(Debug)]
pub(crate) struct SourceLock(Arc<Mutex<()>>);

impl SourceLock {
    pub(crate) fn guard(&self) -> MutexGuard<'_, ()> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl StatusBoard {
    fn map(&self) -> MutexGuard<'_, BTreeMap<String, SyncStatus>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lock_source(&self, source: &str) -> SourceLock {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        SourceLock(locks.entry(source.to_string()).or_default().clone())
    }

    /// Every source's status, ordered by source.
    pub fn list(&self) -> Vec<SyncStatus> {
        self.map().values().cloned().collect()
    }

    /// One source's status.
    pub fn get(&self, source: &str) -> Option<SyncStatus> {
        self.map().get(source).cloned()
    }

    /// Makes a source known (state OutOfSync until its first sync).
    pub fn register(&self, source: &str) {
        self.map()
            .entry(source.to_string())
            .or_insert_with(|| SyncStatus::new(source));
    }

    /// A change was seen and not applied yet.
    pub fn mark_out_of_sync(&self, source: &str) {
        let mut m = self.map();
        let s = m
            .entry(source.to_string())
            .or_insert_with(|| SyncStatus::new(source));
        if s.state == SyncState::Synced {
            s.state = SyncState::OutOfSync;
        }
    }

    pub(crate) fn fingerprints(&self, source: &str) -> BTreeMap<ObjectKey, String> {
        self.map()
            .get(source)
            .map(|s| s.fingerprints.clone())
            .unwrap_or_default()
    }

    pub(crate) fn record_error(&self, source: &str, errors: Vec<String>) {
        let mut m = self.map();
        let s = m
            .entry(source.to_string())
            .or_insert_with(|| SyncStatus::new(source));
        s.state = SyncState::Error;
        let first = errors.first().cloned().unwrap_or_default();
        let n = errors.len();
        s.event(format!(
            "sync of {source} failed ({n} error{}; nothing applied): {first}",
            if n == 1 { "" } else { "s" }
        ));
        s.errors = errors;
    }

    pub(crate) fn record_success(&self, snapshot: &Snapshot, report: &SyncReport) {
        let mut m = self.map();
        let s = m
            .entry(snapshot.source.clone())
            .or_insert_with(|| SyncStatus::new(&snapshot.source));
        s.state = SyncState::Synced;
        s.errors.clear();
        s.revision = Some(report.revision.clone());
        s.last_applied_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .ok();
        s.objects = snapshot.objects.len();
        let mut counts = Counts::default();
        for a in &report.applied {
            match a.action {
                "created" => counts.created += 1,
                "configured" => counts.configured += 1,
                _ => counts.unchanged += 1,
            }
        }
        s.applied = counts.clone();
        s.pruned = if report.prune_skipped {
            Vec::new()
        } else {
            report
                .pruned
                .iter()
                .map(|k| format!("{}/{}", k.kind.as_str().to_ascii_lowercase(), k.name))
                .collect()
        };
        s.drift = report.drift.clone();
        s.warnings = report.warnings.clone();
        let changed = counts.created + counts.configured + s.pruned.len() + s.drift.len();
        if changed > 0 {
            let message = format!(
                "synced {} at revision {}: {} created, {} configured, {} pruned, {} drifted objects restored",
                snapshot.source,
                report.revision,
                counts.created,
                counts.configured,
                s.pruned.len(),
                s.drift.len()
            );
            s.event(message);
        }
        s.fingerprints = snapshot
            .objects
            .iter()
            .map(|o| (o.key(), fingerprint(o)))
            .collect();
    }
}
