//! What agents call besides reads: `POST /v1/instances` (register a container instance),
//! `PUT /v1/objects/{plural}/{name}/status` (report a task's or an instance's status) and
//! `GET /v1/secrets/{name}/value` (the value of a Secret a task of theirs needs).
//!
//! An agent acts only for the instances it registered (their `spec.agent` is its token's
//! principal) and the tasks placed on them: [`admission::access::owns_instance`].

use super::{AppState, ClusterQuery, blocking, json_body, path_param, query};
use crate::error::ApiError;
use admission::access::{self, Action, Identity};
use api::instance::ContainerInstanceSpec;
use api::task::{TaskSpec, TaskStatus};
use api::taskdef::TaskDefinitionSpec;
use api::wire::{RegisterInstance, SecretValue, StatusUpdate};
use api::{DEFAULT_CLUSTER, Kind, Object, ObjectKey};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use store::{ListQuery, Store, StoreError};

/// `POST /v1/instances`: registers the instance for the agent that asks, or finds it again
/// (an agent restarting); an instance another agent registered is refused.
pub(crate) async fn register(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    req: Result<Json<RegisterInstance>, JsonRejection>,
) -> Result<Json<Object>, ApiError> {
    let req = json_body(req)?;
    let cluster = req
        .cluster
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| DEFAULT_CLUSTER.to_string());
    api::names::check_ecs_name(&req.id)
        .map_err(|e| ApiError::bad_request(format!("instance id {:?}: {e}", req.id)))?;
    access::authorize(
        &who,
        &Action::Register {
            cluster: cluster.clone(),
        },
    )?;
    let key = ObjectKey::new(Kind::ContainerInstance, Some(&cluster), &req.id);
    let found = blocking(&state.store, move |s: &dyn Store| {
        if s.get(&ObjectKey::new(Kind::Cluster, None, &cluster))?
            .is_none()
        {
            return Ok(Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("cluster {cluster} does not exist: an admin creates it (`ecsctl apply` a Cluster) before agents join it"),
            )));
        }
        if let Some(o) = s.get(&key)? {
            let spec: ContainerInstanceSpec = o.spec_as().unwrap_or_default();
            return Ok(access::owns_instance(&who, &key.name, spec.agent.as_deref())
                .map(|()| o)
                .map_err(ApiError::from));
        }
        let spec = ContainerInstanceSpec {
            agent: Some(who.principal.clone()),
            draining: false,
        };
        let mut o = Object::with_spec(Kind::ContainerInstance, key.name.clone(), &spec)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        o.metadata.cluster = Some(cluster.clone());
        s.apply(o)?;
        tracing::info!(instance = %key.name, %cluster, agent = %who.name, "registered a container instance");
        Ok(s.get(&key)?.ok_or(StoreError::NotFound(key)).map_err(ApiError::from))
    })
    .await??;
    Ok(Json(found))
}

/// `PUT /v1/objects/{plural}/{name}/status`: an agent's report on its instance or on a task
/// placed on it. A STOPPED task stays STOPPED: a report that would start it again (an agent
/// back from a partition, its task replaced meanwhile) is 409.
pub(crate) async fn report(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<ClusterQuery>, QueryRejection>,
    update: Result<Json<StatusUpdate>, JsonRejection>,
) -> Result<Json<Object>, ApiError> {
    let (plural, name) = path_param(path)?;
    let kind = Kind::parse_user(&plural)
        .filter(|k| matches!(k, Kind::Task | Kind::ContainerInstance))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{plural:?}: only tasks and containerinstances report a status here"),
            )
        })?;
    let update = json_body(update)?;
    let cluster = query(q)?.cluster_or_default();
    access::authorize(
        &who,
        &Action::Report {
            kind,
            cluster: cluster.clone(),
        },
    )?;
    let key = ObjectKey::new(kind, Some(&cluster), &name);
    let written = blocking(&state.store, move |s: &dyn Store| {
        let obj = s.get(&key)?.ok_or_else(|| StoreError::NotFound(key.clone()))?;
        let instance = match kind {
            Kind::Task => {
                let status: TaskStatus = obj.status_as().unwrap_or_default();
                let bound = obj
                    .spec_as::<TaskSpec>()
                    .ok()
                    .and_then(|spec| spec.bound_instance(&status).map(str::to_string));
                if status.last_status.is_terminal() {
                    let next: TaskStatus =
                        serde_json::from_value(update.status.clone()).unwrap_or_default();
                    if !next.last_status.is_terminal() {
                        return Ok(Err(ApiError::new(
                            StatusCode::CONFLICT,
                            format!("task {name} is STOPPED ({}): it does not start again; remove its containers", status.stopped_reason.unwrap_or_default()),
                        )));
                    }
                }
                bound
            }
            _ => Some(name.clone()),
        };
        let owner = match &instance {
            Some(id) => s
                .get(&ObjectKey::new(Kind::ContainerInstance, Some(&cluster), id))?
                .and_then(|o| o.spec_as::<ContainerInstanceSpec>().ok())
                .and_then(|spec| spec.agent),
            None => None,
        };
        if let Err(f) = access::owns_instance(&who, instance.as_deref().unwrap_or("(none)"), owner.as_deref()) {
            return Ok(Err(f.into()));
        }
        Ok(Ok(s.update_status(&key, update.status, update.resource_version)?))
    })
    .await??;
    Ok(Json(written))
}

