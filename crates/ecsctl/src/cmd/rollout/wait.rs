//! Following a service until its current rollout is over: `rollout status` and `apply --wait`.
//!
//! The rollout that counts is the one for the service as it is now: the controller must have
//! seen the current spec (status.observedGeneration) and the current force-deployment token,
//! and the PRIMARY deployment must run the task definition the spec resolves to now
//! (`family` means its latest revision, which a TaskDefinition apply may have just changed).
//! It is over when that deployment is COMPLETED and the service is in steady state, or when
//! the newest deployment made for it FAILED (the circuit breaker; with rollback, a
//! deployment of the previous revision is PRIMARY again).

use crate::actions::{FORCE_ANNOTATION, resolve_task_definition, service_spec, status_of};
use crate::client::{Client, objects_path};
use crate::cmd::show_duration;
use crate::error::{ApiError, is_not_found};
use crate::output::progress::{Mode, RolloutView};
use anyhow::Result;
use api::service::{DeploymentSummary, RolloutState, ServiceSpec, ServiceStatus};
use api::{Kind, Object};
use std::time::Duration;
use tokio::time::Instant;

/// How often the service is read.
const POLL: Duration = Duration::from_millis(250);

/// What one look at a service says about its rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Still going: a progress line.
    Waiting(String),
    /// Over and good: the closing line.
    Done(String),
    /// Over and failed: why (and the rollback done).
    Failed(String),
}

/// Judges a service (as the server returned it) whose spec.taskDefinition resolves to
/// `resolved` (`family:N`; `None` when no such task definition exists).
pub fn judge(svc: &Object, resolved: Option<&str>) -> Verdict {
    let name = &svc.metadata.name;
    let generation = svc.metadata.generation.unwrap_or(1);
    let force = svc
        .metadata
        .annotations
        .get(FORCE_ANNOTATION)
        .map_or("", String::as_str);
    let st = status_of(svc);
    if st.observed_generation < generation || (!force.is_empty() && st.force_token != force) {
        return Verdict::Waiting(format!(
            "Waiting for the service controller to act on the change to service/{name}..."
        ));
    }
    let Some(td) = resolved else {
        let given = svc
            .spec_as::<ServiceSpec>()
            .map_or_else(|_| "?".to_string(), |s| s.task_definition);
        return Verdict::Waiting(format!(
            "Waiting for task definition {given} to exist (service/{name} cannot start tasks)..."
        ));
    };
    let primary = st.primary();
    // The newest deployment made for a change (rollbacks are made by the breaker).
    let latest = st
        .deployments
        .iter()
        .rev()
        .find(|d| d.rolled_back_from.is_empty());
    if let Some(l) = latest.filter(|l| {
        l.rollout_state.is_failed() && l.task_definition == td && l.generation >= generation
    }) {
        return Verdict::Failed(failure(l, primary));
    }
    let Some(p) = primary else {
        return Verdict::Waiting(format!(
            "Waiting for the first deployment of service/{name}..."
        ));
    };
    if p.task_definition != td {
        return Verdict::Waiting(format!(
            "Waiting for a deployment of {td} to start (PRIMARY is {} with {})...",
            p.id, p.task_definition
        ));
    }
    let steady = st.is_steady();
    let counts = format!("{} of {} tasks running", p.running_count, p.desired_count);
    match p.rollout_state {
        RolloutState::Failed => Verdict::Failed(failure(p, primary)),
        RolloutState::Completed if steady => Verdict::Done(format!(
            "service/{name} successfully rolled out: deployment {} ({}), {counts}",
            p.id, p.task_definition
        )),
        RolloutState::Completed => Verdict::Waiting(format!(
            "Waiting for service/{name} to reach a steady state: {counts}{}...",
            others(&st, p)
        )),
        _ => {
            let failed = match p.failed_tasks {
                0 => String::new(),
                1 => ", 1 failed".to_string(),
                n => format!(", {n} failed"),
            };
            Verdict::Waiting(format!(
                "Waiting for deployment {} ({}): {counts}{failed}{}...",
                p.id,
                p.task_definition,
                others(&st, p)
            ))
        }
    }
}

/// `, 2 old tasks left` while tasks of other deployments remain.
fn others(st: &ServiceStatus, primary: &DeploymentSummary) -> String {
    let n: u32 = st
        .deployments
        .iter()
        .filter(|d| d.id != primary.id)
        .map(|d| d.running_count + d.pending_count)
        .sum();
    match n {
        0 => String::new(),
        1 => ", 1 old task left".to_string(),
        n => format!(", {n} old tasks left"),
    }
}

