//! Sync status per source, kept in memory and shown by `ecsctl get syncs`.

use crate::scan::Snapshot;
use crate::{SyncReport, fingerprint};
use api::ObjectKey;
use api::wire::ApplyAction;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// What `ecsctl get syncs` shows of a source is the API's answer itself (`api::wire`): one
/// definition, so a field added here reaches the API without a copy in between.
pub use api::wire::{SyncCounts as Counts, SyncEvent, SyncState, SyncStatus};

/// Events kept per source.
const MAX_SYNC_EVENTS: usize = 50;

/// A source's status and what its last good sync applied (to tell drift from a change of
/// the directory).
#[derive(Debug, Clone)]
struct Entry {
    status: SyncStatus,
    fingerprints: BTreeMap<ObjectKey, String>,
}

impl Entry {
    fn new(source: &str) -> Self {
        Entry {
            status: SyncStatus {
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
            },
            fingerprints: BTreeMap::new(),
        }
    }

    /// Adds an event unless the newest one already says the same.
    fn event(&mut self, message: String) {
        let events = &mut self.status.events;
        if events.first().is_some_and(|e| e.message == message) {
            return;
        }
        let at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        events.insert(0, SyncEvent { at, message });
        events.truncate(MAX_SYNC_EVENTS);
    }
}

/// The status of every source, shared by the syncers and the HTTP API.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    inner: Arc<Mutex<BTreeMap<String, Entry>>>,
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
    fn map(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lock_source(&self, source: &str) -> SourceLock {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        SourceLock(locks.entry(source.to_string()).or_default().clone())
    }

    /// Every source's status, ordered by source.
    pub fn list(&self) -> Vec<SyncStatus> {
        self.map().values().map(|e| e.status.clone()).collect()
    }

    /// One source's status.
    pub fn get(&self, source: &str) -> Option<SyncStatus> {
        self.map().get(source).map(|e| e.status.clone())
    }

    /// Makes a source known (state OutOfSync until its first sync).
    pub fn register(&self, source: &str) {
        self.map()
            .entry(source.to_string())
            .or_insert_with(|| Entry::new(source));
    }

    /// A change was seen and not applied yet.
    pub fn mark_out_of_sync(&self, source: &str) {
        let mut m = self.map();
        let e = m
            .entry(source.to_string())
            .or_insert_with(|| Entry::new(source));
        if e.status.state == SyncState::Synced {
            e.status.state = SyncState::OutOfSync;
        }
    }

    pub(crate) fn fingerprints(&self, source: &str) -> BTreeMap<ObjectKey, String> {
        self.map()
            .get(source)
            .map(|e| e.fingerprints.clone())
            .unwrap_or_default()
    }

    pub(crate) fn record_error(&self, source: &str, errors: Vec<String>) {
        let mut m = self.map();
        let e = m
            .entry(source.to_string())
            .or_insert_with(|| Entry::new(source));
        e.status.state = SyncState::Error;
        let first = errors.first().cloned().unwrap_or_default();
        let n = errors.len();
        e.event(format!(
            "sync of {source} failed ({n} error{}; nothing applied): {first}",
            if n == 1 { "" } else { "s" }
        ));
        e.status.errors = errors;
    }

    pub(crate) fn record_success(&self, snapshot: &Snapshot, report: &SyncReport) {
        let mut m = self.map();
        let entry = m
            .entry(snapshot.source.clone())
            .or_insert_with(|| Entry::new(&snapshot.source));
        let s = &mut entry.status;
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
                ApplyAction::Created => counts.created += 1,
                ApplyAction::Configured => counts.configured += 1,
                ApplyAction::Unchanged => counts.unchanged += 1,
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
            entry.event(message);
        }
        entry.fingerprints = snapshot
            .objects
            .iter()
            .map(|o| (o.key(), fingerprint(o)))
            .collect();
    }
}