/// `GET /v1/secrets/{name}/value?cluster=`: the value, for an agent one of whose tasks (not
/// stopped, placed on an instance it registered) has a container whose `secrets` name it.
pub(crate) async fn secret_value(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<ClusterQuery>, QueryRejection>,
) -> Result<Json<SecretValue>, ApiError> {
    let name = path_param(path)?;
    let cluster = query(q)?.cluster_or_default();
    let what = format!("read the value of Secret {name} in cluster {cluster}");
    let alias = api::names::dns_alias(&name);
    let needs = {
        let name = name.clone();
        move |td: &TaskDefinitionSpec| {
            td.container_definitions
                .iter()
                .flat_map(|c| &c.secrets)
                .any(|r| {
                    api::secret::secret_name(&r.value_from).is_ok_and(|n| n == name || n == alias)
                })
        }
    };
    let reader = state.secrets.clone();
    let value = read_for_own_task(&state, who, cluster, what, needs, move |s, cluster| {
        // A store that cannot be read now is the server's trouble (503: the agent tries
        // again), not a missing Secret (404: the task fails to start, as in ECS).
        controllers::task::secrets::value(s, &reader, cluster, &name).map_err(|e| {
            let status = if e.is_transient() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::NOT_FOUND
            };
            ApiError::new(status, e.to_string())
        })
    })
    .await?;
    Ok(Json(SecretValue { value }))
}

/// `GET /v1/roles/{name}/credentials?cluster=`: the credentials of a Role, resolved here
/// (its Secrets, or a profile of `--role-profiles`), for an agent one of whose tasks (not
/// stopped, placed on an instance it registered) has it as its `taskRoleArn`.
pub(crate) async fn role_credentials(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<ClusterQuery>, QueryRejection>,
) -> Result<Json<api::role::RoleCredentials>, ApiError> {
    let name = path_param(path)?;
    let cluster = query(q)?.cluster_or_default();
    let what = format!("read the credentials of Role {name} in cluster {cluster}");
    let needs = {
        let name = name.clone();
        move |td: &TaskDefinitionSpec| {
            td.task_role_arn
                .as_deref()
                .is_some_and(|arn| api::role::role_name(arn).is_ok_and(|n| n == name))
        }
    };
    let reader = state.secrets.clone();
    let creds = read_for_own_task(&state, who, cluster, what, needs, move |s, cluster| {
        controllers::task::roles::credentials(s, &reader, cluster, &name).map_err(|e| {
            let status = match e {
                controllers::task::roles::RoleError::Unreachable(_) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                controllers::task::roles::RoleError::Refused(_) => StatusCode::NOT_FOUND,
            };
            ApiError::new(status, e.to_string())
        })
    })
    .await?;
    Ok(Json(creds))
}

/// What an agent reads for its own tasks (a Secret's value, a Role's credentials): allowed
/// to an identity that may read secret values in `cluster` ([`Action::SecretValue`]) and
/// only while one of its own tasks [`needs`](needed_by_own_task) it; then `read` resolves it.
async fn read_for_own_task<T: Send + 'static>(
    state: &AppState,
    who: Identity,
    cluster: String,
    what: String,
    needs: impl Fn(&TaskDefinitionSpec) -> bool + Send + 'static,
    read: impl FnOnce(&dyn Store, &str) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    access::authorize(
        &who,
        &Action::SecretValue {
            cluster: cluster.clone(),
        },
    )?;
    blocking(&state.store, move |s: &dyn Store| {
        if let Err(f) = needed_by_own_task(s, &who, &cluster, what, needs)? {
            return Ok(Err(f.into()));
        }
        Ok(read(s, &cluster))
    })
    .await?
}

/// Whether a task placed on one of `who`'s instances, not stopped, has a task definition
/// that `needs` (a Secret, a Role); `what` says what was refused otherwise.
fn needed_by_own_task(
    s: &dyn Store,
    who: &Identity,
    cluster: &str,
    what: String,
    needs: impl Fn(&TaskDefinitionSpec) -> bool,
) -> Result<Result<(), access::Forbidden>, StoreError> {
    let mut owners = std::collections::HashMap::new();
    for task in s
        .list(&ListQuery::new(Kind::Task).in_cluster(cluster.to_string()))?
        .items
    {
        let status: TaskStatus = task.status_as().unwrap_or_default();
        let Ok(spec) = task.spec_as::<TaskSpec>() else {
            continue;
        };
        let Some(instance) = spec.bound_instance(&status) else {
            continue;
        };
        if status.last_status.is_terminal() {
            continue;
        }
        if !owners.contains_key(instance) {
            let owner = s
                .get(&ObjectKey::new(
                    Kind::ContainerInstance,
                    Some(cluster),
                    instance,
                ))?
                .and_then(|o| o.spec_as::<ContainerInstanceSpec>().ok())
                .and_then(|spec| spec.agent);
            owners.insert(instance.to_string(), owner);
        }
        if access::owns_instance(who, instance, owners[instance].as_deref()).is_err() {
            continue;
        }
        let td = Some(status.task_definition)
            .filter(|t| !t.is_empty())
            .unwrap_or(spec.task_definition);
        let needs = s
            .get(&ObjectKey::new(Kind::TaskDefinition, None, &td))?
            .and_then(|o| o.spec_as::<TaskDefinitionSpec>().ok())
            .is_some_and(|td| needs(&td));
        if needs {
            return Ok(Ok(()));
        }
    }
    Ok(Err(access::Forbidden {
        role: who.role,
        clusters: who.clusters.clone(),
        what,
        rule: access::AccessRule::InstanceOwner,
        how_to_allow: "an agent reads only the Secrets and Roles its own running tasks need"
            .to_string(),
    }))
}
