//! A service as ECS describes it (DescribeServices, and the answer of CreateService,
//! UpdateService and DeleteService), from what ecsctl stores: the Service's spec (ECS's
//! CreateService input) and the status the service controller reports. Pure: no store.

use crate::ecs::epoch;
use api::deployment::{DeploymentStatus, DeploymentSummary, RolloutState};
use api::service::{SchedulingStrategy, ServiceSpec, ServiceStatus};
use ecsapi::arn::Arn;
use serde_json::{Map, Value, json};

/// ECS keeps a service's 100 newest events.
const MAX_EVENTS: usize = 100;

/// Where a service stands, in ECS's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// A Service object exists.
    Active,
    /// Deleted; its tasks are still stopping.
    Draining,
    /// Deleted; every task stopped.
    Inactive,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Active => "ACTIVE",
            Lifecycle::Draining => "DRAINING",
            Lifecycle::Inactive => "INACTIVE",
        }
    }
}

/// Everything a description is made of.
pub(crate) struct Described<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub cluster: &'a str,
    pub name: &'a str,
    pub lifecycle: Lifecycle,
    /// The stored spec (ECS's CreateService fields, under their ECS names).
    pub spec: &'a Value,
    pub status: &'a ServiceStatus,
    /// When the Service object was made (RFC 3339).
    pub created_at: Option<&'a str>,
    /// The revision the service runs or is moving to, `family:N`.
    pub task_definition: &'a str,
    /// Whether the controller has not acted on the current spec (or forced deployment) yet:
    /// the deployment ECS would already show is shown as starting.
    pub unobserved: Option<Unobserved>,
    /// `include: [TAGS]`.
    pub tags: bool,
}

/// What the controller has not acted on yet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Unobserved {
    /// A new deployment is due (another revision, or a forced deployment).
    pub new_deployment: bool,
    /// Now, as epoch seconds (the pending deployment's createdAt).
    pub now: f64,
}

/// `family:N` -> its ARN (a bare family is given as it is).
pub(crate) fn task_definition_arn(region: &str, account: &str, td: &str) -> String {
    match td
        .rsplit_once(':')
        .and_then(|(f, n)| Some((f, n.parse::<u64>().ok()?)))
    {
        Some((family, n)) => Arn::task_definition(region, account, family, n).to_string(),
        None => td.to_string(),
    }
}

/// The desired count as ECS reports it (a DAEMON service: one task on the one instance).
pub(crate) fn desired_count(spec: &Value, typed: Option<&ServiceSpec>) -> u64 {
    match typed.map(ServiceSpec::scheduling_strategy) {
        Some(SchedulingStrategy::Daemon) => 1,
        _ => spec
            .get("desiredCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    }
}

/// The launch type ECS reports: the one asked for, else EC2 unless a capacity provider
/// strategy was given.
pub(crate) fn launch_type(spec: &Value) -> Option<String> {
    match spec.get("launchType").and_then(Value::as_str) {
        Some(l) => Some(l.to_string()),
        None if spec
            .get("capacityProviderStrategy")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty()) =>
        {
            None
        }
        None => Some("EC2".to_string()),
    }
}

/// REPLICA unless DAEMON was asked for.
pub(crate) fn scheduling_strategy(spec: &Value) -> String {
    spec.get("schedulingStrategy")
        .and_then(Value::as_str)
        .unwrap_or("REPLICA")
        .to_string()
}

/// The service description.
pub(crate) fn service(d: &Described<'_>) -> Value {
    let typed: Option<ServiceSpec> = serde_json::from_value(d.spec.clone()).ok();
    let field = |k: &str| d.spec.get(k).cloned();
    let list = |k: &str| field(k).unwrap_or_else(|| json!([]));
    let desired = match d.lifecycle {
        Lifecycle::Active => desired_count(d.spec, typed.as_ref()),
        Lifecycle::Draining | Lifecycle::Inactive => 0,
    };
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_string(), v);
    };
    put(
        "serviceArn",
        json!(Arn::service(d.region, d.account, d.cluster, d.name).to_string()),
    );
    put("serviceName", json!(d.name));
    put(
        "clusterArn",
        json!(Arn::cluster(d.region, d.account, d.cluster).to_string()),
    );
    put("loadBalancers", list("loadBalancers"));
    put("serviceRegistries", list("serviceRegistries"));
    put("status", json!(d.lifecycle.as_str()));
    put("desiredCount", json!(desired));
    put("runningCount", json!(d.status.running_count));
    put("pendingCount", json!(d.status.pending_count));
    if let Some(l) = launch_type(d.spec) {
        put("launchType", json!(l));
    }
    for k in [
        "capacityProviderStrategy",
        "platformVersion",
        "networkConfiguration",
        "healthCheckGracePeriodSeconds",
        "availabilityZoneRebalancing",
    ] {
        if let Some(v) = field(k) {
            put(k, v);
        }
    }
    put(
        "taskDefinition",
        json!(task_definition_arn(d.region, d.account, d.task_definition)),
    );
    put(
        "deploymentConfiguration",
        deployment_configuration(d.spec, typed.as_ref()),
    );
    put("taskSets", json!([]));
    put("deployments", Value::Array(deployments(d, desired)));
    if let Some(role) = field("role") {
        put("roleArn", role);
    }
    put("events", events(d.status));
    if let Some(t) = d.created_at.and_then(epoch) {
        put("createdAt", json!(t));
    }
    put("placementConstraints", list("placementConstraints"));
    put("placementStrategy", list("placementStrategy"));
    put("schedulingStrategy", json!(scheduling_strategy(d.spec)));
    put(
        "deploymentController",
        field("deploymentController").unwrap_or_else(|| json!({"type": "ECS"})),
    );
    if d.tags {
        put("tags", list("tags"));
    }
    put(
        "enableECSManagedTags",
        field("enableECSManagedTags").unwrap_or(json!(false)),
    );
    put(
        "propagateTags",
        field("propagateTags").unwrap_or(json!("NONE")),
    );
    put(
        "enableExecuteCommand",
        field("enableExecuteCommand").unwrap_or(json!(false)),
    );
    put("resourceManagementType", json!("CUSTOMER"));
    Value::Object(out)
}

