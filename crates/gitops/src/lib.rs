//! Directory sync (GitOps): a directory of manifests is the desired state.
//!
//! [`scan`] reads the whole directory into a [`Snapshot`] (every object annotated with
//! `ecsctl.dev/source` and `ecsctl.dev/source-file`), [`plan_sync`] decides what to apply and
//! what to prune, [`sync_once`] does it against a [`Store`] (all objects in one
//! `apply_all`: nothing is written when any file is bad), and [`Syncer`] runs it on every
//! change (notify watcher, debounced) and periodically (drift repair).
//!
//! Only this crate names notify.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod plan;
mod roots;
mod scan;
mod status;
mod syncer;

pub use plan::{SyncPlan, owned_by, plan_sync};
pub use roots::{RootError, SyncRoots, normalize};
pub use scan::{MAX_FILE_BYTES, Snapshot, scan, source_name};
pub use status::{StatusBoard, SyncState, SyncStatus};
pub use syncer::{SyncOptions, Syncer};

use admission::{Admission, Refusal};
use api::{Diagnostic, Kind, Object, ObjectKey};
use serde::Serialize;
use std::path::Path;
use store::{ApplyAction, ListQuery, Store, StoreError};

/// Annotation naming the directory an object was applied from.
pub const SOURCE_ANNOTATION: &str = "ecsctl.dev/source";
/// Annotation naming the file (relative to the directory) an object was applied from.
pub const SOURCE_FILE_ANNOTATION: &str = "ecsctl.dev/source-file";

/// Why a sync did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A file is missing, unreadable or invalid: nothing was written.
    #[error("{} problem(s) in {dir}; nothing was applied", .diagnostics.len())]
    Invalid {
        /// The directory.
        dir: String,
        /// Every problem, `file:line:col: path: message` when displayed.
        diagnostics: Vec<Diagnostic>,
    },
    /// The admission chain refused an object: nothing was written.
    #[error("{dir}: {headline}")]
    Refused {
        /// The directory.
        dir: String,
        /// The refusal's one line.
        headline: String,
        /// `file: kind/name: why` per refused object.
        lines: Vec<String>,
    },
    /// The store refused or failed.
    #[error("syncing {dir}: {source}")]
    Store {
        /// The directory.
        dir: String,
        /// The store error.
        source: StoreError,
    },
    /// The directory cannot be watched.
    #[error("cannot watch {dir}: {source}")]
    Watch {
        /// The directory.
        dir: String,
        /// notify's error.
        source: notify::Error,
    },
}

impl SyncError {
    /// The lines to report: one per diagnostic, or the error itself.
    pub fn lines(&self) -> Vec<String> {
        match self {
            SyncError::Invalid { diagnostics, .. } => {
                diagnostics.iter().map(ToString::to_string).collect()
            }
            SyncError::Refused { lines, .. } => lines.clone(),
            other => vec![other.to_string()],
        }
    }
}

/// One object of a sync and what happened to it: an apply's result, as the API answers it.
pub type Applied = api::wire::ApplyResult;

/// What one sync did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub source: String,
    pub revision: String,
    pub dry_run: bool,
    pub applied: Vec<Applied>,
    /// Pruned (or, with prune off, prunable but kept: see `prune_skipped`).
    pub pruned: Vec<ObjectKey>,
    pub prune_skipped: bool,
    /// `kind/name` of objects changed by hand since the last sync, restored by this one.
    pub drift: Vec<String>,
    pub warnings: Vec<String>,
}

/// What `sync_once` is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncRequest {
    /// Compute everything, write nothing.
    pub dry_run: bool,
    /// Delete the objects the directory owned and no longer holds.
    pub prune: bool,
}

impl Default for SyncRequest {
    fn default() -> Self {
        SyncRequest {
            dry_run: false,
            prune: true,
        }
    }
}

/// Every stored object a sync may touch: every kind but Deployment, every cluster.
pub fn live_objects(store: &dyn Store) -> Result<Vec<Object>, StoreError> {
    let mut out = Vec::new();
    for kind in Kind::ALL.into_iter().filter(|k| k.is_user_writable()) {
        out.extend(store.list(&ListQuery::new(kind))?.items);
    }
    Ok(out)
}

