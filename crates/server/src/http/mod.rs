//! The HTTP API: routes, shared state, and the middleware every request passes through
//! (a tracing span with method, path, identity, status and latency; who is asking, in
//! `auth`).
//!
//! Store writes wait for a disk flush, so handlers reach the store through
//! `store::AsyncStore` (the controllers' wrapper too), via [`blocking`], never on the async
//! workers.

mod agents;
mod apply;
mod auth;
mod exec;
pub(crate) mod instances;
mod loadbalancers;
mod logs;
mod metrics;
mod objects;
mod syncs;
mod watch;

pub use apply::decode_apply_request;

use crate::error::ApiError;
use api::wire::health::{EngineHealth, RuntimeDisabled};
use api::wire::{Health, HealthStatus, RuntimeHealth};
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Json, Response};
use axum::routing::{get, post};
use futures::FutureExt;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;
use store::{AsyncStore, Store, StoreError};
use tracing::Instrument;

/// Largest request body accepted (413 above it).
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    /// The store, reached off the tokio workers (its writes flush to disk).
    pub store: AsyncStore,
    /// Becomes `true` when the server starts shutting down; open watches end then.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The identities bearer tokens name (TCP); `None` on the unix socket, whose clients
    /// are its owner, an admin.
    pub identities: Option<Arc<crate::access::Identities>>,
    /// The container runtime the controllers drive, when they run (`None` in API-only
    /// servers): task logs are read from it.
    pub runtime: Option<TaskRuntime>,
    /// Sync status of every directory synced (`--watch`, `POST /v1/sync`).
    pub syncs: gitops::StatusBoard,
    /// The rules every write passes (apply, delete, sync).
    pub admission: Arc<admission::Admission>,
    /// Told when an apply registers TaskDefinition revisions: unused ones are collected
    /// once applies pause.
    pub registered: Arc<tokio::sync::Notify>,
    /// The directories `POST /v1/sync` may sync (watched ones, and below `--sync-root`).
    pub sync_roots: Arc<gitops::SyncRoots>,
    /// Where Secret values come from, as far as the operator allows: agents ask for the
    /// values their tasks need (`GET /v1/secrets/{name}/value`).
    pub secrets: controllers::task::secrets::SecretReader,
    /// This server's place in the control plane (`GET /v1/status`).
    pub control: crate::leadership::ControlPlane,
}

/// The container runtime and this server's id (`ecsctl.instance`): the containers a request
/// may look at are the ones carrying it.
#[derive(Clone)]
pub(crate) struct TaskRuntime {
    pub runtime: Arc<dyn runtime::ContainerRuntime>,
    /// The built-in load balancer (what `describe lb` shows).
    pub balancer: lb::LbManager,
    pub instance: String,
    /// Measured CPU, memory and request rates (`ecsctl top`).
    pub metrics: controllers::metrics::Metrics,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("auth", &self.identities.is_some())
            .field("runtime", &self.runtime.is_some())
            .finish_non_exhaustive()
    }
}

/// The API router.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/status", get(status))
        .route("/v1/apply", post(apply::apply))
        .route("/v1/objects/{plural}", get(objects::list))
        .route(
            "/v1/objects/{plural}/{name}",
            get(objects::get).delete(objects::delete),
        )
        .route(
            "/v1/objects/{plural}/{name}/status",
            axum::routing::put(agents::report),
        )
        .route("/v1/instances", post(agents::register))
        .route(
            "/v1/instances/{id}/state",
            axum::routing::put(instances::set_state),
        )
        .route("/v1/secrets/{name}/value", get(agents::secret_value))
        .route(
            "/v1/roles/{name}/credentials",
            get(agents::role_credentials),
        )
        .route("/v1/watch", get(watch::watch))
        .route("/v1/syncs", get(syncs::list))
        .route("/v1/sync", post(syncs::sync))
        .route("/v1/tasks/{id}/logs", get(logs::logs))
        .route("/v1/tasks/{id}/exec", post(exec::exec))
        .route("/v1/metrics/{which}", get(metrics::list))
        .route("/v1/metrics/services/{name}/series", get(metrics::series))
        .route(
            "/v1/loadbalancers/{name}/status",
            get(loadbalancers::status),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), auth::auth))
        .layer(middleware::from_fn(trace))
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    // The API answers whatever the engine does; the runtime's state is reported beside it.
    let runtime = match &state.runtime {
        None => RuntimeHealth::Disabled(RuntimeDisabled::Disabled),
        Some(rt) => RuntimeHealth::Probed(
            match tokio::time::timeout(std::time::Duration::from_secs(1), rt.runtime.ping()).await {
                Ok(Ok(v)) => EngineHealth::Available { version: v.version },
                Ok(Err(e)) => EngineHealth::Unavailable {
                    reason: e.to_string(),
                },
                Err(_) => EngineHealth::Unavailable {
                    reason: "the engine did not answer within 1 s".to_string(),
                },
            },
        ),
    };
    Json(Health {
        status: HealthStatus::Ok,
        revision: state.store.revision(),
        runtime,
    })
}

/// This server's role, the leader and the store (`ecsctl status`): any identity may ask, as
/// for health.
async fn status(State(state): State<AppState>) -> Json<api::wire::ServerStatus> {
    Json(state.control.status(state.store.revision()).await)
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {} {}", req.method(), req.uri().path()),
    )
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method {} is not allowed on {}",
            req.method(),
            req.uri().path()
        ),
    )
}

/// One span per request; logs the status and latency when the response is ready (for a
/// watch: when the stream starts).
async fn trace(req: Request, next: Next) -> Response {
    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path(),
        identity = tracing::field::Empty);
    let start = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        // Every request at info would drown what the controllers say; failures stand out.
        if status >= 500 {
            tracing::error!(status, latency_ms, "request failed");
        } else if status >= 400 {
            tracing::info!(status, latency_ms, "request refused");
        } else {
            tracing::debug!(status, latency_ms, "request");
        }
    });
    response
}

/// Runs store calls (several in one trip when they belong together) through the
/// `AsyncStore`.
pub(crate) async fn blocking<T: Send + 'static>(
    store: &AsyncStore,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    // The controllers' wrapper; a panic in the call answers 500 instead of dropping the
    // connection.
    std::panic::AssertUnwindSafe(store.run(f))
        .catch_unwind()
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the store call failed (it panicked; see the server's log)",
            )
        })?
        .map_err(ApiError::from)
}

/// A path parameter, or 400 saying what is wrong with it.
pub(crate) fn path_param<T>(
    p: Result<axum::extract::Path<T>, axum::extract::rejection::PathRejection>,
) -> Result<T, ApiError> {
    p.map(|axum::extract::Path(p)| p)
        .map_err(|e| ApiError::bad_request(format!("invalid path: {}", e.body_text())))
}

/// A JSON body, or 400 saying what is wrong with it.
pub(crate) fn json_body<T>(
    b: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, ApiError> {
    b.map(|Json(b)| b)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {}", e.body_text())))
}

/// `?cluster=` of endpoints about one cluster's objects.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ClusterQuery {
    cluster: Option<String>,
}

impl ClusterQuery {
    /// The cluster asked for, `default` when absent or empty.
    pub(crate) fn cluster_or_default(self) -> String {
        self.cluster
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| api::DEFAULT_CLUSTER.to_string())
    }
}

/// A query string, or 400 saying what is wrong with it.
pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(format!("invalid query string: {}", e.body_text())))
}