/// The stored deploymentConfiguration with ECS's defaults filled in.
fn deployment_configuration(spec: &Value, typed: Option<&ServiceSpec>) -> Value {
    let mut c = spec
        .get("deploymentConfiguration")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (max, min) = typed.map_or((200, 100), |t| {
        (t.maximum_percent(), t.minimum_healthy_percent())
    });
    c.entry("maximumPercent").or_insert(json!(max));
    c.entry("minimumHealthyPercent").or_insert(json!(min));
    c.entry("deploymentCircuitBreaker")
        .or_insert(json!({"enable": false, "rollback": false}));
    Value::Object(c)
}

/// The deployments ECS lists: the PRIMARY first, then the ACTIVE ones, newest first (an
/// INACTIVE deployment is not listed, as in ECS).
fn deployments(d: &Described<'_>, desired: u64) -> Vec<Value> {
    let mut live: Vec<DeploymentSummary> = d
        .status
        .deployments
        .iter()
        .rev()
        .filter(|x| x.status.is_primary() || x.status.is_active())
        .cloned()
        .collect();
    if d.lifecycle != Lifecycle::Active {
        for x in &mut live {
            x.desired_count = 0;
        }
    }
    let mut extra = None;
    if let Some(u) = d.unobserved {
        if u.new_deployment {
            for x in live.iter_mut().filter(|x| x.status.is_primary()) {
                x.status = DeploymentStatus::Active;
                x.desired_count = 0;
            }
            extra = Some(u.now);
        } else if let Some(p) = live.iter_mut().find(|x| x.status.is_primary()) {
            p.desired_count = desired as u32;
        }
    }
    live.sort_by_key(|x| !x.status.is_primary());
    let launch = launch_type(d.spec);
    let network = d.spec.get("networkConfiguration").cloned();
    let one = |x: &DeploymentSummary, created: Option<f64>, updated: Option<f64>| {
        let mut o = json!({
            "id": x.id,
            "status": x.status.as_str(),
            "taskDefinition": task_definition_arn(d.region, d.account, &x.task_definition),
            "desiredCount": x.desired_count,
            "pendingCount": x.pending_count,
            "runningCount": x.running_count,
            "failedTasks": x.failed_tasks,
            "rolloutState": x.rollout_state.as_str(),
            "rolloutStateReason": x.rollout_state_reason,
        });
        if let Some(t) = created {
            o["createdAt"] = json!(t);
        }
        if let Some(t) = updated {
            o["updatedAt"] = json!(t);
        }
        if let Some(l) = &launch {
            o["launchType"] = json!(l);
        }
        if let Some(n) = &network {
            o["networkConfiguration"] = n.clone();
        }
        o
    };
    let mut out = Vec::new();
    if let Some(now) = extra {
        let pending = DeploymentSummary {
            id: "ecs-svc/pending".to_string(),
            status: DeploymentStatus::Primary,
            task_definition: d.task_definition.to_string(),
            desired_count: desired as u32,
            running_count: 0,
            pending_count: 0,
            failed_tasks: 0,
            rollout_state: RolloutState::InProgress,
            rollout_state_reason: "ECS deployment in progress.".to_string(),
            created_at: String::new(),
            updated_at: String::new(),
            generation: 0,
            rolled_back_from: String::new(),
        };
        out.push(one(&pending, Some(now), Some(now)));
    }
    for x in &live {
        out.push(one(x, epoch(&x.created_at), epoch(&x.updated_at)));
    }
    out
}

