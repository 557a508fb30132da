//! The changes a user asks for by name: scale a service, force a new deployment, roll back,
//! stop a task. One function per action, called by the CLI (`cmd/`) and by the console
//! (`console/actions.rs`) alike, so that both do exactly the same thing.
//!
//! Every write is a compare-and-swap (read, change, write with the resourceVersion read; on
//! a 409 read again and retry): a concurrent change of the object is never lost. Errors are
//! the server's ([`crate::error::ApiError`], e.g. a viewer's 403) or name what is wrong.

use crate::client::{Client, objects_path};
use crate::error::{ApiError, is_not_found};
use anyhow::{Context, Result};
use api::service::{ScaleRequest, SchedulingStrategy, ServiceSpec, ServiceStatus};
use api::task::{StopCode, StopRequest, TaskSpec, TaskStatus};
use api::wire::{ApplyRequest, ApplyResponse};
use api::{Kind, Object};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Attempts when someone else writes the object between our read and our write.
const CAS_ATTEMPTS: usize = 5;

/// The annotation that asks the service controller for a new deployment (any new value).
pub const FORCE_ANNOTATION: &str = "ecsctl.dev/force-deployment";

/// GETs a service; "not found" reads as one clear line.
pub async fn get_service(client: &Client, cluster: &str, name: &str) -> Result<Object> {
    match client
        .get(&objects_path(
            Kind::Service,
            Some(name),
            Some(cluster),
            None,
        ))
        .await
    {
        Err(e) if is_not_found(&e) => {
            anyhow::bail!("service/{name} not found in cluster {cluster}")
        }
        r => r,
    }
}

/// The typed spec of a service as the server returned it.
pub fn service_spec(svc: &Object) -> Result<ServiceSpec> {
    svc.spec_as()
        .with_context(|| format!("reading the spec of service/{}", svc.metadata.name))
}

/// The service's status; a status this release cannot read shows as none yet.
pub fn status_of(svc: &Object) -> ServiceStatus {
    svc.status_as().unwrap_or_default()
}

/// Whether `e` is the server's 409 (someone wrote the object since we read it).
fn is_conflict(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>()
        .is_some_and(|a| a.status == 409)
}

/// Writes `object` (a compare-and-swap request) through `/v1/apply`.
async fn apply(client: &Client, object: Object) -> Result<()> {
    client
        .post::<_, ApplyResponse>(
            "/v1/apply",
            &ApplyRequest {
                objects: vec![object],
            },
        )
        .await
        .map(drop)
}

/// Reads the service, lets `change` edit it (returning whether it changed anything), and
/// writes it back with compare-and-swap, retrying on a conflict. Returns the object as
/// written (or as read, when `change` changed nothing) and whether it was written.
pub async fn update_service<F>(
    client: &Client,
    cluster: &str,
    name: &str,
    mut change: F,
) -> Result<(Object, bool)>
where
    F: FnMut(&mut Object) -> Result<bool>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut svc = get_service(client, cluster, name).await?;
        if !change(&mut svc)? {
            return Ok((svc, false));
        }
        match apply(client, svc.cas_request()).await {
            Ok(()) => return Ok((svc, true)),
            Err(e) if attempt < CAS_ATTEMPTS && is_conflict(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Sets a service's desiredCount to `replicas`; `false` when it was that already. A DAEMON
/// service (one task per container instance) has no desiredCount to set: an error.
#[tracing::instrument(skip(client))]
pub async fn scale(client: &Client, cluster: &str, name: &str, replicas: u32) -> Result<bool> {
    let (_, written) = update_service(client, cluster, name, |svc| {
        let spec = service_spec(svc)?;
        if spec.scheduling_strategy == Some(SchedulingStrategy::Daemon) {
            anyhow::bail!(
                "service/{name} is a DAEMON service (one task per container instance): its desiredCount cannot be set"
            );
        }
        if spec.desired_count.map(|c| c.get()) == Some(replicas) {
            return Ok(false);
        }
        // Only desiredCount changes: the rest of the spec stays as the user wrote it.
        svc.merge_spec(&ScaleRequest {
            desired_count: replicas,
        })?;
        Ok(true)
    })
    .await?;
    Ok(written)
}

/// Asks for a new deployment of the service's current task definition (ECS's
/// --force-new-deployment): the annotation [`FORCE_ANNOTATION`] gets the current time.
#[tracing::instrument(skip(client))]
pub async fn force_new_deployment(client: &Client, cluster: &str, name: &str) -> Result<()> {
    let token = OffsetDateTime::now_utc().format(&Rfc3339)?;
    update_service(client, cluster, name, |svc| {
        svc.metadata
            .annotations
            .insert(FORCE_ANNOTATION.to_string(), token.clone());
        Ok(true)
    })
    .await?;
    Ok(())
}

/// `web:3` -> `web`.
pub fn family_of(td: &str) -> &str {
    td.split_once(':').map_or(td, |(f, _)| f)
}

/// The task definition a rollback goes back to: the newest deployment of another task
/// definition than `current` (what the spec asks for now) that did not fail. After a failed
/// rollout that the breaker rolled back, that is the revision the service runs again.
pub fn previous_task_definition(st: &ServiceStatus, current: &str) -> Option<String> {
    st.deployments
        .iter()
        .rev()
        .find(|d| d.task_definition != current && !d.rollout_state.is_failed())
        .map(|d| d.task_definition.clone())
}

/// What a rollback would do: from which task definition to which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollback {
    /// What the service's spec resolves to now (`web:2`), or as written when that cannot
    /// be resolved.
    pub from: String,
    /// `family:N`, checked to exist.
    pub to: String,
}

/// A rollback to "the task definition deployed before" of a service that has none.
#[derive(Debug)]
pub struct NothingToRollBackTo {
    pub service: String,
}

impl std::fmt::Display for NothingToRollBackTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service/{} has no earlier deployment of another task definition to go back to",
            self.service
        )
    }
}

