//! A service's page: its deployments with a progress bar each, its events, its tasks.

use super::{
    Badge, EventRow, Health, MAX_EVENTS, When, cluster_of, name_of, newest_first, service_status,
    str_at,
};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// How many tasks the page lists (the newest).
pub const MAX_TASKS: usize = 200;

#[derive(Debug, Serialize)]
pub struct Model {
    pub cluster: String,
    pub name: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub health: Badge,
    pub deployments: Vec<DeploymentRow>,
    pub events: Vec<EventRow>,
    pub tasks: Vec<TaskRow>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct DeploymentRow {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    /// The task definition's page (this revision against the one before).
    pub task_definition_href: Option<String>,
    pub running: u32,
    pub desired: u32,
    pub pending: u32,
    pub failed_tasks: u32,
    pub rollout_state: String,
    pub rollout_state_reason: String,
    /// The bar's fill, 0 to 100 (a deployment that wants no tasks and has none is full).
    pub percent: u32,
    pub created: Option<When>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct TaskRow {
    pub id: String,
    /// The task's page.
    pub href: String,
    pub task_definition: String,
    pub task_definition_href: Option<String>,
    pub last_status: String,
    pub desired_status: String,
    pub health: String,
    pub stopped_reason: String,
    pub started: Option<When>,
    #[serde(skip)]
    created_at: String,
}

/// `service`: the service object; `tasks`: tasks of its cluster (others are left out).
pub fn view(service: &Value, tasks: &[Value], now: OffsetDateTime) -> Model {
    let (cluster, name) = (cluster_of(service), name_of(service));
    let status = service_status(service);
    let deployments = status
        .deployments
        .iter()
        .map(|d| DeploymentRow {
            id: d.id.clone(),
            status: d.status.as_str().to_string(),
            task_definition: d.task_definition.clone(),
            task_definition_href: super::taskdef_href(&d.task_definition),
            running: d.running_count,
            desired: d.desired_count,
            pending: d.pending_count,
            failed_tasks: d.failed_tasks,
            rollout_state: d.rollout_state.as_str().to_string(),
            rollout_state_reason: d.rollout_state_reason.clone(),
            percent: (d.running_count.min(d.desired_count) * 100)
                .checked_div(d.desired_count)
                .unwrap_or(100),
            created: When::of(&d.created_at, now),
        })
        .collect();
    let events = status
        .events
        .iter()
        .map(|e| EventRow {
            about: format!("service/{name}"),
            href: None,
            when: When::of(&e.created_at, now),
            message: e.message.clone(),
            created_at: e.created_at.clone(),
        })
        .collect();
    let mut rows: Vec<TaskRow> = tasks
        .iter()
        .filter(|t| cluster_of(t) == cluster && super::task_service(t) == Some(name))
        .map(|t| {
            let started = str_at(t, "/status/startedAt");
            let td = str_at(t, "/status/taskDefinition");
            TaskRow {
                id: name_of(t).to_string(),
                href: super::task_href(cluster, name_of(t)),
                task_definition: td.to_string(),
                task_definition_href: super::taskdef_href(td),
                last_status: str_at(t, "/status/lastStatus").to_string(),
                desired_status: str_at(t, "/status/desiredStatus").to_string(),
                health: str_at(t, "/status/healthStatus").to_string(),
                stopped_reason: str_at(t, "/status/stoppedReason").to_string(),
                started: When::of(started, now),
                created_at: str_at(t, "/metadata/creationTimestamp").to_string(),
            }
        })
        .collect();
    // Running first, then the newest.
    rows.sort_by(|a, b| {
        (b.last_status == "RUNNING")
            .cmp(&(a.last_status == "RUNNING"))
            .then_with(|| b.created_at.cmp(&a.created_at))
    });
    rows.truncate(MAX_TASKS);
    Model {
        cluster: cluster.to_string(),
        name: name.to_string(),
        desired: status.desired_count,
        running: status.running_count,
        pending: status.pending_count,
        health: Health::of(&status).into(),
        deployments,
        events: newest_first(events, MAX_EVENTS),
        tasks: rows,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{deployment, now};
    use super::*;
    use serde_json::json;

    fn service() -> Value {
        let mut old = deployment("ecs-svc/1", "ACTIVE", "COMPLETED", 1, 0);
        old["failedTasks"] = json!(2);
        json!({"metadata": {"name": "web", "cluster": "shop"},
               "status": {"desiredCount": 2, "runningCount": 2, "pendingCount": 0,
                          "deployments": [deployment("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 1, 2), old],
                          "events": [
                              {"id": "1", "createdAt": "2026-01-01T00:01:00Z", "message": "older"},
                              {"id": "2", "createdAt": "2026-01-01T00:02:00Z", "message": "newer"}]}})
    }

    fn task(name: &str, cluster: &str, svc: &str, last: &str, created: &str) -> Value {
        json!({"metadata": {"name": name, "cluster": cluster, "labels": {"ecsctl.service": svc},
                            "creationTimestamp": created},
               "status": {"lastStatus": last, "desiredStatus": "RUNNING", "healthStatus": "HEALTHY",
                          "taskDefinition": "web:2", "stoppedReason": if last == "STOPPED" { "Essential container in task exited" } else { "" },
                          "startedAt": "2026-01-01T00:09:00Z"}})
    }

    #[test]
    fn deployments_with_their_bars() {
        let m = view(&service(), &[], now());
        assert_eq!(m.health, Health::RollingOut.into());
        let bars: Vec<_> = m
            .deployments
            .iter()
            .map(|d| {
                (
                    d.id.as_str(),
                    d.running,
                    d.desired,
                    d.percent,
                    d.failed_tasks,
                    d.rollout_state.as_str(),
                )
            })
            .collect();
        assert_eq!(
            bars,
            [
                ("ecs-svc/2", 1, 2, 50, 0, "IN_PROGRESS"),
                ("ecs-svc/1", 1, 0, 100, 2, "COMPLETED")
            ]
        );
        let events: Vec<_> = m.events.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(events, ["newer", "older"]);
    }

    #[test]
    fn only_its_own_tasks_running_first() {
        let tasks = [
            task("stopped", "shop", "web", "STOPPED", "2026-01-01T00:08:00Z"),
            task("old", "shop", "web", "RUNNING", "2026-01-01T00:01:00Z"),
            task("new", "shop", "web", "RUNNING", "2026-01-01T00:05:00Z"),
            task(
                "other-service",
                "shop",
                "api",
                "RUNNING",
                "2026-01-01T00:05:00Z",
            ),
            task(
                "other-cluster",
                "default",
                "web",
                "RUNNING",
                "2026-01-01T00:05:00Z",
            ),
        ];
        let m = view(&service(), &tasks, now());
        let ids: Vec<_> = m.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["new", "old", "stopped"]);
        assert_eq!(
            m.tasks[2].stopped_reason,
            "Essential container in task exited"
        );
        assert_eq!(m.tasks[0].health, "HEALTHY");
        assert_eq!(m.tasks[0].href, "/clusters/shop/tasks/new");
        assert_eq!(
            m.tasks[0].task_definition_href.as_deref(),
            Some("/taskdefinitions/web?b=2")
        );
        assert_eq!(
            m.deployments[0].task_definition_href.as_deref(),
            Some("/taskdefinitions/web?b=1")
        );
        assert_eq!(m.tasks[0].started.as_ref().unwrap().ago, "60s ago");
    }
}
