//! `POST /v1/apply?dryRun=`: decode, pass every object through the admission chain (the
//! same one GitOps syncs use) as the identity that asks, then apply them all in one store
//! transaction. Any refusal (one object the identity may not write: 403) means nothing is
//! written.

use super::{AppState, MAX_BODY, blocking, query};
use crate::error::ApiError;
use admission::access::Identity;
use api::Object;
use api::wire::{ApplyRequest, ApplyResponse};
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use store::{ApplyResult, Store};

#[derive(Debug, Deserialize)]
pub(crate) struct ApplyQuery {
    #[serde(rename = "dryRun", default)]
    dry_run: bool,
}

pub(crate) async fn apply(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    q: Result<Query<ApplyQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ApplyResponse>, ApiError> {
    let dry_run = query(q)?.dry_run;
    let body = body.map_err(body_error)?;
    let objects = decode(&body)?;
    let count = objects.len();
    let admission = state.admission.clone();
    let registered = state.registered.clone();
    let (results, warnings) = blocking(&state.store, move |s: &dyn Store| {
        let admitted = match admission.admit_apply_as(&who, s, objects) {
            Ok(admitted) => admitted,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let mut warnings = admitted.warnings;
        warnings.extend(admitted.ownership_warnings);
        let registers = admitted
            .objects
            .iter()
            .any(|o| o.kind == api::Kind::TaskDefinition);
        let results = s.apply_all(admitted.objects, dry_run)?;
        if registers && !dry_run {
            registered.notify_one();
        }
        Ok(Ok((results, warnings)))
    })
    .await?
    .map_err(ApiError::from)?;
    tracing::info!(count, dry_run, "applied");
    let results = results.iter().map(result_json).collect();
    Ok(Json(ApplyResponse { results, warnings }))
}

fn body_error(r: BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body is larger than {} MiB: apply fewer objects at a time",
                MAX_BODY >> 20
            ),
        )
    } else {
        ApiError::new(
            r.status(),
            format!("cannot read the request body: {}", r.body_text()),
        )
    }
}

/// What `POST /v1/apply` does before it touches the store: decode the body, refuse
/// system-owned kinds and validate every object. Returns the objects, or the 400 answer's
/// error and details. Pure, so that it can be fuzzed.
pub fn decode_apply_request(body: &[u8]) -> Result<Vec<Object>, (String, Vec<String>)> {
    let objects = decode(body).map_err(|e| (e.error, e.details))?;
    admission::validate_objects(&objects).map_err(|problems| {
        let e = ApiError::from(admission::Refusal::from_problems(problems));
        (e.error, e.details)
    })?;
    Ok(objects)
}

/// `{"objects": [Object...]}` -> objects; every object that does not decode is reported.
fn decode(body: &[u8]) -> Result<Vec<Object>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
    // Each object is decoded on its own below, so that every bad one is reported.
    let items = serde_json::from_value::<ApplyRequest<Value>>(value)
        .map_err(|_| ApiError::bad_request(r#"request body must be {"objects": [...]}"#))?
        .objects;
    let mut objects = Vec::with_capacity(items.len());
    let mut details = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<Object>(item) {
            Ok(obj) => objects.push(obj),
            Err(e) => details.push(format!("objects[{i}]: {e}")),
        }
    }
    if details.is_empty() {
        Ok(objects)
    } else {
        Err(ApiError::bad_request(format!(
            "{} object(s) cannot be decoded; nothing was applied",
            details.len()
        ))
        .with_details(details))
    }
}

/// `{"kind", "name", "cluster", "action", "revision"?}`; revision only for revisioned kinds.
fn result_json(r: &ApplyResult) -> api::wire::ApplyResult {
    api::wire::ApplyResult::new(&r.object, r.action)
}
