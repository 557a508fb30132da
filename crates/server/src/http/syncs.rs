//! Directory sync (GitOps): `GET /v1/syncs` (status per source) and `POST /v1/sync` (one
//! sync of a directory now; what `ecsctl sync DIR` calls).

use super::{AppState, blocking};
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use store::StoreError;

pub(crate) async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "items": state.syncs.list() }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SyncBody {
    dir: PathBuf,
    #[serde(default)]
    dry_run: bool,
    #[serde(default = "yes")]
    prune: bool,
}

fn yes() -> bool {
    true
}

pub(crate) async fn sync(
    State(state): State<AppState>,
    body: Result<Json<SyncBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body
        .map_err(|e| ApiError::bad_request(format!("invalid sync request: {}", e.body_text())))?;
    if !body.dir.is_absolute() {
        return Err(ApiError::bad_request(format!(
            "dir must be an absolute path, got {}",
            body.dir.display()
        )));
    }
    let req = gitops::SyncRequest {
        dry_run: body.dry_run,
        prune: body.prune,
    };
    let board = state.syncs.clone();
    let admission = state.admission.clone();
    let dir = body.dir;
    let outcome = blocking(&state.store, move |s| {
        Ok(gitops::sync_once(s, &admission, &dir, req, Some(&board)))
    })
    .await?;
    match outcome {
        Ok(report) => {
            let pruned: Vec<Value> = report
                .pruned
                .iter()
                .map(|k| json!({"kind": k.kind, "name": k.name, "cluster": k.cluster}))
                .collect();
            Ok(Json(json!({
                "source": report.source,
                "revision": report.revision,
                "dryRun": report.dry_run,
                "applied": report.applied,
                "pruned": pruned,
                "pruneSkipped": report.prune_skipped,
                "drift": report.drift,
                "warnings": report.warnings,
                "errors": [],
            })))
        }
        Err(gitops::SyncError::Store { source, .. }) => Err(ApiError::from(source)),
        Err(e @ (gitops::SyncError::Invalid { .. } | gitops::SyncError::Refused { .. })) => {
            Err(ApiError::bad_request(e.to_string()).with_details(e.lines()))
        }
        Err(e) => Err(ApiError::from(StoreError::Backend(e.to_string()))),
    }
}
