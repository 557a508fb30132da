//! The service planner: a pure function from the service's spec, its recorded status (the
//! deployments) and its tasks to the tasks to start and stop, the new status and the events.
//!
//! The rolling-update arithmetic is ECS's: at most floor(desired x maximumPercent / 100)
//! tasks exist at any moment (a task counts until it is STOPPED) and at least
//! ceil(desired x minimumHealthyPercent / 100) healthy tasks remain; a task is healthy when
//! it is RUNNING and its health check (where one is defined) says HEALTHY.
//!
//! Tasks on a DRAINING container instance are replaced as tasks of an old deployment are,
//! within the same bounds (ECS's container instance draining): they do not count towards
//! the desired count, so replacements start first where maximumPercent leaves room, and
//! they are stopped only while minimumHealthyPercent stays met (those not healthy, PENDING
//! ones for instance, at once).

mod report;
mod rollout;

use api::service::{SchedulingStrategy, ServiceSpec, ServiceStatus};
use api::task::TaskPhase;
use report::{Events, announce_targets, set_condition};
use rollout::{
    Primary, deployment_rank, finish_deployments, new_primary, throttle, trip, update_counts,
};
use std::time::Duration;
use time::OffsetDateTime;

/// Events kept in a service's status.
pub const MAX_EVENTS: usize = 100;
/// Deployments kept in a service's status (the newest; `rollout history` reads them).
pub const MAX_DEPLOYMENTS: usize = 10;
/// Most tasks one pass starts; the next pass (a second later, or at the next task event)
/// starts more. ECS launches a service's tasks at a bounded rate too (its RunTask starts at
/// most 10 per call), and a store write of 100,000 tasks at once would stall every reader.
pub const MAX_STARTS_PER_PASS: u32 = 10;
/// How soon to look again while a rollout is in progress.
pub const POLL: Duration = Duration::from_secs(1);

/// One task of the service, as the planner needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    pub id: String,
    /// The deployment that started it.
    pub deployment: String,
    /// `family:N` it runs.
    pub task_definition: String,
    pub phase: TaskPhase,
    /// Asked to stop (by the scheduler or a user).
    pub stopping: bool,
    /// RUNNING, and HEALTHY where a health check is defined.
    pub healthy: bool,
    /// Its health check says UNHEALTHY.
    pub unhealthy: bool,
    pub started_at: Option<OffsetDateTime>,
    pub stopped_at: Option<OffsetDateTime>,
    /// Stopped on its own (failed to start, or an essential container exited).
    pub failed: bool,
    /// Registered (not draining) with one of the service's load balancers.
    pub registered: bool,
    /// Placed on a container instance that is DRAINING: to be replaced elsewhere.
    pub on_draining: bool,
}

impl TaskView {
    fn present(&self) -> bool {
        !self.phase.is_terminal()
    }
    fn active(&self) -> bool {
        self.present() && !self.stopping
    }
}

/// Everything the planner looks at.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub service: &'a str,
    pub spec: &'a ServiceSpec,
    /// metadata.generation of the service.
    pub generation: u64,
    /// `family:N` that spec.taskDefinition resolves to now.
    pub task_definition: &'a str,
    /// The value of the force-new-deployment annotation ("" when absent).
    pub force_token: &'a str,
    /// Fingerprint of the settings tasks take at start ("" when none): a change forces a new
    /// deployment too.
    pub task_config_token: &'a str,
    pub status: &'a ServiceStatus,
    pub tasks: &'a [TaskView],
    pub now: OffsetDateTime,
    /// Longest delay between task starts after repeated failures (ECS: 27 minutes).
    pub backoff_cap: Duration,
    /// Ids for deployments this plan may create.
    pub new_ids: [&'a str; 2],
    /// DAEMON: the container instances its tasks may run on, one task each.
    pub daemon_instances: u32,
    /// How many more tasks the container instances can take, and why not more, in ECS's
    /// words ("no container instance met all of its requirements. The closest ..."). None:
    /// no limit known; the reconciler asks placement only when a plan wants to start tasks.
    pub placement: Option<(u32, String)>,
}

/// A change to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start `count` tasks of `task_definition` for `deployment`.
    Start {
        deployment: String,
        task_definition: String,
        count: u32,
    },
    /// Ask a task to stop.
    Stop { task: String, reason: String },
}

/// The outcome of planning.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub status: ServiceStatus,
    pub requeue_after: Option<Duration>,
}

/// The desired task count (DAEMON: one per container instance it may run on).
pub fn desired_count(spec: &ServiceSpec, daemon_instances: u32) -> u32 {
    match spec.scheduling_strategy() {
        SchedulingStrategy::Replica => spec.desired_count.map_or(0, |c| c.get()),
        SchedulingStrategy::Daemon => daemon_instances,
    }
}