/// Why `failed` failed, and the rollback the breaker did (if the PRIMARY is one of it).
fn failure(failed: &DeploymentSummary, primary: Option<&DeploymentSummary>) -> String {
    let reason = failed.rollout_state_reason.trim().trim_end_matches('.');
    let reason = if reason.is_empty() {
        "no reason given"
    } else {
        reason
    };
    let mut s = format!(
        "deployment {} ({}) failed: {reason} ({} failed tasks)",
        failed.id, failed.task_definition, failed.failed_tasks
    );
    match primary.filter(|p| p.rolled_back_from == failed.id) {
        Some(p) => s.push_str(&format!(
            "; rolled back to {} (deployment {}, {})",
            p.task_definition,
            p.id,
            p.rollout_state
                .as_str()
                .to_ascii_lowercase()
                .replace('_', " ")
        )),
        None => s.push_str("; no rollback"),
    }
    s
}

/// Reads the service and resolves its task definition, then judges it; with the service's
/// deployments (for the live bars).
async fn look(
    client: &Client,
    cluster: &str,
    name: &str,
) -> Result<(Verdict, Vec<DeploymentSummary>)> {
    let svc: Object = client
        .get(&objects_path(
            Kind::Service,
            Some(name),
            Some(cluster),
            None,
        ))
        .await?;
    let given = service_spec(&svc)?.task_definition;
    let resolved = resolve_task_definition(client, &given).await?;
    Ok((
        judge(&svc, resolved.as_deref()),
        status_of(&svc).deployments,
    ))
}

/// Follows service `name` until its rollout is over or `deadline` passes. `timeout` is only
/// for the message. A server that cannot be reached (restarting) is retried until the
/// deadline. When stderr is a terminal, bars per deployment are redrawn there
/// (`output::progress`); otherwise a line is printed each time the progress changes. Either
/// way the closing line goes to stdout and a failure is the error.
pub async fn wait_rollout(
    client: &Client,
    cluster: &str,
    name: &str,
    deadline: Instant,
    timeout: Duration,
) -> Result<()> {
    let mut view = match Mode::detect() {
        Mode::Live { color } => Some(RolloutView::new(color)),
        Mode::Plain => None,
    };
    let result = follow(client, cluster, name, deadline, timeout, view.as_mut()).await;
    if let Some(v) = view {
        v.finish();
    }
    let done = result?;
    outln!("{done}");
    Ok(())
}

