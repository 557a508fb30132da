//! `GET /v1/metrics/{services|tasks}?cluster=C`: the latest measured CPU, memory and request
//! rates (`ecsctl top`), `{"items": [...]}` in camelCase; every cluster the identity reads
//! without `cluster`; `GET /v1/metrics/services/{name}/series?cluster=C&since=D`: one
//! service's series (the console's charts).

use super::{AppState, blocking, path_param, query};
use crate::error::ApiError;
use admission::access::{self, Action, Identity, Verb};
use api::wire::{
    MetricsList, SeriesPoint, ServiceMetricValues, ServiceMetrics, ServiceSeries, TaskMetrics,
};
use axum::Extension;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Json;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use store::{Store, StoreError};
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

/// How far back a series goes without `since`: all the server keeps.
const DEFAULT_SINCE: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize)]
pub(crate) struct SeriesQuery {
    cluster: Option<String>,
    since: Option<String>,
}

/// `GET /v1/metrics/services/{name}/series`: read like the service itself (a viewer may in
/// its clusters); 404 for a service that does not exist, 400 for a `since` that is no
/// positive duration.
#[tracing::instrument(skip_all, fields(service = tracing::field::Empty))]
pub(crate) async fn series(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<SeriesQuery>, QueryRejection>,
) -> Result<Json<ServiceSeries>, ApiError> {
    let name = path_param(path)?;
    tracing::Span::current().record("service", name.as_str());
    let q = query(q)?;
    let since = match q.since.as_deref() {
        None => DEFAULT_SINCE,
        Some(s) => parse_since(s)?,
    };
    let cluster = q.cluster.as_deref().filter(|c| !c.is_empty());
    let key = api::ObjectKey::new(api::Kind::Service, cluster, &name);
    access::authorize(&who, &Action::key(Verb::Read, &key))?;
    let Some(rt) = state.runtime.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are measured by the controllers: this server runs without them",
        ));
    };
    let found = blocking(&state.store, {
        let key = key.clone();
        move |s: &dyn Store| s.get(&key)
    })
    .await?;
    if found.is_none() {
        return Err(StoreError::NotFound(key).into());
    }
    let cluster = key.cluster.clone().unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let points = rt
        .metrics
        .service_series(&cluster, &name, since, now)
        .into_iter()
        .map(|p| SeriesPoint {
            at: rfc3339(p.at),
            cpu_percent: p.cpu_percent,
            memory_percent: p.memory_percent,
            requests_per_target_per_sec: p.requests_per_target_per_sec,
        })
        .collect();
    let from = now
        .checked_sub(time::Duration::try_from(since).unwrap_or(time::Duration::MAX))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Ok(Json(ServiceSeries {
        cluster,
        service: name,
        resolution_seconds: rt.metrics.resolution().as_secs_f64(),
        from: rfc3339(from),
        to: rfc3339(now),
        points,
    }))
}

