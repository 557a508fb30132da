//! The console's pages. Each page module turns what the server holds (objects as the API
//! returns them) into a model with a pure `view`, unit-tested; the templates only lay the
//! model out.

pub mod chart;
pub mod overview;
pub mod service;
pub mod service_insights;
pub mod task;
pub mod taskdef;
pub mod timeline;

use crate::output::fields::{human_duration, parse_time};
use api::deployment::{DeploymentStatus, RolloutState};
use api::service::ServiceStatus;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// How many events a page lists.
pub const MAX_EVENTS: usize = 30;

/// A time shown relative (`3m ago`), with the absolute time for the `title` attribute.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct When {
    pub ago: String,
    pub at: String,
}

impl When {
    /// `None` for an empty or unreadable time.
    pub fn of(rfc3339: &str, now: OffsetDateTime) -> Option<When> {
        let t = parse_time(rfc3339)?;
        Some(When {
            ago: format!("{} ago", human_duration(now - t)),
            at: rfc3339.to_string(),
        })
    }
}

/// A service's health as one word, from its deployments' rolloutState.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    /// The PRIMARY deployment completed and nothing else is rolling.
    Steady,
    /// A deployment is in progress (or none was made yet).
    RollingOut,
    /// The PRIMARY deployment failed, or a deployment still listed failed.
    Failed,
}

impl Health {
    /// The words on the badge.
    pub fn label(self) -> &'static str {
        match self {
            Health::Steady => "steady",
            Health::RollingOut => "rolling out",
            Health::Failed => "failed",
        }
    }

    pub fn of(status: &ServiceStatus) -> Health {
        let live: Vec<_> = status
            .deployments
            .iter()
            .filter(|d| d.status != DeploymentStatus::Inactive)
            .collect();
        let primary = live.iter().find(|d| d.status == DeploymentStatus::Primary);
        if primary.is_some_and(|d| d.rollout_state == RolloutState::Failed) {
            Health::Failed
        } else if primary.is_none()
            || live
                .iter()
                .any(|d| d.rollout_state == RolloutState::InProgress)
        {
            Health::RollingOut
        } else if live.iter().any(|d| d.rollout_state == RolloutState::Failed) {
            Health::Failed
        } else {
            Health::Steady
        }
    }
}

/// A health badge as the templates show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Badge {
    /// `steady`, `rolling-out` or `failed` (the CSS class).
    pub class: Health,
    pub label: &'static str,
}

impl From<Health> for Badge {
    fn from(h: Health) -> Badge {
        Badge {
            class: h,
            label: h.label(),
        }
    }
}

/// One line of an events list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    /// `service/web` or `task/ID`.
    pub about: String,
    /// Where `about` links to, when it has a page.
    pub href: Option<String>,
    pub when: Option<When>,
    pub message: String,
    /// For sorting: the RFC 3339 time.
    #[serde(skip)]
    pub created_at: String,
}

/// Newest first (each time parsed once: an overview of 1,000 tasks sorts thousands), at
/// most `max`; rows of the same time keep their order.
pub fn newest_first(mut rows: Vec<EventRow>, max: usize) -> Vec<EventRow> {
    rows.sort_by_cached_key(|r| std::cmp::Reverse(parse_time(&r.created_at)));
    rows.truncate(max);
    rows
}

/// A task as the overview and the service page read it: its metadata and its status
/// without its containers; its spec is left out. serde skips the rest while it reads the
/// API's list, so 1,000 tasks cost a fraction of their whole objects (the `console` bench).
#[derive(Debug, Deserialize)]
pub struct TaskSummary {
    #[serde(default)]
    metadata: Value,
    #[serde(default)]
    status: Option<SummaryStatus>,
}

