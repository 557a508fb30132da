//! The overview: clusters, services with their counts and health, GitOps sources with their
//! sync state, recent events, container instances.

use super::{
    Badge, EventRow, Health, MAX_EVENTS, When, cluster_of, name_of, newest_first, service_href,
    service_status, str_at,
};
use api::wire::{SyncState, SyncStatus};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What the overview is drawn from: every object of these kinds, as listed by the API.
#[derive(Debug, Default)]
pub struct State {
    pub clusters: Vec<Value>,
    pub services: Vec<Value>,
    pub tasks: Vec<Value>,
    pub instances: Vec<Value>,
    /// The GitOps sources (`GET /v1/syncs`); `None` when the console's identity may not
    /// read them (their status spans every cluster).
    pub sources: Option<Vec<SyncStatus>>,
}

#[derive(Debug, Serialize)]
pub struct Model {
    pub clusters: Vec<ClusterRow>,
    pub services: Vec<ServiceRow>,
    pub sources: Sources,
    pub events: Vec<EventRow>,
    pub instances: Vec<InstanceRow>,
}

/// The GitOps sources section: the rows, or why there are none to show.
#[derive(Debug, Serialize, PartialEq)]
pub struct Sources {
    /// Whether the identity may read them at all.
    pub readable: bool,
    pub rows: Vec<SourceRow>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SourceRow {
    /// The directory.
    pub source: String,
    /// `Synced`, `OutOfSync` or `Error`, as `ecsctl get syncs` says it.
    pub state: &'static str,
    /// The state's CSS class (the badge's colour: synced, out-of-sync, error).
    pub class: &'static str,
    /// The first 12 characters of the content hash last applied.
    pub revision: String,
    pub last_applied: Option<When>,
    pub objects: usize,
    /// The first error of a failed sync (`file:line:col: path: message`), and how many more.
    pub error: Option<String>,
    pub more_errors: usize,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ClusterRow {
    pub name: String,
    pub services: usize,
    pub running_tasks: usize,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ServiceRow {
    pub cluster: String,
    pub name: String,
    pub href: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub health: Badge,
    pub task_definition: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct InstanceRow {
    pub cluster: String,
    pub name: String,
    pub status: String,
    pub agent_connected: bool,
    pub running_tasks: u64,
    pub last_heartbeat: Option<When>,
}

pub fn view(state: &State, now: OffsetDateTime) -> Model {
    let mut clusters: BTreeMap<String, ClusterRow> = BTreeMap::new();
    fn row<'a>(clusters: &'a mut BTreeMap<String, ClusterRow>, name: &str) -> &'a mut ClusterRow {
        clusters
            .entry(name.to_string())
            .or_insert_with(|| ClusterRow {
                name: name.to_string(),
                services: 0,
                running_tasks: 0,
            })
    }
    for c in &state.clusters {
        row(&mut clusters, name_of(c));
    }
    for s in &state.services {
        row(&mut clusters, cluster_of(s)).services += 1;
    }
    for t in &state.tasks {
        if str_at(t, "/status/lastStatus") == "RUNNING" {
            row(&mut clusters, cluster_of(t)).running_tasks += 1;
        }
    }

    let mut events = Vec::new();
    let mut services = Vec::new();
    for s in &state.services {
        let (cluster, name) = (cluster_of(s), name_of(s));
        let status = service_status(s);
        let href = service_href(cluster, name);
        for e in &status.events {
            events.push(EventRow {
                about: format!("service/{name}"),
                href: Some(href.clone()),
                when: None,
                message: e.message.clone(),
                created_at: e.created_at.clone(),
            });
        }
        let task_definition = status
            .deployments
            .iter()
            .find(|d| d.status == api::deployment::DeploymentStatus::Primary)
            .map(|d| d.task_definition.clone())
            .unwrap_or_default();
        services.push(ServiceRow {
            cluster: cluster.to_string(),
            name: name.to_string(),
            href,
            desired: status.desired_count,
            running: status.running_count,
            pending: status.pending_count,
            health: Health::of(&status).into(),
            task_definition,
        });
    }
    services.sort_by(|a, b| (&a.cluster, &a.name).cmp(&(&b.cluster, &b.name)));

    for t in &state.tasks {
        let about = format!("task/{}", name_of(t));
        let href = Some(super::task_href(cluster_of(t), name_of(t)));
        for e in t
            .pointer("/status/events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let created_at = str_at(e, "/createdAt").to_string();
            events.push(EventRow {
                about: about.clone(),
                href: href.clone(),
                when: None,
                message: str_at(e, "/message").to_string(),
                created_at,
            });
        }
    }

    let mut instances: Vec<InstanceRow> = state
        .instances
        .iter()
        .map(|i| InstanceRow {
            cluster: cluster_of(i).to_string(),
            name: name_of(i).to_string(),
            status: str_at(i, "/status/status").to_string(),
            agent_connected: i
                .pointer("/status/agentConnected")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            running_tasks: i
                .pointer("/status/runningTasksCount")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            last_heartbeat: When::of(str_at(i, "/status/lastHeartbeat"), now),
        })
        .collect();
    instances.sort_by(|a, b| (&a.cluster, &a.name).cmp(&(&b.cluster, &b.name)));

    let sources = Sources {
        readable: state.sources.is_some(),
        rows: state
            .sources
            .iter()
            .flatten()
            .map(|s| source_row(s, now))
            .collect(),
    };
    for s in state.sources.iter().flatten() {
        for e in &s.events {
            events.push(EventRow {
                about: format!("source {}", s.source),
                href: None,
                when: None,
                message: e.message.clone(),
                created_at: e.at.clone(),
            });
        }
    }

    // Only the rows shown get their relative time (1,000 tasks' events would be thousands).
    let mut events = newest_first(events, MAX_EVENTS);
    for e in &mut events {
        e.when = When::of(&e.created_at, now);
    }
    Model {
        clusters: clusters.into_values().collect(),
        services,
        sources,
        events,
        instances,
    }
}

fn source_row(s: &SyncStatus, now: OffsetDateTime) -> SourceRow {
    SourceRow {
        source: s.source.clone(),
        state: s.state.as_str(),
        class: match s.state {
            SyncState::Synced => "synced",
            SyncState::OutOfSync => "out-of-sync",
            SyncState::Error => "error",
        },
        revision: s
            .revision
            .as_deref()
            .map(|r| r.chars().take(12).collect())
            .unwrap_or_default(),
        last_applied: s.last_applied_at.as_deref().and_then(|t| When::of(t, now)),
        objects: s.objects,
        error: s.errors.first().cloned(),
        more_errors: s.errors.len().saturating_sub(1),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{deployment, now};
    use super::*;
    use serde_json::json;

    fn state() -> State {
        State {
            clusters: vec![
                json!({"metadata": {"name": "default"}}),
                json!({"metadata": {"name": "empty"}}),
            ],
            services: vec![json!({
                "metadata": {"name": "web", "cluster": "default"},
                "status": {"desiredCount": 2, "runningCount": 1, "pendingCount": 1,
                           "deployments": [deployment("ecs-svc/1", "PRIMARY", "IN_PROGRESS", 1, 2)],
                           "events": [{"id": "1", "createdAt": "2026-01-01T00:05:00Z",
                                       "message": "(service web) has started 2 tasks: (task a) (task b)."}]}
            })],
            tasks: vec![
                json!({"metadata": {"name": "a", "cluster": "default", "labels": {"ecsctl.service": "web"}},
                       "status": {"lastStatus": "RUNNING",
                                  "events": [{"id": "2", "createdAt": "2026-01-01T00:06:00Z", "message": "started"}]}}),
                json!({"metadata": {"name": "b", "cluster": "default", "labels": {"ecsctl.service": "web"}},
                       "status": {"lastStatus": "PENDING"}}),
            ],
            instances: vec![],
            sources: Some(vec![]),
        }
    }

    #[test]
    fn services_with_counts_and_health() {
        let m = view(&state(), now());
        assert_eq!(
            m.services,
            vec![ServiceRow {
                cluster: "default".into(),
                name: "web".into(),
                href: "/clusters/default/services/web".into(),
                desired: 2,
                running: 1,
                pending: 1,
                health: Health::RollingOut.into(),
                task_definition: "web:1".into(),
            }]
        );
    }

    #[test]
    fn clusters_with_their_services_and_running_tasks() {
        let m = view(&state(), now());
        assert_eq!(
            m.clusters,
            vec![
                ClusterRow {
                    name: "default".into(),
                    services: 1,
                    running_tasks: 1
                },
                ClusterRow {
                    name: "empty".into(),
                    services: 0,
                    running_tasks: 0
                },
            ]
        );
    }

    #[test]
    fn events_of_services_and_tasks_newest_first() {
        let m = view(&state(), now());
        let abouts: Vec<_> = m.events.iter().map(|e| e.about.as_str()).collect();
        assert_eq!(abouts, ["task/a", "service/web"]);
        assert_eq!(m.events[0].when.as_ref().unwrap().ago, "4m ago");
        assert_eq!(
            m.events[0].href.as_deref(),
            Some("/clusters/default/tasks/a"),
            "a task's events link to its page"
        );
        assert_eq!(
            m.events[1].href.as_deref(),
            Some("/clusters/default/services/web")
        );
        assert!(m.instances.is_empty());
    }

    #[test]
    fn of_many_task_events_the_newest_are_shown_each_with_its_time() {
        let mut s = state();
        s.tasks = (0..100)
            .map(|i| {
                json!({"metadata": {"name": format!("t{i}"), "cluster": "default"},
                       "status": {"lastStatus": "RUNNING",
                                  "events": [{"id": "1", "message": "exec",
                                              "createdAt": format!("2026-01-01T00:0{}:{:02}Z", 6 + i / 60, i % 60)}]}})
            })
            .collect();
        let m = view(&s, now());
        assert_eq!(m.events.len(), MAX_EVENTS);
        assert_eq!(m.events[0].about, "task/t99");
        assert_eq!(
            m.events[0].when.as_ref().unwrap().at,
            "2026-01-01T00:07:39Z"
        );
        assert!(m.events.iter().all(|e| e.when.is_some()));
        assert_eq!(m.clusters[0].running_tasks, 100);
    }

    #[test]
    fn instances_when_they_exist() {
        let mut s = state();
        s.instances
            .push(json!({"metadata": {"name": "3b9f", "cluster": "default"},
            "status": {"status": "ACTIVE", "agentConnected": true, "runningTasksCount": 2,
                       "lastHeartbeat": "2026-01-01T00:09:50Z"}}));
        let m = view(&s, now());
        assert_eq!(m.instances.len(), 1);
        assert_eq!(m.instances[0].status, "ACTIVE");
        assert!(m.instances[0].agent_connected);
        assert_eq!(m.instances[0].running_tasks, 2);
        assert_eq!(
            m.instances[0].last_heartbeat.as_ref().unwrap().ago,
            "10s ago"
        );
    }

    fn source(state: SyncState, errors: &[&str]) -> SyncStatus {
        SyncStatus {
            source: "/srv/deploy".into(),
            revision: Some("0123456789abcdef".into()),
            last_applied_at: Some("2026-01-01T00:08:00Z".into()),
            state,
            errors: errors.iter().map(|e| e.to_string()).collect(),
            objects: 4,
            applied: Default::default(),
            pruned: vec![],
            drift: vec![],
            warnings: vec![],
            events: vec![api::wire::SyncEvent {
                at: "2026-01-01T00:09:00Z".into(),
                message: "sync failed: 2 errors".into(),
            }],
        }
    }

    #[test]
    fn gitops_sources_with_their_state_and_first_error() {
        let mut s = state();
        s.sources = Some(vec![source(
            SyncState::Error,
            &[
                "web.yaml:3:1: spec.desiredCount: expected a number",
                "b.yaml:1:1: x",
            ],
        )]);
        let m = view(&s, now());
        assert!(m.sources.readable);
        assert_eq!(
            m.sources.rows,
            vec![SourceRow {
                source: "/srv/deploy".into(),
                state: "Error",
                class: "error",
                revision: "0123456789ab".into(),
                last_applied: When::of("2026-01-01T00:08:00Z", now()),
                objects: 4,
                error: Some("web.yaml:3:1: spec.desiredCount: expected a number".into()),
                more_errors: 1,
            }]
        );
        assert_eq!(
            m.events[0].about, "source /srv/deploy",
            "its events are listed"
        );
        assert_eq!(m.events[0].message, "sync failed: 2 errors");
    }

    #[test]
    fn sources_the_identity_may_not_read_are_said_so() {
        let mut s = state();
        s.sources = None;
        let m = view(&s, now());
        assert!(!m.sources.readable);
        assert!(m.sources.rows.is_empty());
    }
}
