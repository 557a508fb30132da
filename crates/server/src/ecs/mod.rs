//! The ECS API listener (`--aws-api`): AWS JSON 1.1 on `POST /`, every request's SigV4
//! signature verified against the access keys of `--aws-credentials` (or the key the server
//! made in its data directory), the key's identity (role, clusters) carried into the same
//! admission chain and store as ecsctl's own API.

mod clusters;
mod input;
mod instances;
mod keys;
mod services;
mod tags;
mod taskdefs;
mod tasks;

pub(crate) use keys::KeyRing;
pub(crate) use services::delete_with_record as delete_service;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ecsapi::EcsError;
use std::sync::Arc;

/// What every ECS request can reach.
#[derive(Clone)]
pub(crate) struct EcsState {
    /// The store, as ecsctl's own API reaches it.
    pub store: store::AsyncStore,
    /// The rules every write passes.
    pub admission: Arc<admission::Admission>,
    /// The access keys and the identities they give.
    pub keys: Arc<KeyRing>,
    /// The account id ARNs carry.
    pub account_id: String,
}

/// The router of the ECS listener: `POST /` and nothing else.
pub(crate) fn router(state: EcsState) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(crate::http::MAX_BODY))
        .with_state(state)
}

/// Who asks, and where: what every operation receives.
#[derive(Clone)]
pub(crate) struct Caller {
    pub identity: admission::access::Identity,
    pub region: String,
    pub account_id: String,
}

async fn handle(
    State(state): State<EcsState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match serve(&state, &method, &uri, &headers, body).await {
        Ok(value) => reply(
            StatusCode::OK,
            serde_json::to_vec(&value).unwrap_or_default(),
        ),
        Err(e) => {
            if e.status >= 500 {
                tracing::error!(code = e.code, message = %e.message, "ECS request failed");
            } else {
                tracing::info!(code = e.code, message = %e.message, "ECS request refused");
            }
            reply(
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                e.body(),
            )
        }
    }
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(ecsapi::CONTENT_TYPE),
    );
    response.headers_mut().insert(
        "x-amzn-requestid",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .unwrap_or(HeaderValue::from_static("0")),
    );
    response
}

async fn serve(
    state: &EcsState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<serde_json::Value, EcsError> {
    // The signature first: nothing about the API is told to a client that cannot sign.
    let request = ecsapi::sigv4::Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: &body,
    };
    let keys = state.keys.snapshot();
    let verified = ecsapi::sigv4::verify(
        &request,
        |id| keys.secret(id),
        time::OffsetDateTime::now_utc(),
    )
    .map_err(|e| EcsError::from_signature(&e))?;
    let identity = keys
        .identity(&verified.access_key_id)
        .ok_or_else(|| EcsError::from_signature(&ecsapi::sigv4::SigError::UnknownKey))?;
    if method != Method::POST || uri.path() != "/" {
        return Err(EcsError::unknown_operation(format!(
            "ECS takes POST / with X-Amz-Target: {}<Operation>, not {method} {}",
            ecsapi::TARGET_PREFIX,
            uri.path()
        )));
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(operation) = target.strip_prefix(ecsapi::TARGET_PREFIX) else {
        return Err(EcsError::unknown_operation(format!(
            "X-Amz-Target {target:?} is not {}<Operation>",
            ecsapi::TARGET_PREFIX
        )));
    };
    let input: serde_json::Value = if body.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| EcsError::serialization(format!("the body is not JSON: {e}")))?
    };
    if !input.is_object() {
        return Err(EcsError::serialization("the body must be a JSON object"));
    }
    tracing::debug!(operation, identity = %identity.name, "ECS request");
    let caller = Caller {
        identity,
        region: verified.region,
        account_id: state.account_id.clone(),
    };
    match operation {
        "CreateCluster" => clusters::create(state, &caller, input).await,
        "DescribeClusters" => clusters::describe(state, &caller, input).await,
        "ListClusters" => clusters::list(state, &caller, input).await,
        "DeleteCluster" => clusters::delete(state, &caller, input).await,
        "CreateService" => services::create(state, &caller, input).await,
        "UpdateService" => services::update(state, &caller, input).await,
        "DeleteService" => services::delete(state, &caller, input).await,
        "DescribeServices" => services::describe(state, &caller, input).await,
        "ListServices" => services::list(state, &caller, input).await,
        "ListServiceDeployments" => services::list_deployments(state, &caller, input).await,
        "DescribeServiceDeployments" => services::describe_deployments(state, &caller, input).await,
        "UpdateCluster" | "UpdateClusterSettings" => clusters::update(state, &caller, input).await,
        "RunTask" => tasks::run(state, &caller, input).await,
        "StopTask" => tasks::stop(state, &caller, input).await,
        "DescribeTasks" => tasks::describe(state, &caller, input).await,
        "ListTasks" => tasks::list(state, &caller, input).await,
        "ListContainerInstances" => instances::list(state, &caller, input).await,
        "DescribeContainerInstances" => instances::describe(state, &caller, input).await,
        "UpdateContainerInstancesState" => instances::update_state(state, &caller, input).await,
        "TagResource" => tags::tag(state, &caller, input).await,
        "UntagResource" => tags::untag(state, &caller, input).await,
        "ListTagsForResource" => tags::list(state, &caller, input).await,
        "RegisterTaskDefinition" => taskdefs::register(state, &caller, input).await,
        "DescribeTaskDefinition" => taskdefs::describe(state, &caller, input).await,
        "ListTaskDefinitions" => taskdefs::list(state, &caller, input).await,
        "ListTaskDefinitionFamilies" => taskdefs::families(state, &caller, input).await,
        "DeregisterTaskDefinition" => taskdefs::deregister(state, &caller, input).await,
        "DeleteTaskDefinitions" => taskdefs::delete(state, &caller, input).await,
        op if KNOWN_OPERATIONS.contains(&op) => Err(EcsError::unsupported(op)),
        op => Err(EcsError::unknown_operation(format!(
            "{op} is not an ECS operation"
        ))),
    }
}

