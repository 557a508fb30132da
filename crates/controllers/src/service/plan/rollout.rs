//! The deployments of a service's status as a plan moves them: which is PRIMARY and which
//! tasks it owns, its failures (the circuit breaker and the start throttle), a new or
//! rolled-back PRIMARY, the counts, and completion.

use super::{Events, MAX_DEPLOYMENTS, TaskView};
use crate::timefmt::rfc3339;
use api::service::{DeploymentStatus, DeploymentSummary, RolloutState, ServiceStatus};
use std::time::Duration;
use time::OffsetDateTime;

/// Failures in a row before task starts are throttled.
const THROTTLE_AFTER: u32 = 3;
/// First throttle delay; it doubles with each further failure, up to the cap.
const THROTTLE_BASE: Duration = Duration::from_secs(10);

/// The PRIMARY deployment, and which tasks count as its own.
pub(super) struct Primary {
    pub(super) id: String,
    pub(super) task_definition: String,
    /// A rollback deployment adopts the running tasks of the revision it restores, rather
    /// than replacing healthy tasks with identical ones.
    pub(super) adopts_revision: bool,
}

/// Failures of a deployment's tasks since it last had a healthy one.
pub(super) struct Failures {
    pub(super) count: u32,
    pub(super) last: Option<OffsetDateTime>,
}

impl Primary {
    pub(super) fn of(st: &ServiceStatus) -> Self {
        let p = st.primary();
        Primary {
            id: p.map(|d| d.id.clone()).unwrap_or_default(),
            task_definition: p.map(|d| d.task_definition.clone()).unwrap_or_default(),
            adopts_revision: p.is_some_and(|d| !d.rolled_back_from.is_empty()),
        }
    }

    pub(super) fn owns(&self, t: &TaskView) -> bool {
        t.deployment == self.id
            || (self.adopts_revision && t.task_definition == self.task_definition)
    }

    pub(super) fn failures(&self, tasks: &[TaskView]) -> Failures {
        let mine = || tasks.iter().filter(|t| t.deployment == self.id);
        let last_healthy = mine()
            .filter(|t| t.healthy)
            .filter_map(|t| t.started_at)
            .max();
        let failed = || mine().filter(|t| t.failed);
        Failures {
            count: failed()
                .filter(|t| {
                    t.stopped_at
                        .is_some_and(|s| last_healthy.is_none_or(|h| s > h))
                })
                .count() as u32,
            last: failed().filter_map(|t| t.stopped_at).max(),
        }
    }
}

/// Newer deployments rank higher; unknown ones (already trimmed) lowest.
pub(super) fn deployment_rank(st: &ServiceStatus, id: &str) -> usize {
    st.deployments
        .iter()
        .rev()
        .position(|d| d.id == id)
        .unwrap_or(0)
}

pub(super) fn new_primary(
    st: &mut ServiceStatus,
    id: &str,
    td: &str,
    generation: u64,
    rolled_back_from: &str,
    now: OffsetDateTime,
) {
    for d in st.deployments.iter_mut().filter(|d| d.status.is_primary()) {
        d.status = DeploymentStatus::Active;
        d.updated_at = rfc3339(now);
    }
    st.deployments.push(DeploymentSummary {
        id: id.to_string(),
        status: DeploymentStatus::Primary,
        task_definition: td.to_string(),
        desired_count: 0,
        running_count: 0,
        pending_count: 0,
        failed_tasks: 0,
        rollout_state: RolloutState::InProgress,
        rollout_state_reason: if rolled_back_from.is_empty() {
            "ECS deployment in progress.".to_string()
        } else {
            format!("Rolling back to {td} after {rolled_back_from} failed.")
        },
        created_at: rfc3339(now),
        updated_at: rfc3339(now),
        generation,
        rolled_back_from: rolled_back_from.to_string(),
    });
    let excess = st.deployments.len().saturating_sub(MAX_DEPLOYMENTS);
    st.deployments.drain(..excess);
}