impl std::error::Error for NothingToRollBackTo {}

/// The TaskDefinition `family:N` or `family` (its latest) as `family:N`; `None` when there
/// is no such task definition.
pub async fn resolve_task_definition(client: &Client, given: &str) -> Result<Option<String>> {
    match client
        .get::<Object>(&objects_path(Kind::TaskDefinition, Some(given), None, None))
        .await
    {
        Ok(td) => Ok(Some(td.display_name())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Plans a rollback of a service to revision `to_revision` of its family, or (`None`) to
/// the task definition deployed before; changes nothing. An error when there is nothing to
/// go back to or the target does not exist.
#[tracing::instrument(skip(client))]
pub async fn plan_rollback(
    client: &Client,
    cluster: &str,
    name: &str,
    to_revision: Option<u64>,
) -> Result<Rollback> {
    let svc = get_service(client, cluster, name).await?;
    let spec_td = service_spec(&svc)?.task_definition;
    let st = status_of(&svc);
    let from = match resolve_task_definition(client, &spec_td).await? {
        Some(td) => td,
        None => st
            .primary()
            .map(|d| d.task_definition.clone())
            .unwrap_or(spec_td.clone()),
    };
    let to = match to_revision {
        Some(n) => format!("{}:{n}", family_of(&spec_td)),
        None => previous_task_definition(&st, &from).ok_or_else(|| NothingToRollBackTo {
            service: name.to_string(),
        })?,
    };
    if resolve_task_definition(client, &to).await?.is_none() {
        anyhow::bail!(
            "task definition {to} not found (`ecsctl get td {}` lists the latest revision)",
            family_of(&to)
        );
    }
    Ok(Rollback { from, to })
}

/// The field of a Service's spec that a rollback sets. Merged into the stored spec
/// (`Object::merge_spec`) so that everything else stays as the user wrote it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskDefinitionChange<'a> {
    task_definition: &'a str,
}

/// Sets the service's spec.taskDefinition to `to` (`family:N`, which pins the revision);
/// `false` when it was that already.
#[tracing::instrument(skip(client))]
pub async fn roll_back(client: &Client, cluster: &str, name: &str, to: &str) -> Result<bool> {
    let (_, written) = update_service(client, cluster, name, |svc| {
        if service_spec(svc)?.task_definition == to {
            return Ok(false);
        }
        svc.merge_spec(&TaskDefinitionChange {
            task_definition: to,
        })?;
        Ok(true)
    })
    .await?;
    Ok(written)
}

/// What [`stop_task`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Asked to stop now, or earlier (the first reason stands); not stopped yet.
    Stopping,
    /// It had stopped already.
    Stopped,
}

/// Asks a task to stop (spec.desiredStatus STOPPED, stopCode UserInitiated, `reason` as its
/// stoppedReason). A task asked to stop already keeps its first reason.
#[tracing::instrument(skip(client))]
pub async fn stop_task(client: &Client, cluster: &str, id: &str, reason: &str) -> Result<Stop> {
    let path = objects_path(Kind::Task, Some(id), Some(cluster), None);
    let mut attempt = 0;
    let task = loop {
        attempt += 1;
        let task: Object = match client.get(&path).await {
            Err(e) if is_not_found(&e) => {
                anyhow::bail!("task {id} not found in cluster {cluster}")
            }
            r => r?,
        };
        let Some(request) = stop_request(&task, reason)? else {
            break task; // already asked to stop: the first reason stands
        };
        match apply(client, request).await {
            Ok(()) => break task,
            Err(e) if attempt < CAS_ATTEMPTS && is_conflict(&e) => {}
            Err(e) => return Err(e),
        }
    };
    // A status this release cannot read counts as not stopped yet.
    let stopped = task
        .status_as::<TaskStatus>()
        .is_ok_and(|st| st.last_status.is_terminal());
    Ok(if stopped {
        Stop::Stopped
    } else {
        Stop::Stopping
    })
}

/// The apply request that stops `task` (with its resourceVersion, so that the write fails
/// if the task changed since it was read); `None` when it was asked to stop already.
fn stop_request(task: &Object, reason: &str) -> Result<Option<Object>> {
    let spec: TaskSpec = task
        .spec_as()
        .with_context(|| format!("reading the spec of task {}", task.metadata.name))?;
    if spec.desired_status.is_some_and(|d| d.is_stopped()) {
        return Ok(None);
    }
    let mut request = task.cas_request();
    // Only the stop fields change: the rest of the spec stays as it was written.
    request.merge_spec(&StopRequest::new(StopCode::UserInitiated, reason))?;
    Ok(Some(request))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use api::service::{DeploymentStatus, DeploymentSummary};
    use serde_json::json;

    /// A deployment of 3 tasks, all running, created at 2024-01-01T00:00:00Z (for the tests
    /// here and `cmd/rollout`'s).
    pub(crate) fn dep(id: &str, status: &str, td: &str, state: &str) -> DeploymentSummary {
        DeploymentSummary {
            id: id.into(),
            status: status.parse().unwrap(),
            task_definition: td.into(),
            desired_count: 3,
            running_count: 3,
            pending_count: 0,
            failed_tasks: 0,
            rollout_state: state.parse().unwrap(),
            rollout_state_reason: String::new(),
            created_at: "2024-01-01T00:00:00Z".into(),
            updated_at: String::new(),
            generation: 1,
            rolled_back_from: String::new(),
        }
    }

    #[test]
    fn rollback_goes_to_the_previous_good_task_definition() {
        let mut st = ServiceStatus {
            deployments: vec![
                dep("ecs-svc/1", "INACTIVE", "web:1", "COMPLETED"),
                dep("ecs-svc/2", "INACTIVE", "web:2", "FAILED"),
                dep("ecs-svc/3", "INACTIVE", "web:3", "COMPLETED"),
                dep("ecs-svc/4", "PRIMARY", "web:3", "COMPLETED"),
            ],
            ..ServiceStatus::default()
        };
        assert_eq!(
            previous_task_definition(&st, "web:3").as_deref(),
            Some("web:1")
        );
        st.deployments[3].task_definition = "web:4".into();
        assert_eq!(
            previous_task_definition(&st, "web:4").as_deref(),
            Some("web:3")
        );
        // web:5 failed and the breaker went back to web:4: a rollback pins web:4.
        st.deployments[3].status = DeploymentStatus::Inactive;
        st.deployments
            .push(dep("ecs-svc/5", "ACTIVE", "web:5", "FAILED"));
        st.deployments
            .push(dep("ecs-svc/6", "PRIMARY", "web:4", "COMPLETED"));
        assert_eq!(
            previous_task_definition(&st, "web:5").as_deref(),
            Some("web:4")
        );
        st.deployments.truncate(1);
        st.deployments[0].status = DeploymentStatus::Primary;
        assert_eq!(previous_task_definition(&st, "web:1"), None);
        assert_eq!(family_of("web:3"), "web");
        assert_eq!(family_of("web"), "web");
    }

    #[test]
    fn service_writes_keep_user_metadata_and_compare_and_swap() {
        let svc = json!({"apiVersion": "ecs/v1", "kind": "Service",
            "metadata": {"name": "web", "cluster": "prod", "labels": {"a": "b"},
                         "annotations": {"x": "y"}, "resourceVersion": 7, "uid": "u",
                         "generation": 3, "creationTimestamp": "2024-05-01T11:00:00Z"},
            "spec": {"taskDefinition": "web", "desiredCount": 2},
            "status": {"runningCount": 2}});
        let svc: Object = serde_json::from_value(svc).unwrap();
        assert_eq!(
            serde_json::to_value(svc.cas_request()).unwrap(),
            json!({"apiVersion": "ecs/v1", "kind": "Service",
                "metadata": {"name": "web", "cluster": "prod", "labels": {"a": "b"},
                             "annotations": {"x": "y"}, "resourceVersion": 7},
                "spec": {"taskDefinition": "web", "desiredCount": 2}})
        );
    }

    #[test]
    fn stop_requests_keep_the_spec_and_compare_and_swap() {
        let task = json!({"apiVersion": "ecs/v1", "kind": "Task",
            "metadata": {"name": "abc", "cluster": "prod", "labels": {"a": "b"},
                         "resourceVersion": 42, "uid": "u", "generation": 1,
                         "creationTimestamp": "2024-05-01T11:00:00Z"},
            "spec": {"taskDefinition": "web:1", "startedBy": "ci"},
            "status": {"lastStatus": "RUNNING"}});
        let stop = |task: &serde_json::Value, reason: &str| {
            let task: Object = serde_json::from_value(task.clone()).unwrap();
            stop_request(&task, reason)
                .unwrap()
                .map(|r| serde_json::to_value(r).unwrap())
        };
        assert_eq!(
            stop(&task, "bad deploy").unwrap(),
            json!({"apiVersion": "ecs/v1", "kind": "Task",
                "metadata": {"name": "abc", "cluster": "prod", "labels": {"a": "b"}, "resourceVersion": 42},
                "spec": {"taskDefinition": "web:1", "startedBy": "ci", "desiredStatus": "STOPPED",
                         "stopCode": "UserInitiated", "stoppedReason": "bad deploy"}})
        );
        let mut stopping = task.clone();
        stopping["spec"]["desiredStatus"] = json!("STOPPED");
        assert_eq!(stop(&stopping, "again"), None);
    }
}
