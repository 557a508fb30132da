//! A service's rollout timeline: one lane per deployment, from when it was created to when
//! its last task stopped (or now), with what happened on the way: its tasks starting (it
//! grew) and stopping (it shrank), from the tasks it started (`ecsctl.deployment` label), and
//! its rollout completing or failing, from the service's events (else a live deployment's
//! own `updatedAt`). Pure: the page lays it out as SVG lanes and a list with relative times.

use super::{When, str_at};
use crate::output::fields::parse_time;
use api::deployment::{DeploymentStatus, DeploymentSummary, RolloutState};
use api::service::Event;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// The viewBox's width; lanes are [`LANE_H`] apart.
pub const VIEW_W: f64 = 1000.0;
pub const LANE_H: f64 = 26.0;
const LEFT: f64 = 10.0;
const RIGHT: f64 = 990.0;
/// Task starts (or stops) this close together are one step.
const BURST: time::Duration = time::Duration::seconds(2);
/// Steps listed per deployment (the latest).
const MAX_STEPS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    pub view_w: f64,
    pub view_h: f64,
    /// When the oldest lane starts (the left edge).
    pub since: Option<When>,
    /// Oldest deployment first.
    pub lanes: Vec<Lane>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lane {
    pub id: String,
    pub task_definition: String,
    /// PRIMARY, ACTIVE, INACTIVE (the CSS class, lower-cased in the template).
    pub status: String,
    pub rollout_state: String,
    /// The bar: from its creation to its end (its last task stopped) or now.
    pub y: f64,
    pub x_start: f64,
    pub x_end: f64,
    pub ongoing: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Started,
    Grew,
    Shrank,
    Completed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub kind: StepKind,
    /// `grew to 2 tasks`, `rollout completed`.
    pub label: String,
    pub x: f64,
    pub when: Option<When>,
    #[serde(skip)]
    at: OffsetDateTime,
}

/// The timeline of `deployments` (any order) from the service's `tasks` (others are left
/// out by their labels) and `events`.
pub fn view(
    service: &str,
    deployments: &[DeploymentSummary],
    tasks: &[Value],
    events: &[Event],
    now: OffsetDateTime,
) -> Timeline {
    let mut lanes: Vec<(
        OffsetDateTime,
        OffsetDateTime,
        bool,
        &DeploymentSummary,
        Vec<Step>,
    )> = deployments
        .iter()
        .filter_map(|d| {
            let created = parse_time(&d.created_at)?;
            let steps = steps_of(service, d, created, tasks, events);
            let ongoing = d.status != DeploymentStatus::Inactive;
            let end = if ongoing {
                now
            } else {
                steps
                    .last()
                    .map(|s| s.at)
                    .into_iter()
                    .chain(parse_time(&d.updated_at))
                    .max()
                    .unwrap_or(created)
            };
            Some((created, end.max(created), ongoing, d, steps))
        })
        .collect();
    lanes.sort_by_key(|l| l.0);
    let start = lanes.first().map_or(now, |l| l.0);
    let span = (now - start).as_seconds_f64().max(1.0);
    let x_of = |t: OffsetDateTime| {
        let f = ((t - start).as_seconds_f64() / span).clamp(0.0, 1.0);
        (10.0 * (LEFT + (RIGHT - LEFT) * f)).round() / 10.0
    };
    let lanes: Vec<Lane> = lanes
        .into_iter()
        .enumerate()
        .map(|(i, (from, to, ongoing, d, steps))| Lane {
            id: d.id.clone(),
            task_definition: d.task_definition.clone(),
            status: d.status.as_str().to_string(),
            rollout_state: d.rollout_state.as_str().to_string(),
            y: LANE_H * i as f64 + LANE_H / 2.0,
            x_start: x_of(from),
            x_end: x_of(to),
            ongoing,
            steps: steps
                .into_iter()
                .map(|s| Step {
                    x: x_of(s.at),
                    when: When::of(&rfc3339(s.at), now),
                    ..s
                })
                .collect(),
        })
        .collect();
    Timeline {
        view_w: VIEW_W,
        view_h: LANE_H * lanes.len().max(1) as f64,
        since: (!lanes.is_empty())
            .then(|| When::of(&rfc3339(start), now))
            .flatten(),
        lanes,
    }
}