/// One sync of `dir` into `store`, recorded in `board` (unless dry). Blocking: run it on a
/// blocking thread from async code.
pub fn sync_once(
    store: &dyn Store,
    admission: &Admission,
    dir: &Path,
    req: SyncRequest,
    board: Option<&StatusBoard>,
) -> Result<SyncReport, SyncError> {
    let source = source_name(dir);
    let lock = board.map(|b| b.lock_source(&source));
    let _serial = lock.as_ref().map(|l| l.guard());
    let record_err = |e: &SyncError| {
        if let Some(b) = board.filter(|_| !req.dry_run) {
            b.record_error(&source, e.lines());
        }
        for line in e.lines() {
            tracing::error!(source = %source, "sync failed: {line}");
        }
    };
    let snapshot = match scan(dir) {
        Ok(s) => s,
        Err(diagnostics) => {
            let e = SyncError::Invalid {
                dir: source.clone(),
                diagnostics,
            };
            record_err(&e);
            return Err(e);
        }
    };
    let result = apply_snapshot(store, admission, &snapshot, req, board);
    match result {
        Ok(report) => {
            if let Some(b) = board.filter(|_| !req.dry_run) {
                b.record_success(&snapshot, &report);
            }
            if !req.dry_run {
                let changed = report
                    .applied
                    .iter()
                    .filter(|a| a.action != ApplyAction::Unchanged)
                    .count();
                if changed > 0 || !report.pruned.is_empty() || !report.drift.is_empty() {
                    tracing::info!(source = %source, revision = %report.revision, changed,
                        pruned = report.pruned.len(), drift = ?report.drift, "synced");
                } else {
                    tracing::debug!(source = %source, revision = %report.revision, "in sync");
                }
            }
            Ok(report)
        }
        Err(refusal) => {
            let e = match refusal {
                Refusal::Store(source_err) => SyncError::Store {
                    dir: source.clone(),
                    source: source_err,
                },
                Refusal::Refused { headline, problems } => SyncError::Refused {
                    dir: source.clone(),
                    headline,
                    lines: problems
                        .iter()
                        .map(|p| format!("{}: {p}", snapshot.file_of(&p.object)))
                        .collect(),
                },
            };
            record_err(&e);
            Err(e)
        }
    }
}

fn apply_snapshot(
    store: &dyn Store,
    admission: &Admission,
    snapshot: &Snapshot,
    req: SyncRequest,
    board: Option<&StatusBoard>,
) -> Result<SyncReport, Refusal> {
    let live = live_objects(store)?;
    let plan = plan_sync(snapshot, &live);
    let fingerprints: Vec<(ObjectKey, String)> = plan
        .apply
        .iter()
        .map(|o| (o.key(), fingerprint(o)))
        .collect();
    let admitted = admission.admit_apply(store, plan.apply)?;
    // Validation's warnings were reported by the scan already, with their lines.
    let mut warnings = snapshot.warnings.clone();
    warnings.extend(admitted.ownership_warnings);
    let results = store.apply_all(admitted.objects, req.dry_run)?;
    let previous = board.map(|b| b.fingerprints(&snapshot.source));
    let mut drift = Vec::new();
    let mut applied = Vec::with_capacity(results.len());
    for (r, (key, fp)) in results.iter().zip(&fingerprints) {
        let o = &r.object;
        if r.action == ApplyAction::Configured
            && previous
                .as_ref()
                .and_then(|p| p.get(key))
                .is_some_and(|old| old == fp)
        {
            drift.push(format!(
                "{}/{}",
                o.kind.as_str().to_ascii_lowercase(),
                o.metadata.name
            ));
        }
        applied.push(Applied {
            kind: o.kind,
            name: o.metadata.name.clone(),
            cluster: o.metadata.cluster.clone(),
            action: r.action,
            revision: o.metadata.revision.filter(|_| o.kind.is_revisioned()),
        });
    }
    let mut pruned = Vec::new();
    for key in plan.prune {
        if let Err(refused) = admission.admit_delete(&key) {
            warnings.push(format!(
                "{}/{} is no longer in {} but is kept: {refused}",
                key.kind.as_str().to_ascii_lowercase(),
                key.name,
                snapshot.source
            ));
            continue;
        }
        if !req.prune || req.dry_run {
            pruned.push(key);
            continue;
        }
        match store.delete(&key) {
            Ok(_) | Err(StoreError::NotFound(_)) => pruned.push(key),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(SyncReport {
        source: snapshot.source.clone(),
        revision: snapshot.revision.clone(),
        dry_run: req.dry_run,
        applied,
        pruned,
        prune_skipped: !req.prune,
        drift,
        warnings,
    })
}

/// What the directory said about an object, to tell a change of the file from a change by hand.
fn fingerprint(o: &Object) -> String {
    serde_json::to_string(&(&o.spec, &o.metadata.labels, &o.metadata.annotations))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
