//! ECS's service operations: CreateService, UpdateService, DeleteService (`write.rs`),
//! DescribeServices and ListServices (`read.rs`), ListServiceDeployments and
//! DescribeServiceDeployments (`history.rs`). An ECS service is the Service object
//! `ecsctl get services` lists (its spec is ECS's CreateService input), written through the
//! admission chain as the caller; its description (`shape.rs`) comes from that spec and the
//! status the service controller reports. A deleted service stays visible, DRAINING then
//! INACTIVE, through a record in the store (`tombstone.rs`).

mod history;
mod read;
mod shape;
mod tombstone;
mod write;

pub(super) use history::{describe_deployments, list_deployments};
pub(super) use read::{describe, list};
pub(super) use write::{create, delete, update};

use super::{Caller, EcsState, store_error};
use api::service::ServiceStatus;
use api::{Kind, Object, ObjectKey};
use ecsapi::EcsError;
use ecsapi::arn;
use serde_json::Value;
use shape::{Described, Lifecycle, Unobserved};
use store::{Store, StoreError};
use time::OffsetDateTime;
use tombstone::Tombstone;

/// Why an operation failed inside a store call: an ECS error to answer, or the store.
pub(super) enum Fail {
    Ecs(EcsError),
    Store(StoreError),
}

impl From<EcsError> for Fail {
    fn from(e: EcsError) -> Self {
        Fail::Ecs(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

/// Runs `f` against the store off the async workers; its failures as ECS errors.
async fn run<T, F>(state: &EcsState, f: F) -> Result<T, EcsError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, Fail> + Send + 'static,
{
    match state.store.run(move |s| Ok(f(s))).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(Fail::Ecs(e))) => Err(e),
        Ok(Err(Fail::Store(e))) | Err(e) => Err(store_error(e)),
    }
}

/// The cluster an operation names (a name or an ARN; `default` when none).
fn cluster_arg(cluster: Option<&str>) -> Result<String, EcsError> {
    match cluster {
        None => Ok(api::DEFAULT_CLUSTER.to_string()),
        Some(c) => arn::cluster_name(c).ok_or_else(|| {
            EcsError::invalid_parameter(format!("cluster {c:?} is not a cluster name or ARN"))
        }),
    }
}

/// The cluster and name a service argument (a name or an ARN) names, within the cluster the
/// request names. `None` when the ARN names another cluster than the request.
fn service_arg(cluster: Option<&str>, service: &str) -> Result<Option<(String, String)>, EcsError> {
    let (in_arn, name) = arn::in_cluster("service", service).ok_or_else(|| {
        EcsError::invalid_parameter(format!("service {service:?} is not a service name or ARN"))
    })?;
    let asked = cluster.map(|c| cluster_arg(Some(c))).transpose()?;
    Ok(match (asked, in_arn) {
        (Some(c), Some(a)) if c != a => None,
        (Some(c), _) | (None, Some(c)) => Some((c, name)),
        (None, None) => Some((api::DEFAULT_CLUSTER.to_string(), name)),
    })
}

/// Fails with ClusterNotFoundException unless `cluster` exists.
fn cluster_exists(s: &dyn Store, cluster: &str) -> Result<(), Fail> {
    match s.get(&ObjectKey::new(Kind::Cluster, None, cluster))? {
        Some(_) => Ok(()),
        None => Err(EcsError::cluster_not_found().into()),
    }
}

/// The key of service `name` in `cluster`.
fn service_key(cluster: &str, name: &str) -> ObjectKey {
    ObjectKey::new(Kind::Service, Some(cluster), name)
}

/// What a service name stands for.
enum Found {
    /// The Service object.
    Active(Box<Object>),
    /// The record of a deleted one.
    Deleted(Box<Tombstone>),
}

/// The service `name` of `cluster`: the Service object, else the record of a service deleted
/// less than an hour ago.
fn find(
    s: &dyn Store,
    cluster: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<Option<Found>, StoreError> {
    if let Some(o) = s.get(&service_key(cluster, name))? {
        return Ok(Some(Found::Active(Box::new(o))));
    }
    Ok(tombstone::get(s, cluster, name, now)?.map(|t| Found::Deleted(Box::new(t))))
}

/// `family:N` of a task definition argument (a family, for its latest revision; `family:N`;
/// or an ARN), which must be registered.
fn resolve_task_definition(s: &dyn Store, reference: &str) -> Result<String, Fail> {
    let (family, revision) = arn::task_definition_ref(reference).ok_or_else(|| {
        EcsError::client(format!(
            "taskDefinition {reference:?} is not a family, family:revision or task definition ARN"
        ))
    })?;
    let name = match revision {
        Some(n) => format!("{family}:{n}"),
        None => family,
    };
    match s.get(&ObjectKey::new(Kind::TaskDefinition, None, &name))? {
        Some(o) => Ok(o.display_name()),
        None => Err(EcsError::client(format!("TaskDefinition not found: {reference}.")).into()),
    }
}

/// The revision a service's spec names, `family:N` (a bare family, as `ecsctl apply` may
/// write: the revision the service runs, else the family's latest).
/// Deletes the Service `o` (as it is stored), leaving the record that keeps it visible to
/// ECS clients, DRAINING and then INACTIVE (`tombstone.rs`): what DeleteService and ecsctl's
/// own `DELETE /v1/objects/services/NAME` both do. Returns what the store deleted.
pub(crate) fn delete_with_record(
    s: &dyn Store,
    o: &Object,
    now: OffsetDateTime,
) -> Result<Vec<Object>, StoreError> {
    let status: ServiceStatus = o.status_as().unwrap_or_default();
    let td = current_task_definition(s, &o.spec, &status)?;
    tombstone::sweep(s, now)?;
    match tombstone::make(o, &td, status, now) {
        Ok(record) => {
            // The record first: should the delete fail, the Service still wins over it.
            let (record_key, record_status) = (record.key(), record.status.clone());
            s.apply(record)?;
            s.update_status(&record_key, record_status, None)?;
        }
        // The service goes anyway; ECS clients then see it MISSING rather than INACTIVE.
        Err(e) => {
            tracing::warn!(service = %o.key(), error = %e, "no record of the deleted service")
        }
    }
    s.delete(&o.key())
}

fn current_task_definition(
    s: &dyn Store,
    spec: &Value,
    status: &ServiceStatus,
) -> Result<String, StoreError> {
    let named = spec
        .get("taskDefinition")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if named.contains(':') || named.is_empty() {
        return Ok(named);
    }
    if let Some(p) = status.primary() {
        return Ok(p.task_definition.clone());
    }
    Ok(s.get(&ObjectKey::new(Kind::TaskDefinition, None, &named))?
        .map_or(named, |o| o.display_name()))
}

/// ECS's description of what `found` is, as `caller` sees it.
fn describe_found(
    s: &dyn Store,
    caller: &Caller,
    cluster: &str,
    name: &str,
    found: &Found,
    tags: bool,
    now: OffsetDateTime,
) -> Result<Value, StoreError> {
    match found {
        Found::Active(o) => describe_active(s, caller, o, tags, now),
        Found::Deleted(t) => {
            let (running, pending, left) = tombstone::tasks_left(s, cluster, name)?;
            let mut status = t.snapshot.status.clone();
            status.running_count = running;
            status.pending_count = pending;
            for d in &mut status.deployments {
                d.running_count = 0;
                d.pending_count = 0;
            }
            if let Some(p) = status
                .deployments
                .iter_mut()
                .find(|d| d.status.is_primary())
            {
                p.running_count = running;
                p.pending_count = pending;
            }
            if !left {
                status.deployments.clear();
            }
            Ok(shape::service(&Described {
                region: &caller.region,
                account: &caller.account_id,
                cluster,
                name,
                lifecycle: if left {
                    Lifecycle::Draining
                } else {
                    Lifecycle::Inactive
                },
                spec: &t.snapshot.spec,
                status: &status,
                created_at: t.snapshot.created_at.as_deref(),
                task_definition: &t.snapshot.task_definition,
                unobserved: None,
                tags,
            }))
        }
    }
}

/// ECS's description of a Service object.
fn describe_active(
    s: &dyn Store,
    caller: &Caller,
    o: &Object,
    tags: bool,
    now: OffsetDateTime,
) -> Result<Value, StoreError> {
    let status: ServiceStatus = o.status_as().unwrap_or_default();
    let td = current_task_definition(s, &o.spec, &status)?;
    Ok(shape::service(&Described {
        region: &caller.region,
        account: &caller.account_id,
        cluster: o.metadata.cluster_or_default(),
        name: &o.metadata.name,
        lifecycle: Lifecycle::Active,
        spec: &o.spec,
        status: &status,
        created_at: o.metadata.creation_timestamp.as_deref(),
        task_definition: &td,
        unobserved: unobserved(o, &status, &td, now),
        tags,
    }))
}

/// What the service controller has not acted on yet: a spec newer than the status, or a
/// forced deployment it has not started.
fn unobserved(
    o: &Object,
    status: &ServiceStatus,
    td: &str,
    now: OffsetDateTime,
) -> Option<Unobserved> {
    let force = o
        .metadata
        .annotations
        .get(controllers::service::reconciler::FORCE_ANNOTATION)
        .map(String::as_str)
        .unwrap_or_default();
    let forced = !force.is_empty() && force != status.force_token;
    let stale = o.metadata.generation.unwrap_or(1) > status.observed_generation;
    if !forced && !stale {
        return None;
    }
    // A revision the circuit breaker rolled back is not deployed again (the controller's rule).
    let paused = !status.failed_task_definition.is_empty() && status.failed_task_definition == td;
    let new_deployment =
        forced || (!paused && status.primary().is_none_or(|p| p.task_definition != td));
    Some(Unobserved {
        new_deployment,
        now: now.unix_timestamp_nanos() as f64 / 1e9,
    })
}