/// A deployment's steps, oldest first: created, each burst of task starts and stops with
/// the count after it, its rollout's end.
fn steps_of(
    service: &str,
    d: &DeploymentSummary,
    created: OffsetDateTime,
    tasks: &[Value],
    events: &[Event],
) -> Vec<Step> {
    let step = |kind, label: String, at| Step {
        kind,
        label,
        x: 0.0,
        when: None,
        at,
    };
    let number = d.id.rsplit('/').next().unwrap_or_default();
    let mut changes: Vec<(OffsetDateTime, i64)> = tasks
        .iter()
        .filter(|t| {
            str_at(t, "/metadata/labels/ecsctl.service") == service
                && str_at(t, "/metadata/labels/ecsctl.deployment") == number
        })
        .flat_map(|t| {
            let started = parse_time(str_at(t, "/status/startedAt"));
            let stopped = started.and(parse_time(str_at(t, "/status/stoppedAt")));
            started
                .map(|s| (s, 1))
                .into_iter()
                .chain(stopped.map(|s| (s, -1)))
        })
        .collect();
    changes.sort_by_key(|c| c.0);
    let mut steps = vec![step(
        StepKind::Started,
        format!("created ({})", d.task_definition),
        created,
    )];
    let (mut count, mut i) = (0i64, 0);
    while i < changes.len() {
        let (first, before) = (changes[i].0, count);
        while i < changes.len() && changes[i].0 - first <= BURST {
            count += changes[i].1;
            i += 1;
        }
        if count != before {
            let (kind, verb) = if count > before {
                (StepKind::Grew, "grew")
            } else {
                (StepKind::Shrank, "shrank")
            };
            let noun = if count == 1 { "task" } else { "tasks" };
            steps.push(step(kind, format!("{verb} to {count} {noun}"), first));
        }
    }
    let ended = |word: &str| {
        let said = format!("(deployment {}) deployment {word}", d.id);
        events
            .iter()
            .filter(|e| e.message.contains(&said))
            .filter_map(|e| parse_time(&e.created_at))
            .min()
    };
    let end = match d.rollout_state {
        RolloutState::Completed => Some((StepKind::Completed, "rollout completed", "completed")),
        RolloutState::Failed => Some((StepKind::Failed, "rollout failed", "failed")),
        _ => None,
    };
    // Without its event (the service keeps the latest 100), a live deployment's updatedAt
    // is when its rollout ended; an INACTIVE one's is when it was replaced.
    let fallback = || {
        (d.status != DeploymentStatus::Inactive)
            .then(|| parse_time(&d.updated_at))
            .flatten()
    };
    if let Some((kind, label, word)) = end
        && let Some(at) = ended(word).or_else(fallback)
    {
        steps.push(step(kind, label.to_string(), at));
    }
    steps.sort_by_key(|s| s.at);
    if steps.len() > MAX_STEPS {
        steps.drain(1..steps.len() - (MAX_STEPS - 1));
    }
    steps
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    fn deployment(id: &str, status: &str, state: &str, created: &str, updated: &str) -> Value {
        json!({"id": id, "status": status, "taskDefinition": format!("web:{}", &id[8..]),
               "desiredCount": 2, "runningCount": 0, "failedTasks": 0, "rolloutState": state,
               "createdAt": created, "updatedAt": updated})
    }

    fn task(service: &str, number: &str, started: &str, stopped: &str) -> Value {
        json!({"metadata": {"name": "t", "labels": {"ecsctl.service": service,
                                                    "ecsctl.deployment": number}},
               "status": {"startedAt": started, "stoppedAt": stopped}})
    }

    fn summaries(v: &[Value]) -> Vec<DeploymentSummary> {
        v.iter()
            .map(|d| serde_json::from_value(d.clone()).unwrap())
            .collect()
    }

    fn rollout() -> Timeline {
        // ecs-svc/1 ran 2 tasks from 00:00; ecs-svc/2 replaced them from 00:05 to 00:06.
        let deployments = summaries(&[
            deployment(
                "ecs-svc/2",
                "PRIMARY",
                "COMPLETED",
                "2026-01-01T00:05:00Z",
                "2026-01-01T00:09:00Z",
            ),
            deployment(
                "ecs-svc/1",
                "INACTIVE",
                "COMPLETED",
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:06:30Z",
            ),
        ]);
        let tasks = [
            task("web", "1", "2026-01-01T00:00:10Z", "2026-01-01T00:05:20Z"),
            task("web", "1", "2026-01-01T00:00:11Z", "2026-01-01T00:06:00Z"),
            task("web", "2", "2026-01-01T00:05:10Z", ""),
            task("web", "2", "2026-01-01T00:05:50Z", ""),
            // Not started: no change. Another service's: left out.
            task("web", "2", "", ""),
            task("api", "2", "2026-01-01T00:01:00Z", ""),
        ];
        let events = [Event {
            id: "9".into(),
            created_at: "2026-01-01T00:06:05Z".into(),
            message: "(service web) (deployment ecs-svc/2) deployment completed.".into(),
        }];
        view("web", &deployments, &tasks, &events, now())
    }

    fn labels(l: &Lane) -> Vec<(&str, &str)> {
        l.steps
            .iter()
            .map(|s| {
                (
                    s.label.as_str(),
                    s.when.as_ref().map_or("", |w| w.at.as_str()),
                )
            })
            .collect()
    }

    #[test]
    fn each_deployment_started_grew_shrank_and_finished() {
        let t = rollout();
        let ids: Vec<_> = t.lanes.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["ecs-svc/1", "ecs-svc/2"], "oldest first");
        assert_eq!(
            labels(&t.lanes[0]),
            [
                ("created (web:1)", "2026-01-01T00:00:00Z"),
                ("grew to 2 tasks", "2026-01-01T00:00:10Z"),
                ("shrank to 1 task", "2026-01-01T00:05:20Z"),
                ("shrank to 0 tasks", "2026-01-01T00:06:00Z"),
            ]
        );
        assert_eq!(
            labels(&t.lanes[1]),
            [
                ("created (web:2)", "2026-01-01T00:05:00Z"),
                ("grew to 1 task", "2026-01-01T00:05:10Z"),
                ("grew to 2 tasks", "2026-01-01T00:05:50Z"),
                ("rollout completed", "2026-01-01T00:06:05Z"),
            ]
        );
        assert_eq!(t.lanes[1].steps[3].kind, StepKind::Completed);
        assert_eq!(
            t.lanes[1].steps[1].when.as_ref().unwrap().ago,
            "4m50s ago",
            "relative, with the absolute time beside"
        );
    }

    #[test]
    fn lanes_span_from_creation_to_their_end_or_now() {
        let t = rollout();
        // The span is 00:00 to 00:10 over 10..990.
        let (old, new) = (&t.lanes[0], &t.lanes[1]);
        assert_eq!(old.x_start, LEFT);
        assert!(!old.ongoing);
        assert_eq!(
            old.x_end,
            LEFT + (RIGHT - LEFT) * 0.65,
            "its updatedAt, 00:06:30"
        );
        assert_eq!(new.x_start, LEFT + (RIGHT - LEFT) * 0.5);
        assert!(new.ongoing);
        assert_eq!(new.x_end, RIGHT);
        assert_eq!(new.y, LANE_H * 1.5);
        assert_eq!(t.view_h, LANE_H * 2.0);
        assert_eq!(t.since.as_ref().unwrap().ago, "10m ago");
    }

    #[test]
    fn a_burst_of_starts_is_one_step_and_a_failure_is_said() {
        let deployments = summaries(&[deployment(
            "ecs-svc/3",
            "PRIMARY",
            "FAILED",
            "2026-01-01T00:08:00Z",
            "2026-01-01T00:09:30Z",
        )]);
        let tasks = [
            task("web", "3", "2026-01-01T00:08:10Z", "2026-01-01T00:08:40Z"),
            task("web", "3", "2026-01-01T00:08:11Z", "2026-01-01T00:08:41Z"),
        ];
        let t = view("web", &deployments, &tasks, &[], now());
        assert_eq!(
            labels(&t.lanes[0]),
            [
                ("created (web:3)", "2026-01-01T00:08:00Z"),
                ("grew to 2 tasks", "2026-01-01T00:08:10Z"),
                ("shrank to 0 tasks", "2026-01-01T00:08:40Z"),
                ("rollout failed", "2026-01-01T00:09:30Z"),
            ]
        );
        assert_eq!(t.lanes[0].steps[3].kind, StepKind::Failed);
    }

    #[test]
    fn no_deployment_no_lane() {
        let t = view("web", &[], &[], &[], now());
        assert!(t.lanes.is_empty());
        assert_eq!(t.since, None);
    }
}