/// The loop of [`wait_rollout`]: the closing line once the rollout is over.
async fn follow(
    client: &Client,
    cluster: &str,
    name: &str,
    deadline: Instant,
    timeout: Duration,
    mut view: Option<&mut RolloutView>,
) -> Result<String> {
    let mut last = String::new();
    let mut unreachable = false;
    loop {
        match look(client, cluster, name).await {
            Ok((Verdict::Done(msg), deployments)) => {
                if let Some(v) = view.as_deref_mut() {
                    v.update(&msg, &deployments);
                }
                return Ok(msg);
            }
            Ok((Verdict::Failed(msg), deployments)) => {
                if let Some(v) = view.as_deref_mut() {
                    v.update(&msg, &deployments);
                }
                anyhow::bail!("{msg}")
            }
            Ok((Verdict::Waiting(msg), deployments)) => {
                unreachable = false;
                if let Some(v) = view.as_deref_mut() {
                    v.update(&msg, &deployments);
                } else if msg != last {
                    outln!("{msg}");
                }
                last = msg;
            }
            Err(e) if is_not_found(&e) => {
                anyhow::bail!("service/{name} not found in cluster {cluster}")
            }
            Err(e) if e.downcast_ref::<ApiError>().is_some() => return Err(e),
            Err(e) => {
                if !unreachable {
                    let line = format!(
                        "warning: {}; retrying",
                        api::text::escape(&format!("{e:#}"))
                    );
                    match view.as_deref() {
                        Some(v) => v.println(&line),
                        None => eprintln!("{line}"),
                    }
                    unreachable = true;
                }
            }
        }
        if Instant::now() >= deadline {
            let at = if last.is_empty() {
                String::new()
            } else {
                format!(": {}", last.trim_end_matches("..."))
            };
            anyhow::bail!(
                "timed out after {} waiting for the rollout of service/{name}{at}",
                show_duration(timeout)
            );
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Judges a service given as the JSON the server sends.
    fn j(svc: &Value, resolved: Option<&str>) -> Verdict {
        judge(&serde_json::from_value(svc.clone()).unwrap(), resolved)
    }

    fn dep(id: &str, status: &str, td: &str, state: &str, gen_: u64) -> Value {
        json!({"id": id, "status": status, "taskDefinition": td, "desiredCount": 3,
               "runningCount": 1, "pendingCount": 0, "failedTasks": 0,
               "rolloutState": state, "generation": gen_})
    }

    fn svc(generation: u64, observed: u64, deployments: Vec<Value>, steady: bool) -> Value {
        json!({"apiVersion": "ecs/v1", "kind": "Service",
               "metadata": {"name": "web", "generation": generation},
               "spec": {"taskDefinition": "web"},
               "status": {"desiredCount": 3, "runningCount": 3, "pendingCount": 0,
                          "observedGeneration": observed, "deployments": deployments,
                          "conditions": [{"type": "SteadyState",
                                          "status": if steady {"True"} else {"False"}}]}})
    }

    #[test]
    fn waits_until_the_controller_saw_the_change() {
        let s = svc(
            2,
            1,
            vec![dep("ecs-svc/1", "PRIMARY", "web:1", "COMPLETED", 1)],
            true,
        );
        assert!(matches!(j(&s, Some("web:1")), Verdict::Waiting(m) if m.contains("act on")));
        // A new revision of the family: the PRIMARY still runs the old one.
        let s = svc(
            1,
            1,
            vec![dep("ecs-svc/1", "PRIMARY", "web:1", "COMPLETED", 1)],
            true,
        );
        assert!(
            matches!(j(&s, Some("web:2")), Verdict::Waiting(m) if m.contains("deployment of web:2 to start"))
        );
        assert!(
            matches!(j(&s, None), Verdict::Waiting(m) if m.contains("task definition web to exist"))
        );
        // A force-deployment token the controller has not acted on yet.
        let mut s = s.clone();
        s["metadata"]["annotations"] = json!({FORCE_ANNOTATION: "t2"});
        s["status"]["forceToken"] = json!("t1");
        assert!(matches!(j(&s, Some("web:1")), Verdict::Waiting(_)));
        s["status"]["forceToken"] = json!("t2");
        assert!(matches!(j(&s, Some("web:1")), Verdict::Done(_)));
        // No status at all yet.
        let fresh = json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "web", "generation": 1}, "spec": {"taskDefinition": "web"}, "status": null});
        assert!(matches!(j(&fresh, Some("web:1")), Verdict::Waiting(_)));
    }

    #[test]
    fn progress_then_done() {
        let mut old = dep("ecs-svc/1", "ACTIVE", "web:1", "COMPLETED", 1);
        old["runningCount"] = json!(2);
        let mut new = dep("ecs-svc/2", "PRIMARY", "web:2", "IN_PROGRESS", 2);
        new["failedTasks"] = json!(1);
        let s = svc(2, 2, vec![old, new], false);
        assert_eq!(
            j(&s, Some("web:2")),
            Verdict::Waiting(
                "Waiting for deployment ecs-svc/2 (web:2): 1 of 3 tasks running, 1 failed, 2 old tasks left...".into()
            )
        );
        let mut done = dep("ecs-svc/2", "PRIMARY", "web:2", "COMPLETED", 2);
        done["runningCount"] = json!(3);
        let s = svc(2, 2, vec![done.clone()], false);
        assert!(matches!(j(&s, Some("web:2")), Verdict::Waiting(m) if m.contains("steady state")));
        let s = svc(3, 3, vec![done], true);
        assert_eq!(
            j(&s, Some("web:2")),
            Verdict::Done(
                "service/web successfully rolled out: deployment ecs-svc/2 (web:2), 3 of 3 tasks running".into()
            )
        );
    }

    #[test]
    fn failures_with_and_without_rollback() {
        let mut failed = dep("ecs-svc/2", "ACTIVE", "web:2", "FAILED", 2);
        failed["failedTasks"] = json!(3);
        failed["rolloutStateReason"] =
            json!("ECS deployment circuit breaker: tasks failed to start.");
        let mut back = dep("ecs-svc/3", "PRIMARY", "web:1", "IN_PROGRESS", 2);
        back["rolledBackFrom"] = json!("ecs-svc/2");
        let s = svc(
            2,
            2,
            vec![
                dep("ecs-svc/1", "INACTIVE", "web:1", "COMPLETED", 1),
                failed.clone(),
                back,
            ],
            false,
        );
        assert_eq!(
            j(&s, Some("web:2")),
            Verdict::Failed(
                "deployment ecs-svc/2 (web:2) failed: ECS deployment circuit breaker: tasks failed to start (3 failed tasks); rolled back to web:1 (deployment ecs-svc/3, in progress)".into()
            )
        );
        // Undone since (web:1 asked for, generation 3): the rollback deployment is the rollout.
        let mut s2 = s.clone();
        s2["metadata"]["generation"] = json!(3);
        s2["status"]["observedGeneration"] = json!(3);
        assert!(
            matches!(j(&s2, Some("web:1")), Verdict::Waiting(m) if m.contains("ecs-svc/3 (web:1)"))
        );
        // Without rollback the failed deployment stays PRIMARY.
        failed["status"] = json!("PRIMARY");
        let s = svc(2, 2, vec![failed], false);
        assert!(
            matches!(j(&s, Some("web:2")), Verdict::Failed(m) if m.ends_with("(3 failed tasks); no rollback"))
        );
    }
}
