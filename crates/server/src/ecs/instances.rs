//! ListContainerInstances, DescribeContainerInstances and UpdateContainerInstancesState:
//! the ContainerInstance objects of a cluster (the server's own machine and its agents'
//! hosts) in ECS's shapes, and draining them (the write `ecsctl drain` makes too).

use super::input::{Page, parse as input, with_next_token};
use super::tasks::{cluster_exists, cluster_param, epoch_millis};
use super::{Caller, EcsState, denied, store_error};
use crate::http::instances::{StateChange, effective_status, set_draining};
use admission::access;
use api::instance::{ContainerInstanceStatus, InstanceResources, InstanceStatus};
use api::{Kind, Object, ObjectKey};
use ecsapi::EcsError;
use ecsapi::arn::{self, Arn};
use serde::Deserialize;
use serde_json::{Value, json};
use store::ListQuery;

/// ListContainerInstances' page size when `maxResults` is not given, and its largest.
const MAX_RESULTS: usize = 100;
/// Most instances one DescribeContainerInstances names.
const MAX_DESCRIBE: usize = 100;
/// Most instances one UpdateContainerInstancesState names (ECS's limit).
const MAX_UPDATE: usize = 10;

/// An instance named by id or ARN in `cluster`: its id, or `None` when the ARN is of
/// another type or names another cluster.
fn instance_id(cluster: &str, id_or_arn: &str) -> Option<String> {
    let (in_arn, id) = arn::in_cluster("container-instance", id_or_arn)?;
    match in_arn {
        Some(c) if c != cluster => None,
        _ => Some(id),
    }
}

fn instance_arn(caller: &Caller, o: &Object) -> String {
    Arn::container_instance(
        &caller.region,
        &caller.account_id,
        o.metadata.cluster_or_default(),
        &o.metadata.name,
    )
    .to_string()
}

/// Resources as ECS lists them: CPU and MEMORY as integers, PORTS (TCP) as a string set.
fn resources(r: &InstanceResources) -> Value {
    let ports: Vec<String> = r.ports.iter().map(u16::to_string).collect();
    json!([
        {"name": "CPU", "type": "INTEGER", "integerValue": r.cpu,
         "doubleValue": 0.0, "longValue": 0},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": r.memory,
         "doubleValue": 0.0, "longValue": 0},
        {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ports,
         "doubleValue": 0.0, "longValue": 0, "integerValue": 0},
    ])
}

