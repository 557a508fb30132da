//! RunTask and StopTask: standalone tasks are the Task objects `ecsctl run-task` makes
//! (ids of 32 hex digits, as ECS's), written through the admission chain as the caller;
//! a stop is `ecsctl stop-task`'s (desiredStatus STOPPED, stopCode UserInitiated).
//! DescribeTasks and ListTasks are in `read.rs`, the Task shape in `shape.rs`.

mod read;
mod run;
mod shape;

pub(super) use read::{cluster_exists, cluster_param, describe, list};
pub(super) use shape::epoch_millis;

use crate::ecs::input::parse as input;
use crate::ecs::{Caller, EcsState, admit_and_apply, denied, store_error};
use admission::access;
use api::task::{StopCode, StopRequest, TaskSpec};
use api::{Kind, Object, ObjectKey};
use ecsapi::EcsError;
use read::{Lookups, task_id};
use run::RunInput;
use serde::Deserialize;
use serde_json::{Value, json};
use store::Store;

/// The reason recorded when StopTask gives none (as `ecsctl stop-task`).
const DEFAULT_REASON: &str = "Task stopped by user";
/// ECS's limit on a stop reason.
const MAX_REASON: usize = 255;
/// Writes retried when the task changes between our read and our write.
const CAS_ATTEMPTS: usize = 5;

/// The annotations that carry a RunTask's clientToken and the fingerprint of its request.
const TOKEN_ANNOTATION: &str = "ecsctl.dev/client-token";
const REQUEST_ANNOTATION: &str = "ecsctl.dev/client-request";

/// RunTask: `count` Task objects of the revision asked for, in one admitted write.
pub(super) async fn run(state: &EcsState, caller: &Caller, body: Value) -> Result<Value, EcsError> {
    let fingerprint = ecsapi::sigv4::sha256_hex(body.to_string().as_bytes());
    let req: RunInput = input(body)?;
    let plan = run::check(&req)?;
    let cluster = cluster_param(req.cluster.as_deref())?;
    access::authorize(
        &caller.identity,
        &access::Action::on(access::Verb::Write, Kind::Task, Some(&cluster), ""),
    )
    .map_err(|f| denied(f.into()))?;
    // The same clientToken gives the same ids: a retry finds the tasks it made.
    let ids: Vec<String> = (0..plan.count)
        .map(|i| match &req.client_token {
            Some(token) => ecsapi::sigv4::sha256_hex(format!("{cluster}\0{token}\0{i}").as_bytes())
                [..32]
                .to_string(),
            None => uuid::Uuid::new_v4().simple().to_string(),
        })
        .collect();
    let (admission, caller) = (state.admission.clone(), caller.clone());
    state
        .store
        .run(move |s| {
            if !cluster_exists(s, &cluster)? {
                return Ok(Err(EcsError::cluster_not_found()));
            }
            let existing: Vec<Object> = ids
                .iter()
                .map(|id| s.get(&ObjectKey::new(Kind::Task, Some(&cluster), id)))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect();
            if req.client_token.is_some() && !existing.is_empty() {
                let same = existing.iter().all(|t| {
                    t.metadata.annotations.get(REQUEST_ANNOTATION) == Some(&fingerprint)
                });
                if !same {
                    return Ok(Err(EcsError::invalid_parameter(
                        "clientToken was already used for a RunTask with other parameters",
                    )));
                }
                return Ok(Ok(answer(s, &caller, &existing)?));
            }
            let (td_name, td) = match run::task_definition(s, &req.task_definition)? {
                Ok(found) => found,
                Err(e) => return Ok(Err(e)),
            };
            let spec = match run::task_spec(&req, &plan, &td_name, &td) {
                Ok(spec) => spec,
                Err(e) => return Ok(Err(e)),
            };
            let mut objects = Vec::new();
            for id in &ids {
                let mut o = match Object::with_spec(Kind::Task, id.as_str(), &spec) {
                    Ok(o) => o,
                    Err(e) => return Ok(Err(EcsError::server(e.to_string()))),
                };
                o.metadata.cluster = Some(cluster.clone());
                if let Some(token) = &req.client_token {
                    let a = &mut o.metadata.annotations;
                    a.insert(TOKEN_ANNOTATION.to_string(), token.clone());
                    a.insert(REQUEST_ANNOTATION.to_string(), fingerprint.clone());
                }
                objects.push(o);
            }
            if let Err(e) = admit_and_apply(&admission, &caller.identity, s, objects, &format!("tasks of cluster {cluster}"))? {
                return Ok(Err(e));
            }
            tracing::info!(cluster, task_definition = td_name, count = ids.len(), identity = %caller.identity.name, "started tasks (ECS API)");
            let made: Vec<Object> = ids
                .iter()
                .map(|id| s.get(&ObjectKey::new(Kind::Task, Some(&cluster), id)))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect();
            Ok(Ok(answer(s, &caller, &made)?))
        })
        .await
        .map_err(store_error)?
}

