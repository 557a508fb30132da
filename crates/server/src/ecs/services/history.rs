//! ListServiceDeployments and DescribeServiceDeployments: a service's deployments (the
//! summaries its status keeps and the Deployment objects mirror) as ECS's service
//! deployments, `arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID` where ID
//! is the deployment's number (`ecs-svc/ID`).

use super::{Found, cluster_exists, find, run, service_arg};
use crate::ecs::epoch;
use crate::ecs::input::{Page, parse as input, with_next_token};
use crate::ecs::{Caller, EcsState};
use admission::access;
use api::Kind;
use api::deployment::{DeploymentStatus, DeploymentSummary, RolloutState};
use api::service::{ServiceSpec, ServiceStatus};
use ecsapi::EcsError;
use ecsapi::arn::{self, Arn};
use serde::Deserialize;
use serde_json::{Value, json};
use store::Store;
use time::OffsetDateTime;

/// ECS's service deployment statuses.
const STATUSES: &[&str] = &[
    "PENDING",
    "SUCCESSFUL",
    "STOPPED",
    "STOP_REQUESTED",
    "IN_PROGRESS",
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
];

/// A deployment's id as its ARN carries it: `ecs-svc/123` -> `123`.
fn short_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn arn_of(caller: &Caller, kind: &str, cluster: &str, service: &str, id: &str) -> String {
    Arn {
        region: caller.region.clone(),
        account: caller.account_id.clone(),
        resource_type: kind.to_string(),
        resource: format!("{cluster}/{service}/{}", short_id(id)),
    }
    .to_string()
}

/// The ECS status of a deployment (`deleted`: its service is gone, so nothing is still in
/// progress).
pub(crate) fn status_of(d: &DeploymentSummary, deleted: bool) -> &'static str {
    let rollback = !d.rolled_back_from.is_empty();
    match d.rollout_state {
        RolloutState::Completed if rollback => "ROLLBACK_SUCCESSFUL",
        RolloutState::Completed => "SUCCESSFUL",
        RolloutState::Failed if rollback => "ROLLBACK_FAILED",
        RolloutState::Failed => "STOPPED",
        // Superseded (or its service deleted) before it completed.
        _ if deleted || d.status != DeploymentStatus::Primary => "STOPPED",
        _ if rollback => "ROLLBACK_IN_PROGRESS",
        _ => "IN_PROGRESS",
    }
}

fn finished(status: &str) -> bool {
    !matches!(status, "IN_PROGRESS" | "ROLLBACK_IN_PROGRESS" | "PENDING")
}

/// A service's spec, status and whether it was deleted.
struct History {
    spec: Value,
    status: ServiceStatus,
    deleted: bool,
}

fn history(found: Found) -> History {
    match found {
        Found::Active(o) => History {
            status: o.status_as().unwrap_or_default(),
            spec: o.spec,
            deleted: false,
        },
        Found::Deleted(t) => History {
            spec: t.snapshot.spec,
            status: t.snapshot.status,
            deleted: true,
        },
    }
}

fn read_history(
    s: &dyn Store,
    caller: &Caller,
    cluster: &str,
    service: &str,
    now: OffsetDateTime,
) -> Result<Option<History>, super::Fail> {
    access::authorize_list(&caller.identity, Kind::Service, Some(cluster))
        .map_err(|f| EcsError::access_denied(f.to_string()))?;
    Ok(find(s, cluster, service, now)?.map(history))
}