/// `since`: a positive duration such as `90s`, `10m` or `1h`.
fn parse_since(s: &str) -> Result<Duration, ApiError> {
    match humantime::parse_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(ApiError::bad_request(format!(
            "invalid since {s:?}: it must be more than 0"
        ))),
        Err(e) => Err(ApiError::bad_request(format!(
            "invalid since {s:?}: {e} (expected e.g. 90s, 10m or 1h)"
        ))),
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

#[cfg(test)]
mod tests {
    use super::super::TaskRuntime;
    use super::*;
    use admission::access::{Role, Scope};
    use std::sync::Arc;
    use store::SledStore;

    struct Fixture {
        _dir: tempfile::TempDir,
        state: AppState,
        metrics: controllers::metrics::Metrics,
        _stop: tokio::sync::watch::Sender<bool>,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
        for cluster in ["shop", "other"] {
            let mut o = api::Object::new(api::Kind::Service, "web", json!({}));
            o.metadata.cluster = Some(cluster.into());
            store.apply(o).unwrap();
        }
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let metrics =
            controllers::metrics::Metrics::new(Duration::from_secs(10), Duration::from_secs(3600));
        let state = AppState {
            store: store::AsyncStore::new(store),
            shutdown,
            identities: None,
            syncs: gitops::StatusBoard::default(),
            admission: Arc::default(),
            registered: Arc::default(),
            sync_roots: Arc::default(),
            secrets: controllers::task::secrets::SecretReader::by_server(),
            control: crate::leadership::ControlPlane::alone("test"),
            runtime: Some(TaskRuntime {
                balancer: lb::LbManager::new(),
                runtime: Arc::new(runtime::FakeRuntime::with_images(["busybox"])),
                instance: "i1".to_string(),
                metrics: metrics.clone(),
            }),
        };
        Fixture {
            _dir: dir,
            state,
            metrics,
            _stop: stop,
        }
    }

    fn viewer_of(cluster: &str) -> Identity {
        Identity {
            name: "tokens:1".into(),
            role: Role::Viewer,
            clusters: Scope::Clusters([cluster.to_string()].into()),
            principal: "token:v".into(),
        }
    }

    async fn ask(
        f: &Fixture,
        who: Identity,
        name: &str,
        cluster: &str,
        since: Option<&str>,
    ) -> Result<ServiceSeries, ApiError> {
        let q = SeriesQuery {
            cluster: Some(cluster.into()),
            since: since.map(str::to_string),
        };
        series(
            State(f.state.clone()),
            Extension(who),
            Ok(Path(name.to_string())),
            Ok(Query(q)),
        )
        .await
        .map(|Json(s)| s)
    }

    fn status(r: Result<ServiceSeries, ApiError>) -> StatusCode {
        r.map(|_| StatusCode::OK)
            .unwrap_or_else(|e| e.into_response().status())
    }

    #[tokio::test]
    async fn a_services_series_for_whoever_reads_its_cluster() {
        let f = fixture();
        let now = OffsetDateTime::now_utc();
        let ago = |s: i64| now - time::Duration::seconds(s);
        f.metrics
            .record_task("shop", Some("web"), "a", ago(125), 40.0, 10.0);
        f.metrics
            .record_task("shop", Some("web"), "b", ago(125), 60.0, 30.0);
        f.metrics
            .record_task("shop", Some("web"), "a", ago(5), 80.0, 20.0);
        f.metrics.record_requests("shop", "web", ago(5), 3.0);
        f.metrics
            .record_task("other", Some("web"), "c", ago(5), 999.0, 999.0);

        let s = ask(&f, viewer_of("shop"), "web", "shop", None)
            .await
            .unwrap();
        assert_eq!((s.cluster.as_str(), s.service.as_str()), ("shop", "web"));
        assert_eq!(s.resolution_seconds, 10.0);
        let values: Vec<_> = s
            .points
            .iter()
            .map(|p| {
                (
                    p.cpu_percent,
                    p.memory_percent,
                    p.requests_per_target_per_sec,
                )
            })
            .collect();
        assert_eq!(
            values,
            [
                (Some(50.0), Some(20.0), None),
                (Some(80.0), Some(20.0), Some(3.0))
            ]
        );
        // Buckets start on the resolution, oldest first, between `from` and `to`.
        let at: Vec<OffsetDateTime> = s
            .points
            .iter()
            .map(|p| OffsetDateTime::parse(&p.at, &Rfc3339).unwrap())
            .collect();
        assert!(at.iter().all(|t| t.unix_timestamp() % 10 == 0), "{at:?}");
        assert!(at[0] < at[1]);
        assert!(OffsetDateTime::parse(&s.from, &Rfc3339).unwrap() <= at[0]);

        // `since` cuts older buckets.
        let recent = ask(&f, viewer_of("shop"), "web", "shop", Some("1m"))
            .await
            .unwrap();
        assert_eq!(recent.points.len(), 1);
        assert_eq!(recent.points[0].cpu_percent, Some(80.0));

        // Another cluster's viewer: refused; an unknown service: 404; a bad since: 400.
        assert_eq!(
            status(ask(&f, viewer_of("other"), "web", "shop", None).await),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(ask(&f, viewer_of("shop"), "nope", "shop", None).await),
            StatusCode::NOT_FOUND
        );
        for bad in ["soon", "0s", "-5m"] {
            let e = ask(&f, viewer_of("shop"), "web", "shop", Some(bad))
                .await
                .unwrap_err();
            let r = e.into_response();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        }
        let e = ask(&f, viewer_of("shop"), "web", "shop", Some("soon"))
            .await
            .unwrap_err();
        let said = format!("{e:?}");
        assert!(
            said.contains("invalid since") && said.contains("soon"),
            "{said}"
        );
    }
}