/// RunTask's answer: the tasks, and no failures.
fn answer(s: &dyn Store, caller: &Caller, tasks: &[Object]) -> Result<Value, store::StoreError> {
    let mut lookups = Lookups::default();
    let described = tasks
        .iter()
        .map(|t| lookups.describe(s, caller, t, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"tasks": described, "failures": []}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StopInput {
    cluster: Option<String>,
    task: String,
    reason: Option<String>,
}

/// The apply request that asks `task` to stop (with its resourceVersion, so that the write
/// fails if it changed since it was read); `None` when it was asked to stop already.
fn stop_request(task: &Object, reason: &str) -> Result<Option<Object>, serde_json::Error> {
    let spec: TaskSpec = task.spec_as()?;
    if spec.stop_requested() {
        return Ok(None);
    }
    let mut out = task.cas_request();
    out.merge_spec(&StopRequest::new(StopCode::UserInitiated, reason))?;
    Ok(Some(out))
}

/// StopTask: asks the task to stop and answers it (a task asked already keeps its first
/// reason, as `ecsctl stop-task`).
pub(super) async fn stop(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: StopInput = input(body)?;
    let reason = req.reason.unwrap_or_else(|| DEFAULT_REASON.to_string());
    if reason.chars().count() > MAX_REASON {
        return Err(EcsError::invalid_parameter(format!(
            "reason: at most {MAX_REASON} characters"
        )));
    }
    let cluster = cluster_param(req.cluster.as_deref())?;
    access::authorize(
        &caller.identity,
        &access::Action::on(access::Verb::Write, Kind::Task, Some(&cluster), ""),
    )
    .map_err(|f| denied(f.into()))?;
    let not_found = || EcsError::invalid_parameter("The referenced task was not found.");
    let id = task_id(&cluster, &req.task).ok_or_else(not_found)?;
    let (admission, caller) = (state.admission.clone(), caller.clone());
    state
        .store
        .run(move |s| {
            if !cluster_exists(s, &cluster)? {
                return Ok(Err(EcsError::cluster_not_found()));
            }
            let key = ObjectKey::new(Kind::Task, Some(&cluster), &id);
            for attempt in 1..=CAS_ATTEMPTS {
                let Some(task) = s.get(&key)? else {
                    return Ok(Err(not_found()));
                };
                let request = match stop_request(&task, &reason) {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => return Ok(Err(EcsError::server(format!("task {id}: {e}")))),
                };
                let admitted = match admission.admit_apply_as(&caller.identity, s, vec![request]) {
                    Ok(a) => a,
                    Err(e) => return Ok(Err(denied(e))),
                };
                match s.apply_all(admitted.objects, false) {
                    Ok(_) => {
                        tracing::info!(task = %key, identity = %caller.identity.name, "asked a task to stop (ECS API)");
                        break;
                    }
                    Err(store::StoreError::Conflict { .. }) if attempt < CAS_ATTEMPTS => continue,
                    Err(e) => return Err(e),
                }
            }
            let Some(task) = s.get(&key)? else {
                return Ok(Err(not_found()));
            };
            let described = Lookups::default().describe(s, &caller, &task, false)?;
            Ok(Ok(json!({ "task": described })))
        })
        .await
        .map_err(store_error)?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stop_requests_keep_the_spec_and_compare_and_swap() {
        let task: Object = serde_json::from_value(json!({"apiVersion": "ecs/v1", "kind": "Task",
            "metadata": {"name": "abc", "cluster": "shop", "resourceVersion": 42, "uid": "u"},
            "spec": {"taskDefinition": "web:1", "startedBy": "ci", "tags": [{"key": "a", "value": "b"}]},
            "status": {"lastStatus": "RUNNING"}}))
        .unwrap();
        let stop = stop_request(&task, "bad deploy").unwrap().unwrap();
        assert_eq!(
            serde_json::to_value(&stop).unwrap(),
            json!({"apiVersion": "ecs/v1", "kind": "Task",
                "metadata": {"name": "abc", "cluster": "shop", "resourceVersion": 42},
                "spec": {"taskDefinition": "web:1", "startedBy": "ci", "tags": [{"key": "a", "value": "b"}],
                         "desiredStatus": "STOPPED", "stopCode": "UserInitiated", "stoppedReason": "bad deploy"}})
        );
        let mut stopping = task.clone();
        stopping.spec["desiredStatus"] = json!("STOPPED");
        assert!(stop_request(&stopping, "again").unwrap().is_none());
    }
}