/// The instance in ECS's shape.
fn describe_one(caller: &Caller, o: &Object) -> Value {
    let st: ContainerInstanceStatus = o.status_as().unwrap_or_default();
    let attributes: Vec<Value> = st
        .attributes
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let mut out = json!({
        "containerInstanceArn": instance_arn(caller, o),
        "ec2InstanceId": o.metadata.name,
        "version": o.metadata.resource_version.unwrap_or_default(),
        "versionInfo": {"agentVersion": st.agent_version},
        "status": effective_status(o).as_str(),
        "agentConnected": st.agent_connected,
        "registeredResources": resources(&st.registered_resources),
        "remainingResources": resources(&st.remaining_resources),
        "runningTasksCount": st.running_tasks_count,
        "pendingTasksCount": st.pending_tasks_count,
        "attributes": attributes,
        "attachments": [],
        "tags": [],
    });
    if let Some(at) = epoch_millis(&st.registered_at) {
        out["registeredAt"] = at;
    }
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListInput {
    cluster: Option<String>,
    filter: Option<String>,
    status: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// The statuses a ListContainerInstances `status` keeps (`None`: every one but INACTIVE).
fn status_filter(status: Option<&str>) -> Result<Option<InstanceStatus>, EcsError> {
    match status {
        None => Ok(None),
        Some("ACTIVE") => Ok(Some(InstanceStatus::Active)),
        Some("DRAINING") => Ok(Some(InstanceStatus::Draining)),
        // Registration is one write here: no instance is ever in these states.
        Some("REGISTERING" | "DEREGISTERING" | "REGISTRATION_FAILED") => {
            Ok(Some(InstanceStatus::Unknown))
        }
        Some(other) => Err(EcsError::invalid_parameter(format!(
            "status {other:?} is not ACTIVE, DRAINING, REGISTERING, DEREGISTERING or REGISTRATION_FAILED"
        ))),
    }
}

/// ListContainerInstances: the ARNs of a cluster's instances (of one status, or all but
/// INACTIVE), in id order, a page at a time.
pub(super) async fn list(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: ListInput = input(body)?;
    if req.filter.is_some() {
        return Err(EcsError::invalid_parameter(
            "filter: the cluster query language is not supported yet; leave the filter out",
        ));
    }
    let wanted = status_filter(req.status.as_deref())?;
    let page = Page::new(
        req.max_results,
        req.next_token.as_deref(),
        MAX_RESULTS,
        MAX_RESULTS,
    )?;
    let cluster = cluster_param(req.cluster.as_deref())?;
    access::authorize_list(&caller.identity, Kind::ContainerInstance, Some(&cluster))
        .map_err(|f| denied(f.into()))?;
    let caller = caller.clone();
    let found = state
        .store
        .run(move |s| {
            if !cluster_exists(s, &cluster)? {
                return Ok(Err(EcsError::cluster_not_found()));
            }
            let items = s
                .list(&ListQuery::new(Kind::ContainerInstance).in_cluster(cluster))?
                .items;
            let mut out: Vec<(String, String)> = items
                .iter()
                .filter(|o| caller.identity.may_read(o))
                .filter(|o| {
                    let st = effective_status(o);
                    match wanted {
                        Some(w) => st == w,
                        None => st != InstanceStatus::Inactive,
                    }
                })
                .map(|o| (o.metadata.name.clone(), instance_arn(&caller, o)))
                .collect();
            out.sort();
            Ok(Ok(out))
        })
        .await
        .map_err(store_error)??;
    let (arns, token) = page.take(found, false);
    Ok(with_next_token(
        json!({ "containerInstanceArns": arns }),
        token,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DescribeInput {
    cluster: Option<String>,
    container_instances: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

/// DescribeContainerInstances: the instances asked for; those that are not in the cluster
/// in `failures` with reason MISSING.
pub(super) async fn describe(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DescribeInput = input(body)?;
    if let Some(bad) = req.include.first() {
        return Err(EcsError::invalid_parameter(format!(
            "include {bad:?}: neither TAGS nor CONTAINER_INSTANCE_HEALTH is supported yet"
        )));
    }
    check_count(
        &req.container_instances,
        MAX_DESCRIBE,
        "DescribeContainerInstances",
    )?;
    let cluster = cluster_param(req.cluster.as_deref())?;
    access::authorize_list(&caller.identity, Kind::ContainerInstance, Some(&cluster))
        .map_err(|f| denied(f.into()))?;
    let caller = caller.clone();
    state
        .store
        .run(move |s| {
            if !cluster_exists(s, &cluster)? {
                return Ok(Err(EcsError::cluster_not_found()));
            }
            let (mut found, mut failures) = (Vec::new(), Vec::new());
            for asked in &req.container_instances {
                let o = match instance_id(&cluster, asked) {
                    Some(id) => s
                        .get(&ObjectKey::new(
                            Kind::ContainerInstance,
                            Some(&cluster),
                            &id,
                        ))?
                        .filter(|o| caller.identity.may_read(o)),
                    None => None,
                };
                match o {
                    Some(o) => found.push(describe_one(&caller, &o)),
                    None => failures.push(
                        json!({"arn": failure_arn(&caller, &cluster, asked), "reason": "MISSING"}),
                    ),
                }
            }
            Ok(Ok(
                json!({"containerInstances": found, "failures": failures}),
            ))
        })
        .await
        .map_err(store_error)?
}

/// The ARN a failure names: the one asked for, or the ARN of the id asked for.
fn failure_arn(caller: &Caller, cluster: &str, asked: &str) -> String {
    match instance_id(cluster, asked) {
        Some(id) if !asked.starts_with("arn:") => {
            Arn::container_instance(&caller.region, &caller.account_id, cluster, &id).to_string()
        }
        _ => asked.to_string(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateStateInput {
    cluster: Option<String>,
    container_instances: Vec<String>,
    status: String,
}

/// UpdateContainerInstancesState: drains the instances named (ids or ARNs) or makes them
/// ACTIVE again; answers them as DescribeContainerInstances does, those not in the cluster
/// in `failures` (MISSING), and deregistered ones too (INACTIVE: their state no longer
/// changes). Admins only, as `ecsctl drain`.
pub(super) async fn update_state(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: UpdateStateInput = input(body)?;
    let draining = match req.status.as_str() {
        "DRAINING" => true,
        "ACTIVE" => false,
        "REGISTERING" | "DEREGISTERING" | "REGISTRATION_FAILED" => {
            return Err(EcsError::invalid_parameter(format!(
                "status {}: a container instance is set to ACTIVE or DRAINING only",
                req.status
            )));
        }
        other => {
            return Err(EcsError::invalid_parameter(format!(
                "status {other:?} is not ACTIVE or DRAINING"
            )));
        }
    };
    check_count(
        &req.container_instances,
        MAX_UPDATE,
        "UpdateContainerInstancesState",
    )?;
    let cluster = cluster_param(req.cluster.as_deref())?;
    access::authorize(
        &caller.identity,
        &access::Action::SetInstanceState {
            cluster: cluster.clone(),
        },
    )
    .map_err(|f| denied(f.into()))?;
    let caller = caller.clone();
    state
        .store
        .run(move |s| {
            if !cluster_exists(s, &cluster)? {
                return Ok(Err(EcsError::cluster_not_found()));
            }
            let (mut done, mut failures) = (Vec::new(), Vec::new());
            for asked in &req.container_instances {
                let change = match instance_id(&cluster, asked) {
                    Some(id) => set_draining(
                        s,
                        &ObjectKey::new(Kind::ContainerInstance, Some(&cluster), &id),
                        draining,
                    )?,
                    None => StateChange::Missing,
                };
                match change {
                    StateChange::Changed(o) | StateChange::Unchanged(o) => {
                        done.push(describe_one(&caller, &o));
                    }
                    StateChange::Missing => failures.push(
                        json!({"arn": failure_arn(&caller, &cluster, asked), "reason": "MISSING"}),
                    ),
                    StateChange::Inactive(o) => failures.push(json!({
                        "arn": instance_arn(&caller, &o),
                        "reason": "INACTIVE",
                        "detail": "the container instance is deregistered: its state no longer changes",
                    })),
                }
            }
            Ok(Ok(
                json!({"containerInstances": done, "failures": failures}),
            ))
        })
        .await
        .map_err(store_error)?
}

/// `containerInstances` of `operation`: at least one, at most `max`.
fn check_count(ids: &[String], max: usize, operation: &str) -> Result<(), EcsError> {
    if ids.is_empty() {
        return Err(EcsError::invalid_parameter(
            "containerInstances cannot be empty.",
        ));
    }
    if ids.len() > max {
        return Err(EcsError::invalid_parameter(format!(
            "containerInstances: at most {max} per {operation}"
        )));
    }
    Ok(())
}