/// ECS's circuit breaker threshold.
pub fn breaker_threshold(desired: u32) -> u32 {
    desired.div_ceil(2).clamp(3, 200)
}

/// Plans one service.
pub fn plan(inp: &Inputs<'_>) -> Plan {
    let mut st = inp.status.clone();
    let mut ev = Events {
        service: inp.service,
        now: inp.now,
        new: Vec::new(),
    };
    let desired = desired_count(inp.spec, inp.daemon_instances);
    let max_total = (u64::from(desired) * u64::from(inp.spec.maximum_percent()) / 100) as u32;
    let min_healthy =
        (u64::from(desired) * u64::from(inp.spec.minimum_healthy_percent())).div_ceil(100) as u32;
    let mut ids = inp.new_ids.iter();

    // 1. A different task definition (a new revision of the family, or another one), or a
    //    forced deployment, makes a new PRIMARY deployment. A revision the circuit breaker
    //    rolled back is not deployed again until the service points elsewhere first (as ECS
    //    points the service at the restored revision) or a deployment is forced.
    let forced = (!inp.force_token.is_empty() && inp.force_token != st.force_token)
        || inp.task_config_token != st.task_config_token;
    if forced
        || (!st.failed_task_definition.is_empty()
            && st.failed_task_definition != inp.task_definition)
    {
        st.failed_task_definition.clear();
    }
    let changed = match st.primary() {
        None => true,
        Some(p) => {
            forced
                || (p.task_definition != inp.task_definition
                    && st.failed_task_definition != inp.task_definition)
        }
    };
    if changed {
        let id = ids.next().copied().unwrap_or("ecs-svc/0");
        new_primary(
            &mut st,
            id,
            inp.task_definition,
            inp.generation,
            "",
            inp.now,
        );
    }
    st.observed_generation = st.observed_generation.max(inp.generation);
    st.force_token = inp.force_token.to_string();
    st.task_config_token = inp.task_config_token.to_string();

    // 2. Failures of the primary since it last had a healthy task: the circuit breaker and
    //    the start throttle both count them.
    let breaker = inp
        .spec
        .deployment_configuration
        .as_ref()
        .and_then(|d| d.deployment_circuit_breaker.clone());
    let mut primary = Primary::of(&st);
    let mut failures = primary.failures(inp.tasks);
    let in_progress = st
        .deployments
        .iter()
        .any(|d| d.id == primary.id && d.rollout_state.is_in_progress());
    if let Some(b) = &breaker
        && in_progress
        && b.enable
        && failures.count >= breaker_threshold(desired)
    {
        let id = ids.next().copied().unwrap_or("ecs-svc/0");
        st.failed_task_definition = primary.task_definition.clone();
        trip(
            &mut st,
            &mut ev,
            &primary.id,
            failures.count,
            b.rollback,
            id,
        );
        primary = Primary::of(&st);
        failures = primary.failures(inp.tasks);
    }
    let in_primary = |t: &TaskView| primary.owns(t);
    // What the primary keeps: its tasks, but those on a DRAINING instance, which are
    // replaced like an old deployment's.
    let keeps = |t: &TaskView| in_primary(t) && !t.on_draining;

    // 3. Unhealthy tasks past the grace period are replaced.
    let grace = Duration::from_secs(u64::from(
        inp.spec
            .health_check_grace_period_seconds
            .map_or(0, |g| g.get()),
    ));
    let mut stops: Vec<(String, String)> = inp
        .tasks
        .iter()
        .filter(|t| t.active() && t.unhealthy)
        .filter(|t| t.started_at.is_none_or(|s| inp.now - s >= grace))
        .map(|t| {
            (
                t.id.clone(),
                "Task failed container health checks".to_string(),
            )
        })
        .collect();
    let stopping_now = |id: &str, stops: &[(String, String)]| stops.iter().any(|(s, _)| s == id);

    // 4. The rolling update, inside the bounds.
    let present = inp.tasks.iter().filter(|t| t.present()).count() as u32;
    let healthy = inp
        .tasks
        .iter()
        .filter(|t| t.active() && t.healthy && !stopping_now(&t.id, &stops))
        .count() as u32;
    let primary_active = inp
        .tasks
        .iter()
        .filter(|t| keeps(t) && t.active() && !stopping_now(&t.id, &stops))
        .count() as u32;
    let throttled_until = throttle(
        &mut st,
        &mut ev,
        failures.count,
        failures.last,
        inp.backoff_cap,
        inp.now,
    );
    let throttled = throttled_until.is_some_and(|u| u > inp.now);
    let room = max_total.saturating_sub(present);
    let mut starts = if throttled {
        0
    } else {
        desired
            .saturating_sub(primary_active)
            .min(room)
            .min(MAX_STARTS_PER_PASS)
    };
    let unplaced = match &inp.placement {
        Some((fit, why)) if starts > *fit => {
            starts = *fit;
            ev.once(
                &mut st,
                format!(
                    "(service {}) was unable to place a task because {why}",
                    inp.service
                ),
            );
            true
        }
        _ => false,
    };

    // Old deployments and DRAINING instances drain: tasks that are not healthy go first
    // (they cost no healthy capacity), then healthy ones down to the minimum.
    let mut spare = healthy.saturating_sub(min_healthy);
    let mut old: Vec<&TaskView> = inp
        .tasks
        .iter()
        .filter(|t| !keeps(t) && t.active())
        .collect();
    old.sort_by_key(|t| (t.healthy, deployment_rank(&st, &t.deployment), t.started_at));
    for t in old {
        if stopping_now(&t.id, &stops) {
            continue;
        }
        let reason = if in_primary(t) {
            "Task replaced: its container instance is DRAINING"
        } else {
            "Task replaced by a new deployment"
        };
        if !t.healthy {
            stops.push((t.id.clone(), reason.to_string()));
        } else if spare > 0 {
            spare -= 1;
            stops.push((t.id.clone(), reason.to_string()));
        }
    }
    // Scale-in of the primary: extra tasks beyond the desired count, least useful first.
    if primary_active > desired {
        let mut extra: Vec<&TaskView> = inp
            .tasks
            .iter()
            .filter(|t| keeps(t) && t.active() && !stopping_now(&t.id, &stops))
            .collect();
        extra.sort_by_key(|t| (t.healthy, std::cmp::Reverse(t.started_at)));
        for t in extra.into_iter().take((primary_active - desired) as usize) {
            stops.push((t.id.clone(), "Service scaled in".to_string()));
        }
    }

    // 5. Counts, per deployment and in all.
    update_counts(&mut st, inp.tasks, desired, &primary, failures.count);
    let primary_healthy = inp
        .tasks
        .iter()
        .filter(|t| keeps(t) && t.active() && t.healthy)
        .count() as u32;
    let others_present = inp.tasks.iter().any(|t| !keeps(t) && t.present());
    // Steady only once tasks being stopped (scale-in, replacement) are gone too.
    let stopping_present = inp.tasks.iter().any(|t| t.present() && t.stopping);
    let converged = primary_healthy == desired
        && primary_active == desired
        && !others_present
        && !stopping_present
        && stops.is_empty();
    finish_deployments(&mut st, &mut ev, &primary, converged, inp.tasks);

    // 6. Stalls and steady state.
    let in_flight = inp
        .tasks
        .iter()
        .any(|t| t.present() && (t.stopping || !t.healthy));
    if starts == 0
        && stops.is_empty()
        && !converged
        && !in_flight
        && !throttled
        && !unplaced
        && desired > 0
    {
        ev.once(
            &mut st,
            format!(
                "(service {}) is unable to make progress: with desiredCount {desired}, minimumHealthyPercent {} and maximumPercent {} allow neither starting nor stopping a task.",
                inp.service,
                inp.spec.minimum_healthy_percent(),
                inp.spec.maximum_percent()
            ),
        );
    }
    let steady = converged && starts == 0;
    set_condition(&mut st, &mut ev, steady, inp.now);

    announce_targets(&mut st, &mut ev, inp, &stops);
    if !stops.is_empty() {
        let names: Vec<String> = stops.iter().map(|(id, _)| format!("(task {id})")).collect();
        ev.push(format!(
            "(service {}) has stopped {} running tasks: {}.",
            inp.service,
            stops.len(),
            names.join(" ")
        ));
    }
    let mut actions: Vec<Action> = stops
        .into_iter()
        .map(|(task, reason)| Action::Stop { task, reason })
        .collect();
    if starts > 0 {
        let td = st
            .deployments
            .iter()
            .find(|d| d.id == primary.id)
            .map(|d| d.task_definition.clone())
            .unwrap_or_default();
        actions.push(Action::Start {
            deployment: primary.id.clone(),
            task_definition: td,
            count: starts,
        });
    }
    ev.flush(&mut st);
    let requeue_after = if throttled {
        throttled_until.and_then(|u| Duration::try_from(u - inp.now).ok())
    } else if steady {
        None
    } else {
        Some(POLL)
    };
    Plan {
        actions,
        status: st,
        requeue_after,
    }
}

#[cfg(test)]
mod tests;
