//! `GET /v1/metrics/{services|tasks}?cluster=C`: the latest measured CPU, memory and request
//! rates (`ecsctl top`), `{"items": [...]}` in camelCase; every cluster the identity reads
//! without `cluster`.

use super::AppState;
use crate::error::ApiError;
use admission::access::{self, Action, Identity, Verb};
use api::wire::{MetricsList, ServiceMetricValues, ServiceMetrics, TaskMetrics};
use axum::Extension;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Json;
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
    Extension(who): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
    Query(q): Query<MetricsQuery>,
) -> Result<axum::response::Response, ApiError> {
    let which = super::path_param(path)?;
    let Some(rt) = state.runtime.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are measured by the controllers: this server runs without them",
        ));
    };
    let cluster = q.cluster.as_deref().filter(|c| !c.is_empty());
    // Services' and tasks' measurements are read like the objects: in the identity's
    // clusters only.
    let kind = match which.as_str() {
        "services" => api::Kind::Service,
        _ => api::Kind::Task,
    };
    access::authorize_list(&who, kind, cluster)?;
    let wanted = |c: &str| {
        cluster.is_none_or(|x| x == c)
            && access::authorize(&who, &Action::on(Verb::Read, kind, Some(c), "")).is_ok()
    };
    match which.as_str() {
        "services" => {
            let items: Vec<ServiceMetrics> = rt
                .metrics
                .services()
                .into_iter()
                .filter(|m| wanted(&m.cluster))
                .map(|m| service_body(&m))
                .collect();
            Ok(Json(MetricsList { items }).into_response())
        }
        "tasks" => {
            let items: Vec<TaskMetrics> = rt
                .metrics
                .tasks()
                .into_iter()
                .filter(|m| wanted(&m.cluster))
                .map(|m| TaskMetrics {
                    cluster: m.cluster,
                    service: m.service,
                    task: m.task,
                    cpu_percent: m.cpu_percent,
                    memory_percent: m.memory_percent,
                    at: rfc3339(m.at),
                })
                .collect();
            Ok(Json(MetricsList { items }).into_response())
        }
        other => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("unknown metrics {other:?}: expected services or tasks"),
        )),
    }
}

/// One service's latest metrics, as the API answers them.
fn service_body(m: &controllers::metrics::ServiceMetrics) -> ServiceMetrics {
    ServiceMetrics {
        cluster: m.cluster.clone(),
        service: m.service.clone(),
        values: ServiceMetricValues {
            tasks: m.tasks,
            cpu_percent: m.cpu_percent,
            memory_percent: m.memory_percent,
            requests_per_target_per_sec: m.requests_per_target_per_sec,
            at: m.at.map(rfc3339),
        },
    }
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
        let values = serde_json::to_value(service_body(&m).values).unwrap_or_default();
        status.insert("metrics".to_string(), values);
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