#[derive(Debug, Deserialize)]
struct SummaryStatus {
    /// Each task's largest part, which neither page shows.
    #[serde(default, rename = "containers")]
    _containers: serde::de::IgnoredAny,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl TaskSummary {
    /// The object as the views read one: `{"metadata": ..., "status": {...}}`.
    pub fn into_value(self) -> Value {
        let mut obj = serde_json::Map::new();
        obj.insert("metadata".into(), self.metadata);
        if let Some(s) = self.status {
            obj.insert("status".into(), Value::Object(s.rest));
        }
        Value::Object(obj)
    }
}

/// A service object's status, read leniently (a partial status reads as its defaults).
pub fn service_status(obj: &Value) -> ServiceStatus {
    obj.get("status")
        .cloned()
        .and_then(|s| serde_json::from_value(s).ok())
        .unwrap_or_default()
}

/// `metadata.name`, `metadata.cluster`.
pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn cluster_of(obj: &Value) -> &str {
    obj.pointer("/metadata/cluster")
        .and_then(Value::as_str)
        .unwrap_or(api::DEFAULT_CLUSTER)
}

/// The string at `ptr`, or "".
pub fn str_at<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

/// The service page's path (names percent-encoded).
pub fn service_href(cluster: &str, name: &str) -> String {
    format!(
        "/clusters/{}/services/{}",
        crate::client::encode(cluster),
        crate::client::encode(name)
    )
}

/// A task's page.
pub fn task_href(cluster: &str, id: &str) -> String {
    format!(
        "/clusters/{}/tasks/{}",
        crate::client::encode(cluster),
        crate::client::encode(id)
    )
}

/// A task definition's page for `family:N` (that revision against the one before it), or
/// for `family` (its newest two). `None` for an empty reference.
pub fn taskdef_href(reference: &str) -> Option<String> {
    let (family, revision) = match reference.rsplit_once(':') {
        Some((f, n)) if n.parse::<u64>().is_ok() => (f, Some(n)),
        _ => (reference, None),
    };
    if family.is_empty() {
        return None;
    }
    let page = format!("/taskdefinitions/{}", crate::client::encode(family));
    Some(match revision {
        Some(n) => format!("{page}?b={n}"),
        None => page,
    })
}

/// The service a task belongs to (its `ecsctl.service` label).
pub fn task_service(task: &Value) -> Option<&str> {
    task.pointer("/metadata/labels/ecsctl.service")
        .and_then(Value::as_str)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub fn now() -> OffsetDateTime {
        parse_time("2026-01-01T00:10:00Z").unwrap()
    }

    pub fn deployment(id: &str, status: &str, state: &str, running: u32, desired: u32) -> Value {
        json!({"id": id, "status": status, "taskDefinition": "web:1", "desiredCount": desired,
               "runningCount": running, "pendingCount": 0, "failedTasks": 0,
               "rolloutState": state, "createdAt": "2026-01-01T00:00:00Z"})
    }

    fn health(deployments: Vec<Value>) -> Health {
        Health::of(&service_status(
            &json!({"status": {"desiredCount": 2, "runningCount": 2, "pendingCount": 0,
                               "deployments": deployments}}),
        ))
    }

    #[test]
    fn health_from_rollout_states() {
        let d = deployment;
        assert_eq!(
            health(vec![d("ecs-svc/1", "PRIMARY", "COMPLETED", 2, 2)]),
            Health::Steady
        );
        assert_eq!(
            health(vec![
                d("ecs-svc/2", "PRIMARY", "IN_PROGRESS", 1, 2),
                d("ecs-svc/1", "ACTIVE", "COMPLETED", 1, 2)
            ]),
            Health::RollingOut
        );
        assert_eq!(
            health(vec![d("ecs-svc/2", "PRIMARY", "FAILED", 0, 2)]),
            Health::Failed
        );
        assert_eq!(
            health(vec![
                d("ecs-svc/3", "PRIMARY", "COMPLETED", 2, 2),
                d("ecs-svc/2", "ACTIVE", "FAILED", 0, 0)
            ]),
            Health::Failed
        );
        assert_eq!(
            health(vec![
                d("ecs-svc/3", "PRIMARY", "COMPLETED", 2, 2),
                d("ecs-svc/2", "INACTIVE", "FAILED", 0, 0)
            ]),
            Health::Steady,
            "an INACTIVE deployment is history"
        );
        assert_eq!(health(vec![]), Health::RollingOut);
    }

    #[test]
    fn a_task_summary_keeps_metadata_and_status_but_not_containers_or_spec() {
        let task = json!({"apiVersion": "ecs/v1", "kind": "Task",
            "metadata": {"name": "a", "cluster": "shop", "labels": {"ecsctl.service": "web"},
                         "creationTimestamp": "2026-01-01T00:08:00Z"},
            "spec": {"taskDefinition": "web", "containerInstance": "i-1"},
            "status": {"taskDefinition": "web:2", "lastStatus": "STOPPED", "healthStatus": "UNKNOWN",
                       "stoppedReason": "Essential container in task exited",
                       "containers": [{"name": "app", "image": "i", "lastStatus": "STOPPED", "exitCode": 1}],
                       "events": [{"id": "1", "createdAt": "2026-01-01T00:09:00Z", "message": "m"}]}});
        let summary: TaskSummary = serde_json::from_value(task.clone()).unwrap();
        let mut expected = json!({"metadata": task["metadata"], "status": task["status"]});
        expected["status"]
            .as_object_mut()
            .unwrap()
            .remove("containers");
        assert_eq!(summary.into_value(), expected);

        let bare: TaskSummary =
            serde_json::from_value(json!({"metadata": {"name": "b"}, "status": null})).unwrap();
        assert_eq!(bare.into_value(), json!({"metadata": {"name": "b"}}));
    }

    #[test]
    fn newest_first_keeps_the_order_of_rows_of_the_same_time() {
        let row = |about: &str, at: &str| EventRow {
            about: about.into(),
            href: None,
            when: None,
            message: String::new(),
            created_at: at.into(),
        };
        let rows = vec![
            row("old", "2026-01-01T00:01:00Z"),
            row("same-1", "2026-01-01T00:05:00Z"),
            row("unreadable", "yesterday"),
            row("new", "2026-01-01T02:00:00+01:00"),
            row("same-2", "2026-01-01T00:05:00Z"),
        ];
        let about: Vec<_> = newest_first(rows, 4).into_iter().map(|r| r.about).collect();
        assert_eq!(about, ["new", "same-1", "same-2", "old"]);
    }

    #[test]
    fn links_to_tasks_and_task_definitions() {
        assert_eq!(task_href("shop", "abc"), "/clusters/shop/tasks/abc");
        assert_eq!(
            taskdef_href("web:3").as_deref(),
            Some("/taskdefinitions/web?b=3")
        );
        assert_eq!(taskdef_href("web").as_deref(), Some("/taskdefinitions/web"));
        assert_eq!(taskdef_href(""), None);
        assert_eq!(taskdef_href(":3"), None);
    }

    #[test]
    fn times_are_relative_with_the_absolute_time() {
        let w = When::of("2026-01-01T00:07:00Z", now()).unwrap();
        assert_eq!(w.ago, "3m ago");
        assert_eq!(w.at, "2026-01-01T00:07:00Z");
        assert_eq!(When::of("", now()), None);
    }

    #[test]
    fn events_newest_first_and_bounded() {
        let row = |t: &str| EventRow {
            about: "service/web".into(),
            href: None,
            when: None,
            message: t.into(),
            created_at: t.into(),
        };
        let rows = newest_first(
            vec![
                row("2026-01-01T00:01:00Z"),
                row("2026-01-01T00:03:00Z"),
                row("2026-01-01T00:02:00Z"),
            ],
            2,
        );
        let order: Vec<_> = rows.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(order, ["2026-01-01T00:03:00Z", "2026-01-01T00:02:00Z"]);
    }
}
