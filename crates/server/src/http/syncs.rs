//! Directory sync (GitOps): `GET /v1/syncs` (status per source) and `POST /v1/sync` (one
//! sync of a directory now; what `ecsctl sync DIR` calls): only a watched directory or one
//! below a sync root (`gitops::SyncRoots`), checked before anything is read.

use super::{AppState, blocking};
use crate::error::ApiError;
use admission::access::{self, Action, Identity};
use api::wire::{self, SyncList, SyncResponse};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::{Extension, Json};
use store::StoreError;

/// Every directory's status (they span clusters: admins, and identities of every cluster).
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> Result<Json<SyncList>, ApiError> {
    access::authorize(&who, &Action::SyncStatus)?;
    let items = state.syncs.list();
    Ok(Json(SyncList { items }))
}

/// One sync now, by an admin only: it acts as the server itself (every cluster, Clusters
/// included).
pub(crate) async fn sync(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Result<Json<wire::SyncRequest>, JsonRejection>,
) -> Result<Json<SyncResponse>, ApiError> {
    access::authorize(&who, &Action::Sync)?;
    let Json(body) = body
        .map_err(|e| ApiError::bad_request(format!("invalid sync request: {}", e.body_text())))?;
    // Before anything is read: only watched directories and those below --sync-root.
    let dir = state.sync_roots.check(&body.dir).map_err(|e| match e {
        gitops::RootError::Refused { .. } => {
            ApiError::new(axum::http::StatusCode::FORBIDDEN, e.to_string())
        }
        gitops::RootError::Invalid { .. } => ApiError::bad_request(e.to_string()),
    })?;
    let req = gitops::SyncRequest {
        dry_run: body.dry_run,
        prune: body.prune,
    };
    let board = state.syncs.clone();
    let admission = state.admission.clone();
    let outcome = blocking(&state.store, move |s| {
        Ok(gitops::sync_once(s, &admission, &dir, req, Some(&board)))
    })
    .await?;
    match outcome {
        Ok(report) => Ok(Json(report_body(report))),
        Err(gitops::SyncError::Store { source, .. }) => Err(ApiError::from(source)),
        Err(e @ (gitops::SyncError::Invalid { .. } | gitops::SyncError::Refused { .. })) => {
            Err(ApiError::bad_request(e.to_string()).with_details(e.lines()))
        }
        Err(e) => Err(ApiError::from(StoreError::Backend(e.to_string()))),
    }
}

/// What one sync did, as the API answers it.
fn report_body(report: gitops::SyncReport) -> SyncResponse {
    SyncResponse {
        source: report.source,
        revision: report.revision,
        dry_run: report.dry_run,
        applied: report.applied,
        pruned: report
            .pruned
            .into_iter()
            .map(wire::ObjectRef::from)
            .collect(),
        prune_skipped: report.prune_skipped,
        drift: report.drift,
        warnings: report.warnings,
        errors: Vec::new(),
    }
}
