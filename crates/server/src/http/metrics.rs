//! `GET /v1/metrics/{services|tasks}?cluster=C`: the latest measured CPU, memory and request
//! rates (`ecsctl top`), `{"items": [...]}` in camelCase; every cluster without `cluster`.

use super::AppState;
use crate::error::ApiError;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Json;
use controllers::metrics::ServiceMetrics;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Deserialize)]
pub(crate) struct MetricsQuery {
    cluster: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Query(q): Query<MetricsQuery>,
) -> Result<Json<Value>, ApiError> {
    let which = path
        .map(|Path(p)| p)
        .map_err(|e| ApiError::bad_request(format!("invalid path: {}", e.body_text())))?;
    let Some(rt) = state.runtime.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are measured by the controllers: this server runs without them",
        ));
    };
    let cluster = q.cluster.as_deref().filter(|c| !c.is_empty());
    let wanted = |c: &str| cluster.is_none_or(|x| x == c);
    let items: Vec<Value> = match which.as_str() {
        "services" => rt
            .metrics
            .services()
            .into_iter()
            .filter(|m| wanted(&m.cluster))
            .map(|m| service_json(&m))
            .collect(),
        "tasks" => rt
            .metrics
            .tasks()
            .into_iter()
            .filter(|m| wanted(&m.cluster))
            .map(|m| {
                json!({
                    "cluster": m.cluster,
                    "service": m.service,
                    "task": m.task,
                    "cpuPercent": m.cpu_percent,
                    "memoryPercent": m.memory_percent,
                    "at": rfc3339(m.at),
                })
            })
            .collect(),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("unknown metrics {other:?}: expected services or tasks"),
            ));
        }
    };
    Ok(Json(json!({ "items": items })))
}

/// One service's latest metrics, camelCase.
pub(crate) fn service_json(m: &ServiceMetrics) -> Value {
    json!({
        "cluster": m.cluster,
        "service": m.service,
        "tasks": m.tasks,
        "cpuPercent": m.cpu_percent,
        "memoryPercent": m.memory_percent,
        "requestsPerTargetPerSec": m.requests_per_target_per_sec,
        "at": m.at.map(rfc3339),
    })
}

/// `status.metrics` of a Service as `get service -o json` shows it: the latest measured
/// values, when there are any.
pub(crate) fn add_to_service(state: &AppState, obj: &mut api::Object) {
    let Some(rt) = state.runtime.as_ref() else {
        return;
    };
    if obj.kind != api::Kind::Service {
        return;
    }
    let cluster = obj.metadata.cluster_or_default().to_string();
    let Some(m) = rt
        .metrics
        .services()
        .into_iter()
        .find(|m| m.cluster == cluster && m.service == obj.metadata.name)
    else {
        return;
    };
    if obj.status.is_null() {
        obj.status = json!({});
    }
    if let Value::Object(status) = &mut obj.status {
        let mut v = service_json(&m);
        if let Value::Object(fields) = &mut v {
            fields.remove("cluster");
            fields.remove("service");
        }
        status.insert("metrics".to_string(), v);
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