fn brief(
    caller: &Caller,
    cluster: &str,
    service: &str,
    d: &DeploymentSummary,
    deleted: bool,
) -> Value {
    let status = status_of(d, deleted);
    let mut o = json!({
        "serviceDeploymentArn": arn_of(caller, "service-deployment", cluster, service, &d.id),
        "serviceArn": Arn::service(&caller.region, &caller.account_id, cluster, service).to_string(),
        "clusterArn": Arn::cluster(&caller.region, &caller.account_id, cluster).to_string(),
        "targetServiceRevisionArn": arn_of(caller, "service-revision", cluster, service, &d.id),
        "status": status,
        "statusReason": d.rollout_state_reason,
    });
    if let Some(t) = epoch(&d.created_at) {
        o["createdAt"] = json!(t);
        o["startedAt"] = json!(t);
    }
    if finished(status)
        && let Some(t) = epoch(&d.updated_at)
    {
        o["finishedAt"] = json!(t);
    }
    o
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedAt {
    before: Option<f64>,
    after: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    service: String,
    cluster: Option<String>,
    #[serde(default)]
    status: Vec<String>,
    created_at: Option<CreatedAt>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// ListServiceDeployments: a service's deployments, newest first, filtered by status and
/// creation time, 20 a page unless asked for up to 100.
pub(in crate::ecs) async fn list_deployments(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: ListInput = input(body)?;
    if let Some(bad) = req.status.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(EcsError::invalid_parameter(format!(
            "status {bad:?} is not one of {}",
            STATUSES.join(", ")
        )));
    }
    let page = Page::new(req.max_results, req.next_token.as_deref(), 20, 100)?;
    let Some((cluster, service)) = service_arg(req.cluster.as_deref(), &req.service)? else {
        return Err(EcsError::service_not_found());
    };
    let caller = caller.clone();
    run(state, move |s| {
        let now = OffsetDateTime::now_utc();
        cluster_exists(s, &cluster)?;
        let Some(h) = read_history(s, &caller, &cluster, &service, now)? else {
            return Err(EcsError::service_not_found().into());
        };
        let (before, after) = req
            .created_at
            .as_ref()
            .map_or((None, None), |c| (c.before, c.after));
        let items: Vec<(String, Value)> = h
            .status
            .deployments
            .iter()
            .filter(|d| {
                req.status.is_empty() || req.status.iter().any(|s| s == status_of(d, h.deleted))
            })
            .filter(|d| {
                let t = epoch(&d.created_at).unwrap_or(0.0);
                before.is_none_or(|b| t < b) && after.is_none_or(|a| t > a)
            })
            .map(|d| {
                let nanos = controllers::timefmt::parse_rfc3339(&d.created_at)
                    .map_or(0, |t| t.unix_timestamp_nanos().max(0));
                (
                    format!("{nanos:024}|{}", d.id),
                    brief(&caller, &cluster, &service, d, h.deleted),
                )
            })
            .collect();
        let mut items = items;
        items.sort_by(|a, b| b.0.cmp(&a.0));
        let (out, token) = page.take(items, true);
        Ok(with_next_token(json!({ "serviceDeployments": out }), token))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    service_deployment_arns: Vec<String>,
}

/// DescribeServiceDeployments: each ARN's deployment in full; those not found (or not
/// readable) in `failures` with reason MISSING.
pub(in crate::ecs) async fn describe_deployments(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DescribeInput = input(body)?;
    if req.service_deployment_arns.is_empty() || req.service_deployment_arns.len() > 20 {
        return Err(EcsError::invalid_parameter(
            "serviceDeploymentArns: between 1 and 20 ARNs",
        ));
    }
    let caller = caller.clone();
    run(state, move |s| {
        let now = OffsetDateTime::now_utc();
        let (mut found, mut failures) = (Vec::new(), Vec::new());
        for a in &req.service_deployment_arns {
            match describe_one(s, &caller, a, now)? {
                Some(v) => found.push(v),
                None => failures.push(json!({"arn": a, "reason": "MISSING"})),
            }
        }
        Ok(json!({"serviceDeployments": found, "failures": failures}))
    })
    .await
}

fn describe_one(
    s: &dyn Store,
    caller: &Caller,
    asked: &str,
    now: OffsetDateTime,
) -> Result<Option<Value>, super::Fail> {
    let Some(parsed) = arn::Arn::parse(asked).filter(|a| a.resource_type == "service-deployment")
    else {
        return Ok(None);
    };
    let parts: Vec<&str> = parsed.resource.split('/').collect();
    let [cluster, service, id] = parts[..] else {
        return Ok(None);
    };
    if s.get(&super::service_key(cluster, service))?.is_none()
        && super::tombstone::get(s, cluster, service, now)?.is_none()
    {
        return Ok(None);
    }
    if access::authorize_list(&caller.identity, Kind::Service, Some(cluster)).is_err() {
        return Ok(None);
    }
    let Some(h) = read_history(s, caller, cluster, service, now)? else {
        return Ok(None);
    };
    let deployments = &h.status.deployments;
    let Some(i) = deployments.iter().position(|d| short_id(&d.id) == id) else {
        return Ok(None);
    };
    let d = &deployments[i];
    let typed: Option<ServiceSpec> = serde_json::from_value(h.spec.clone()).ok();
    let desired = super::shape::desired_count(&h.spec, typed.as_ref()) as u32;
    let mut o = brief(caller, cluster, service, d, h.deleted);
    let status = status_of(d, h.deleted);
    let revision = |x: &DeploymentSummary| {
        json!({
            "arn": arn_of(caller, "service-revision", cluster, service, &x.id),
            "requestedTaskCount": x.desired_count,
            "runningTaskCount": x.running_count,
            "pendingTaskCount": x.pending_count,
        })
    };
    o["targetServiceRevision"] = revision(d);
    o["sourceServiceRevisions"] = json!(
        i.checked_sub(1)
            .map(|p| vec![revision(&deployments[p])])
            .unwrap_or_default()
    );
    o.as_object_mut()
        .and_then(|m| m.remove("targetServiceRevisionArn"));
    if let Some(t) = epoch(&d.updated_at) {
        o["updatedAt"] = json!(t);
        if status == "STOPPED" {
            o["stoppedAt"] = json!(t);
        }
    }
    if let Some(c) = h.spec.get("deploymentConfiguration") {
        o["deploymentConfiguration"] = c.clone();
    }
    let breaker = typed
        .as_ref()
        .and_then(|t| t.deployment_configuration.as_ref())
        .and_then(|c| c.deployment_circuit_breaker.as_ref())
        .is_some_and(|b| b.enable);
    o["deploymentCircuitBreaker"] = json!({
        "status": match (breaker, d.rollout_state) {
            (false, _) => "DISABLED",
            (true, RolloutState::Failed) => "TRIGGERED",
            (true, RolloutState::InProgress) => "MONITORING",
            (true, _) => "MONITORING_COMPLETE",
        },
        "failureCount": d.failed_tasks,
        "threshold": controllers::service::plan::breaker_threshold(desired),
    });
    if !d.rolled_back_from.is_empty() {
        o["rollback"] = json!({
            "reason": d.rollout_state_reason,
            "startedAt": epoch(&d.created_at),
            "serviceRevisionArn": arn_of(caller, "service-revision", cluster, service, &d.id),
        });
    }
    Ok(Some(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(status: DeploymentStatus, state: RolloutState, rollback: bool) -> DeploymentSummary {
        DeploymentSummary {
            id: "ecs-svc/1".into(),
            status,
            task_definition: "web:1".into(),
            desired_count: 1,
            running_count: 1,
            pending_count: 0,
            failed_tasks: 0,
            rollout_state: state,
            rollout_state_reason: String::new(),
            created_at: String::new(),
            updated_at: String::new(),
            generation: 1,
            rolled_back_from: if rollback {
                "ecs-svc/0".into()
            } else {
                String::new()
            },
        }
    }

    #[test]
    fn statuses_in_ecs_words() {
        use DeploymentStatus::*;
        use RolloutState::*;
        assert_eq!(
            status_of(&d(Primary, InProgress, false), false),
            "IN_PROGRESS"
        );
        assert_eq!(
            status_of(&d(Primary, InProgress, true), false),
            "ROLLBACK_IN_PROGRESS"
        );
        assert_eq!(status_of(&d(Primary, InProgress, false), true), "STOPPED");
        assert_eq!(
            status_of(&d(Primary, Completed, false), false),
            "SUCCESSFUL"
        );
        assert_eq!(
            status_of(&d(Inactive, Completed, true), false),
            "ROLLBACK_SUCCESSFUL"
        );
        assert_eq!(status_of(&d(Active, Failed, false), false), "STOPPED");
        assert_eq!(
            status_of(&d(Primary, Failed, true), false),
            "ROLLBACK_FAILED"
        );
        assert_eq!(status_of(&d(Active, InProgress, false), false), "STOPPED");
        assert_eq!(short_id("ecs-svc/0123"), "0123");
    }
}