/// The events, newest first (the controller keeps them so), at most ECS's 100.
fn events(st: &ServiceStatus) -> Value {
    Value::Array(
        st.events
            .iter()
            .take(MAX_EVENTS)
            .map(|e| {
                let mut o = json!({"id": e.id, "message": e.message});
                if let Some(t) = epoch(&e.created_at) {
                    o["createdAt"] = json!(t);
                }
                o
            })
            .collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn summary(id: &str, status: DeploymentStatus, td: &str) -> DeploymentSummary {
        DeploymentSummary {
            id: id.into(),
            status,
            task_definition: td.into(),
            desired_count: 2,
            running_count: 2,
            pending_count: 0,
            failed_tasks: 0,
            rollout_state: RolloutState::Completed,
            rollout_state_reason: String::new(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:01:00Z".into(),
            generation: 1,
            rolled_back_from: String::new(),
        }
    }

    fn described<'a>(spec: &'a Value, st: &'a ServiceStatus) -> Described<'a> {
        Described {
            region: "eu-west-1",
            account: "1",
            cluster: "shop",
            name: "web",
            lifecycle: Lifecycle::Active,
            spec,
            status: st,
            created_at: Some("2026-01-01T00:00:00Z"),
            task_definition: "web:2",
            unobserved: None,
            tags: false,
        }
    }

    #[test]
    fn inactive_deployments_are_not_listed_and_defaults_are_filled() {
        let spec = json!({"taskDefinition": "web:2", "desiredCount": 2, "tags": [{"key": "a", "value": "b"}]});
        let st = ServiceStatus {
            running_count: 2,
            deployments: vec![
                summary("ecs-svc/1", DeploymentStatus::Inactive, "web:1"),
                summary("ecs-svc/2", DeploymentStatus::Primary, "web:2"),
            ],
            ..Default::default()
        };
        let out = service(&described(&spec, &st));
        assert_eq!(out["status"], "ACTIVE");
        assert_eq!(out["desiredCount"], 2);
        assert_eq!(out["launchType"], "EC2");
        assert_eq!(
            out["taskDefinition"],
            "arn:aws:ecs:eu-west-1:1:task-definition/web:2"
        );
        assert_eq!(out["deployments"].as_array().unwrap().len(), 1);
        assert_eq!(out["deployments"][0]["id"], "ecs-svc/2");
        assert_eq!(out["deployments"][0]["createdAt"], 1767225600.0);
        assert_eq!(out["deploymentConfiguration"]["maximumPercent"], 200);
        assert_eq!(
            out["serviceArn"],
            "arn:aws:ecs:eu-west-1:1:service/shop/web"
        );
        assert!(out.get("tags").is_none());
    }

    #[test]
    fn a_deployment_not_yet_acted_on_is_shown_starting() {
        let spec = json!({"taskDefinition": "web:2", "desiredCount": 3});
        let st = ServiceStatus {
            running_count: 2,
            deployments: vec![summary("ecs-svc/1", DeploymentStatus::Primary, "web:1")],
            ..Default::default()
        };
        let mut d = described(&spec, &st);
        d.unobserved = Some(Unobserved {
            new_deployment: true,
            now: 5.0,
        });
        d.tags = true;
        let out = service(&d);
        let deps = out["deployments"].as_array().unwrap();
        assert_eq!(deps.len(), 2);
        assert_eq!(deps[0]["status"], "PRIMARY");
        assert_eq!(deps[0]["desiredCount"], 3);
        assert_eq!(deps[0]["rolloutState"], "IN_PROGRESS");
        assert_eq!(deps[1]["status"], "ACTIVE");
        assert_eq!(out["tags"], json!([]));
        // Only the count changed: the primary shows the new count.
        d.unobserved = Some(Unobserved {
            new_deployment: false,
            now: 5.0,
        });
        let out = service(&d);
        assert_eq!(out["deployments"].as_array().unwrap().len(), 1);
        assert_eq!(out["deployments"][0]["desiredCount"], 3);
    }

    #[test]
    fn a_deleted_service_wants_nothing() {
        let spec = json!({"taskDefinition": "web:2", "desiredCount": 3, "launchType": "FARGATE"});
        let st = ServiceStatus::default();
        let mut d = described(&spec, &st);
        d.lifecycle = Lifecycle::Draining;
        let out = service(&d);
        assert_eq!(
            (out["status"].as_str(), out["desiredCount"].as_u64()),
            (Some("DRAINING"), Some(0))
        );
        assert_eq!(out["launchType"], "FARGATE");
    }
}