/// ECS's other operations: answered "not supported yet", never silently.
const KNOWN_OPERATIONS: &[&str] = &[
    "CreateCapacityProvider",
    "CreateTaskSet",
    "DeleteAccountSetting",
    "DeleteAttributes",
    "DeleteCapacityProvider",
    "DeleteTaskSet",
    "DeregisterContainerInstance",
    "DescribeCapacityProviders",
    "DescribeServiceRevisions",
    "DescribeTaskSets",
    "DiscoverPollEndpoint",
    "ExecuteCommand",
    "GetTaskProtection",
    "ListAccountSettings",
    "ListAttributes",
    "ListServicesByNamespace",
    "PutAccountSetting",
    "PutAccountSettingDefault",
    "PutAttributes",
    "PutClusterCapacityProviders",
    "RegisterContainerInstance",
    "StartTask",
    "StopServiceDeployment",
    "SubmitAttachmentStateChanges",
    "SubmitContainerStateChange",
    "SubmitTaskStateChange",
    "UpdateCapacityProvider",
    "UpdateContainerAgent",
    "UpdateServicePrimaryTaskSet",
    "UpdateTaskProtection",
    "UpdateTaskSet",
];

/// An RFC 3339 time (as the store and the statuses write them) as AWS JSON writes
/// timestamps: seconds since the epoch, a number.
pub(crate) fn epoch(rfc3339: &str) -> Option<f64> {
    controllers::timefmt::parse_rfc3339(rfc3339).map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
}

/// A store failure as ECS's `ServerException`.
pub(crate) fn store_error(e: store::StoreError) -> EcsError {
    EcsError::server(format!("the store failed: {e}"))
}

/// An admission refusal as ECS errors: a role that may not is `AccessDeniedException`, a
/// rule that refuses is `InvalidParameterException` naming every problem found.
pub(crate) fn denied(e: admission::Denied) -> EcsError {
    match e {
        admission::Denied::Forbidden(f) => EcsError::access_denied(f.to_string()),
        admission::Denied::Refused(r) => {
            let lines = r.lines();
            if lines.is_empty() {
                EcsError::invalid_parameter(r.to_string())
            } else {
                EcsError::invalid_parameter(lines.join("; "))
            }
        }
    }
}

/// Admits `objects` as `who` and commits them in one transaction (blocking: call it inside
/// `AsyncStore::run`). A refusal comes back as ECS's error, and so does a write that lost to
/// a concurrent one (`ClientException`: `what` changed meanwhile, try again).
pub(crate) fn admit_and_apply(
    admission: &admission::Admission,
    who: &admission::access::Identity,
    s: &dyn store::Store,
    objects: Vec<api::Object>,
    what: &str,
) -> Result<Result<(), EcsError>, store::StoreError> {
    Ok(match try_admit_and_apply(admission, who, s, objects)? {
        Applied::Written => Ok(()),
        Applied::Refused(e) => Err(e),
        Applied::Conflict => Err(EcsError::client(format!(
            "{what} changed while it was written: try again"
        ))),
    })
}

/// What [`try_admit_and_apply`] did.
pub(crate) enum Applied {
    Written,
    /// Refused by admission, as ECS's error.
    Refused(EcsError),
    /// A resourceVersion it was given is stale: someone wrote the object meanwhile (a read,
    /// change and write may read again and retry).
    Conflict,
}

/// [`admit_and_apply`], saying a lost compare-and-swap apart from a refusal.
pub(crate) fn try_admit_and_apply(
    admission: &admission::Admission,
    who: &admission::access::Identity,
    s: &dyn store::Store,
    objects: Vec<api::Object>,
) -> Result<Applied, store::StoreError> {
    let admitted = match admission.admit_apply_as(who, s, objects) {
        Ok(a) => a,
        Err(e) => return Ok(Applied::Refused(denied(e))),
    };
    match s.apply_all(admitted.objects, false) {
        Ok(_) => Ok(Applied::Written),
        Err(store::StoreError::Conflict { .. }) => Ok(Applied::Conflict),
        Err(e) => Err(e),
    }
}
