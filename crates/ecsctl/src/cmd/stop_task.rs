//! `ecsctl stop-task ID`: ask a task to stop (spec.desiredStatus STOPPED, stopCode
//! UserInitiated), written with compare-and-swap so a concurrent change is never lost.

use super::parse_duration;
use super::run_task::{Goal, wait_for};
use crate::client::{Client, objects_path};
use crate::error::{ApiError, is_not_found};
use anyhow::{Context, Result};
use api::task::{StopCode, StopRequest, TaskSpec, TaskStatus};
use api::wire::{ApplyRequest, ApplyResponse};
use api::{Kind, Object};
use std::time::Duration;

/// Attempts when someone else writes the task between our read and our write.
const CAS_ATTEMPTS: usize = 5;
/// The reason recorded when none is given (ECS's words).
const DEFAULT_REASON: &str = "Task stopped by user";

/// Stop a running task
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl stop-task 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01
  ecsctl stop-task 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 --cluster prod --reason \"bad deploy\"
  ecsctl stop-task 3f2a9c0e4b7d4a1f9c3e5b6a7d8e9f01 --wait     # until it is STOPPED

The task's containers get their stop signal (SIGTERM), then SIGKILL after their stopTimeout.
The task keeps stopCode UserInitiated and the reason: `ecsctl describe task ID` shows them.
Stopping a task that is already stopping or stopped changes nothing.")]
pub struct Args {
    /// The task id
    pub id: String,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Why the task is stopped (recorded as its stoppedReason)
    #[arg(long, value_name = "TEXT", default_value = DEFAULT_REASON)]
    pub reason: String,
    /// Wait until the task is STOPPED
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, requires = "wait")]
    pub timeout: Duration,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
    let path = objects_path(Kind::Task, Some(&args.id), Some(cluster), None);
    let mut attempt = 0;
    let task = loop {
        attempt += 1;
        let task: Object = match client.get(&path).await {
            Err(e) if is_not_found(&e) => {
                anyhow::bail!("task {} not found in cluster {cluster}", args.id)
            }
            r => r?,
        };
        let Some(request) = stop_request(&task, &args.reason)? else {
            break task; // already asked to stop: the first reason stands
        };
        match client
            .post::<_, ApplyResponse>(
                "/v1/apply",
                &ApplyRequest {
                    objects: vec![request],
                },
            )
            .await
        {
            Ok(_) => break task,
            Err(e)
                if attempt < CAS_ATTEMPTS
                    && e.downcast_ref::<ApiError>()
                        .is_some_and(|a| a.status == 409) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
    };
    // A status this release cannot read counts as not stopped yet.
    let stopped = task
        .status_as::<TaskStatus>()
        .is_ok_and(|st| st.last_status.is_terminal());
    if stopped {
        outln!("task/{} already stopped", args.id);
        return Ok(());
    }
    outln!("task/{} stopping", args.id);
    if args.wait {
        wait_for(
            &client,
            cluster,
            std::slice::from_ref(&args.id),
            Goal::Stopped,
            args.timeout,
        )
        .await?;
        outln!("task/{} stopped", args.id);
    }
    Ok(())
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
mod tests {
    use super::*;
    use serde_json::json;

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