/// The circuit breaker trips: the deployment FAILED, and with rollback the last completed
/// deployment's task definition becomes PRIMARY again.
pub(super) fn trip(
    st: &mut ServiceStatus,
    ev: &mut Events<'_>,
    primary: &str,
    failures: u32,
    rollback: bool,
    new_id: &str,
) {
    let Some(p) = st.deployments.iter_mut().find(|d| d.id == primary) else {
        return;
    };
    p.rollout_state = RolloutState::Failed;
    p.failed_tasks = failures;
    p.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start.".to_string();
    p.updated_at = rfc3339(ev.now);
    let generation = p.generation;
    ev.push(format!(
        "(service {}) (deployment {primary}) deployment failed: tasks failed to start.",
        ev.service
    ));
    if !rollback {
        return;
    }
    let target = st
        .deployments
        .iter()
        .rev()
        .find(|d| d.id != primary && d.rollout_state.is_completed())
        .map(|d| d.task_definition.clone());
    match target {
        Some(td) => {
            ev.push(format!("(service {}) rolling back to task definition {td} (deployment {new_id}).", ev.service));
            new_primary(st, new_id, &td, generation, primary, ev.now);
        }
        None => ev.push(format!(
            "(service {}) (deployment {primary}) cannot roll back: no earlier deployment completed.",
            ev.service
        )),
    }
}

/// Holds task starts back after repeated failures, with a delay that doubles up to the cap.
pub(super) fn throttle(
    st: &mut ServiceStatus,
    ev: &mut Events<'_>,
    failures: u32,
    last_failure: Option<OffsetDateTime>,
    cap: Duration,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if failures < THROTTLE_AFTER {
        st.throttled_until.clear();
        return None;
    }
    let doublings = (failures - THROTTLE_AFTER).min(16);
    let delay = THROTTLE_BASE.saturating_mul(1 << doublings).min(cap);
    let until = last_failure.unwrap_or(now) + delay;
    let text = rfc3339(until);
    if st.throttled_until != text && until > now {
        ev.push(format!(
            "(service {}) is unable to consistently start tasks successfully.",
            ev.service
        ));
    }
    st.throttled_until = text;
    Some(until)
}

pub(super) fn update_counts(
    st: &mut ServiceStatus,
    tasks: &[TaskView],
    desired: u32,
    primary: &Primary,
    failures: u32,
) {
    // A task belongs to the primary if the primary owns it (see `Primary::owns`), else to
    // the deployment that started it.
    let belongs = |t: &TaskView, d: &str| {
        if d == primary.id {
            primary.owns(t)
        } else {
            t.deployment == d && !primary.owns(t)
        }
    };
    let count = |dep: Option<&str>, pred: &dyn Fn(&TaskView) -> bool| -> u32 {
        tasks
            .iter()
            .filter(|t| dep.is_none_or(|d| belongs(t, d)) && t.active() && pred(t))
            .count() as u32
    };
    st.desired_count = desired;
    st.running_count = count(None, &|t| t.phase.is_running());
    st.pending_count = count(None, &|t| t.phase.is_pending());
    for d in &mut st.deployments {
        d.desired_count = if d.id == primary.id { desired } else { 0 };
        d.running_count = count(Some(&d.id), &|t| t.phase.is_running());
        d.pending_count = count(Some(&d.id), &|t| t.phase.is_pending());
        if d.id == primary.id {
            d.failed_tasks = failures;
        }
    }
}

/// The primary completes when it holds every desired task healthy and nothing else runs;
/// older deployments without tasks become INACTIVE.
pub(super) fn finish_deployments(
    st: &mut ServiceStatus,
    ev: &mut Events<'_>,
    primary: &Primary,
    converged: bool,
    tasks: &[TaskView],
) {
    let now = ev.now;
    for d in &mut st.deployments {
        let has_tasks = tasks
            .iter()
            .any(|t| t.deployment == d.id && t.present() && !primary.owns(t));
        if d.id == primary.id {
            if converged && d.rollout_state.is_in_progress() {
                d.rollout_state = RolloutState::Completed;
                d.rollout_state_reason = "ECS deployment completed.".to_string();
                d.updated_at = rfc3339(now);
                ev.push(format!(
                    "(service {}) (deployment {}) deployment completed.",
                    ev.service, d.id
                ));
            }
        } else if d.status.is_active() && !has_tasks {
            d.status = DeploymentStatus::Inactive;
            d.updated_at = rfc3339(now);
        }
    }
}
