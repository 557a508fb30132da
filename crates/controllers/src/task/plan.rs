//! The task planner: a pure function from what the task should be (its definition and the
//! stop requests in its spec), what was recorded (its status) and what the runtime shows (its
//! containers) to the next steps and the new status. No I/O, no clock: `now` is an input.

use api::task::{
    ContainerPhase, ContainerStatus, DesiredStatus, HealthState, NetworkBinding, StopCode,
    TaskPhase, TaskStatus,
};
use api::taskdef::{ContainerDefinition, DependencyCondition, NetworkMode, TaskDefinitionSpec};
use std::collections::BTreeMap;
use std::time::Duration;

/// ECS's default time between SIGTERM and SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a container may wait for its dependencies when it sets no startTimeout.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(300);
/// How soon to look again while something is in progress (events usually come sooner).
pub const POLL: Duration = Duration::from_secs(1);

/// The state of a container as the runtime reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Created, never started.
    Created,
    Running,
    /// Exited (or dead) with this code.
    Exited(i64),
}

/// One container the runtime has for this task.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub runtime_id: String,
    pub state: RunState,
    /// None when the container has no health check.
    pub health: Option<HealthState>,
    pub oom_killed: bool,
    /// Paused outside ecsctl: it runs but serves nothing, so it counts as UNHEALTHY.
    pub paused: bool,
    pub bindings: Vec<NetworkBinding>,
}

/// Everything the planner looks at.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The task id.
    pub task_id: &'a str,
    pub td: &'a TaskDefinitionSpec,
    /// `family:N` the task runs.
    pub task_definition: &'a str,
    /// A stop request from the spec: (who, why).
    pub stop_request: Option<(StopCode, String)>,
    pub status: &'a TaskStatus,
    /// The task's containers by container name.
    pub containers: &'a BTreeMap<String, Observed>,
    /// The container holding the task's network namespace (awsvpc only).
    pub netns: Option<&'a Observed>,
    /// The task's address on its cluster network, when known.
    pub private_ip: Option<&'a str>,
    /// Time since the task was created (for startTimeout).
    pub age: Duration,
    /// The task's load balancer targets have drained (true when it has none).
    pub drained: bool,
    /// RFC 3339 time of this reconcile, written into startedAt/stoppedAt.
    pub now: &'a str,
}

/// A step for the executor, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create and start the container that holds the task's network namespace.
    EnsureNetns,
    /// Create a container (not started).
    Create(String),
    /// Start a created container.
    Start(String),
    /// SIGTERM, then SIGKILL after the timeout.
    Stop { name: String, timeout: Duration },
    /// Stop and remove the network namespace holder.
    RemoveNetns,
    /// Remove a container that no longer runs.
    Remove(String),
}

/// What to do now, and what to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub status: TaskStatus,
    /// Look again after this long even without an event.
    pub requeue_after: Option<Duration>,
}

/// Plans the next steps of one task.
pub fn plan(inp: &Inputs<'_>) -> Plan {
    if inp.status.last_status.is_terminal() {
        return plan_stopped(inp);
    }
    let mut status = inp.status.clone();
    status.task_definition = inp.task_definition.to_string();
    if status.created_at.is_none() {
        status.created_at = Some(inp.now.to_string());
    }
    if let Some(ip) = inp.private_ip {
        status.private_ip = Some(ip.to_string());
    }
    status.containers = container_statuses(inp);
    status.health_status = task_health(inp);

    if status.desired_status == DesiredStatus::Running
        && let Some((code, reason)) = stop_reason(inp)
    {
        status.desired_status = DesiredStatus::Stopped;
        status.stop_code = Some(code);
        status.stopped_reason = Some(reason);
    }
    let (steps, phase, requeue_after) = match status.desired_status {
        DesiredStatus::Running => plan_running(inp, &mut status),
        DesiredStatus::Stopped if !inp.drained && running_any(inp) => {
            // Deregistered from its load balancers first: in-flight requests finish, no new
            // ones arrive; then SIGTERM.
            (Vec::new(), TaskPhase::Deactivating, Some(POLL))
        }
        DesiredStatus::Stopped => plan_stopping(inp),
    };
    if phase == TaskPhase::Running && status.started_at.is_none() {
        status.started_at = Some(inp.now.to_string());
    }
    if status.desired_status == DesiredStatus::Stopped && status.stopping_at.is_none() {
        status.stopping_at = Some(inp.now.to_string());
    }
    if phase == TaskPhase::Stopped && status.stopped_at.is_none() {
        status.stopped_at = Some(inp.now.to_string());
    }
    status.last_status = phase;
    Plan {
        steps,
        status,
        requeue_after,
    }
}

/// A task recorded STOPPED stays STOPPED, whatever its containers do: the control plane may
/// have stopped it without its agent (its instance was lost) and started a replacement
/// elsewhere, or someone started one of its containers again outside ecsctl. Whatever still
/// runs is stopped (dependents first). A task stopped because its instance was lost
/// (`TerminationNotice`) also has its containers removed once stopped: another task
/// replaced it, and no one will read them.
fn plan_stopped(inp: &Inputs<'_>) -> Plan {
    let mut status = inp.status.clone();
    status.containers = container_statuses(inp)
        .into_iter()
        .map(
            |c| match inp.status.containers.iter().find(|p| p.name == c.name) {
                // Gone (removed here, or never made): what was recorded stays.
                Some(prev) if !inp.containers.contains_key(&c.name) => prev.clone(),
                _ => c,
            },
        )
        .collect();
    let (mut steps, _, _) = plan_stopping(inp);
    let stopping = steps.iter().any(|s| matches!(s, Step::Stop { .. })) || running_any(inp);
    if !stopping && inp.status.stop_code == Some(StopCode::TerminationNotice) {
        steps = defs(inp.td)
            .filter(|c| inp.containers.contains_key(&c.name))
            .map(|c| Step::Remove(c.name.clone()))
            .chain(inp.netns.is_some().then_some(Step::RemoveNetns))
            .collect();
    }
    Plan {
        requeue_after: (!steps.is_empty() || stopping).then_some(POLL),
        steps,
        status,
    }
}

fn defs(td: &TaskDefinitionSpec) -> impl Iterator<Item = &ContainerDefinition> {
    td.container_definitions.iter()
}

/// Why a running task must stop now, if it must.
fn stop_reason(inp: &Inputs<'_>) -> Option<(StopCode, String)> {
    if let Some(req) = &inp.stop_request {
        return Some(req.clone());
    }
    for c in defs(inp.td).filter(|c| c.is_essential()) {
        match inp.containers.get(&c.name) {
            Some(Observed {
                state: RunState::Exited(code),
                oom_killed,
                ..
            }) => {
                let why = if *oom_killed {
                    " (OutOfMemoryError: container killed due to memory usage)"
                } else {
                    ""
                };
                return Some((
                    StopCode::EssentialContainerExited,
                    format!(
                        "Essential container in task exited: {} exited with code {code}{why}",
                        c.name
                    ),
                ));
            }
            None if was_created(inp.status, &c.name) => {
                return Some((
                    StopCode::EssentialContainerExited,
                    format!(
                        "Essential container in task exited: {} was removed outside ecsctl",
                        c.name
                    ),
                ));
            }
            _ => {}
        }
    }
    if inp.td.network_mode() == NetworkMode::Awsvpc
        && inp.netns.is_none_or(|n| n.state != RunState::Running)
        && inp.status.last_status >= TaskPhase::Pending
    {
        return Some((
            StopCode::TaskFailedToStart,
            "the task's network namespace container stopped or was removed outside ecsctl"
                .to_string(),
        ));
    }
    for c in defs(inp.td).filter(|c| c.is_essential()) {
        if let Some(Observed {
            state: RunState::Created,
            ..
        }) = inp.containers.get(&c.name)
        {
            match dependencies(inp, c) {
                Deps::Failed(why) => {
                    return Some((
                        StopCode::TaskFailedToStart,
                        format!("container {} cannot start: {why}", c.name),
                    ));
                }
                Deps::Waiting(_) if inp.age > start_timeout(c) => {
                    return Some((
                        StopCode::TaskFailedToStart,
                        format!(
                            "container {} timed out after {}s waiting for its dependencies",
                            c.name,
                            start_timeout(c).as_secs()
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
    None
}

fn was_created(status: &TaskStatus, name: &str) -> bool {
    status
        .containers
        .iter()
        .any(|c| c.name == name && c.runtime_id.is_some())
}

fn start_timeout(c: &ContainerDefinition) -> Duration {
    c.start_timeout.map_or(DEFAULT_START_TIMEOUT, |t| {
        Duration::from_secs(u64::from(t.get()))
    })
}

fn stop_timeout(c: &ContainerDefinition) -> Duration {
    c.stop_timeout.map_or(DEFAULT_STOP_TIMEOUT, |t| {
        Duration::from_secs(u64::from(t.get()))
    })
}

enum Deps {
    Met,
    Waiting(String),
    Failed(String),
}

/// Whether a container's dependsOn conditions hold.
fn dependencies(inp: &Inputs<'_>, c: &ContainerDefinition) -> Deps {
    for d in &c.depends_on {
        let dep = inp.containers.get(&d.container_name);
        let name = &d.container_name;
        let verdict = match (d.condition, dep.map(|o| (o.state, o.health))) {
            (_, None) | (_, Some((RunState::Created, _))) => {
                Deps::Waiting(format!("{name} has not started"))
            }
            (DependencyCondition::Start, Some(_)) => Deps::Met,
            (DependencyCondition::Complete, Some((RunState::Exited(_), _))) => Deps::Met,
            (DependencyCondition::Success, Some((RunState::Exited(0), _))) => Deps::Met,
            (DependencyCondition::Success, Some((RunState::Exited(code), _))) => Deps::Failed(
                format!("{name} exited with code {code}, and SUCCESS needs 0"),
            ),
            (
                DependencyCondition::Complete | DependencyCondition::Success,
                Some((RunState::Running, _)),
            ) => Deps::Waiting(format!("{name} has not exited")),
            (DependencyCondition::Healthy, Some((_, Some(HealthState::Healthy)))) => Deps::Met,
            (DependencyCondition::Healthy, Some((_, Some(HealthState::Unhealthy)))) => {
                Deps::Failed(format!("{name} is UNHEALTHY, and HEALTHY was required"))
            }
            (DependencyCondition::Healthy, Some((RunState::Exited(code), _))) => Deps::Failed(
                format!("{name} exited with code {code} before it was HEALTHY"),
            ),
            (DependencyCondition::Healthy, Some(_)) => {
                Deps::Waiting(format!("{name} is not HEALTHY yet"))
            }
        };
        match verdict {
            Deps::Met => {}
            other => return other,
        }
    }
    Deps::Met
}

fn plan_running(
    inp: &Inputs<'_>,
    status: &mut TaskStatus,
) -> (Vec<Step>, TaskPhase, Option<Duration>) {
    if inp.td.network_mode() == NetworkMode::Awsvpc
        && inp.netns.is_none_or(|n| n.state != RunState::Running)
    {
        return (vec![Step::EnsureNetns], TaskPhase::Provisioning, Some(POLL));
    }
    let missing: Vec<Step> = defs(inp.td)
        .filter(|c| !inp.containers.contains_key(&c.name))
        .map(|c| Step::Create(c.name.clone()))
        .collect();
    if !missing.is_empty() {
        return (missing, TaskPhase::Pending, Some(POLL));
    }
    let mut steps = Vec::new();
    let mut waiting = false;
    for c in defs(inp.td) {
        if let Some(Observed {
            state: RunState::Created,
            ..
        }) = inp.containers.get(&c.name)
        {
            match dependencies(inp, c) {
                Deps::Met => steps.push(Step::Start(c.name.clone())),
                Deps::Waiting(why) => {
                    waiting = true;
                    if let Some(cs) = status.containers.iter_mut().find(|s| s.name == c.name) {
                        cs.reason = Some(format!("waiting: {why}"));
                    }
                }
                Deps::Failed(why) => {
                    // A non-essential container that can never start is reported, not waited on.
                    if let Some(cs) = status.containers.iter_mut().find(|s| s.name == c.name) {
                        cs.reason = Some(format!("cannot start: {why}"));
                    }
                }
            }
        }
    }
    let all_essential_running = defs(inp.td).filter(|c| c.is_essential()).all(|c| {
        inp.containers
            .get(&c.name)
            .is_some_and(|o| o.state == RunState::Running)
    });
    let phase = if all_essential_running && steps.is_empty() {
        TaskPhase::Running
    } else {
        TaskPhase::Activating
    };
    let health_pending = status.health_status == HealthState::Unknown && has_health_checks(inp.td);
    let requeue = (waiting || !steps.is_empty() || health_pending).then_some(POLL);
    (steps, phase, requeue)
}

fn has_health_checks(td: &TaskDefinitionSpec) -> bool {
    defs(td).any(|c| c.checked_health().is_some())
}

fn running_any(inp: &Inputs<'_>) -> bool {
    inp.containers
        .values()
        .any(|o| o.state == RunState::Running)
}

fn plan_stopping(inp: &Inputs<'_>) -> (Vec<Step>, TaskPhase, Option<Duration>) {
    let running = |name: &str| {
        inp.containers
            .get(name)
            .is_some_and(|o| o.state == RunState::Running)
    };
    // Dependents stop first: a container stops once nothing that depends on it still runs.
    let steps: Vec<Step> = defs(inp.td)
        .filter(|c| running(&c.name))
        .filter(|c| {
            !defs(inp.td).any(|other| {
                running(&other.name) && other.depends_on.iter().any(|d| d.container_name == c.name)
            })
        })
        .map(|c| Step::Stop {
            name: c.name.clone(),
            timeout: stop_timeout(c),
        })
        .collect();
    if defs(inp.td).any(|c| running(&c.name)) {
        return (steps, TaskPhase::Stopping, Some(POLL));
    }
    if inp.netns.is_some() {
        return (
            vec![Step::RemoveNetns],
            TaskPhase::Deprovisioning,
            Some(POLL),
        );
    }
    (Vec::new(), TaskPhase::Stopped, None)
}

fn container_statuses(inp: &Inputs<'_>) -> Vec<ContainerStatus> {
    defs(inp.td)
        .map(|c| {
            let prev = inp.status.containers.iter().find(|s| s.name == c.name);
            let o = inp.containers.get(&c.name);
            // A container that failed before it existed keeps the STOPPED and reason recorded.
            let never_made = o.is_none()
                && prev.is_some_and(|p| p.runtime_id.is_none() && p.last_status.is_terminal());
            let (last, exit) = match o.map(|o| o.state) {
                None if prev.is_some_and(|p| p.runtime_id.is_some()) => {
                    (ContainerPhase::Stopped, prev.and_then(|p| p.exit_code))
                }
                None if never_made => (ContainerPhase::Stopped, None),
                None | Some(RunState::Created) => (ContainerPhase::Pending, None),
                Some(RunState::Running) => (ContainerPhase::Running, None),
                Some(RunState::Exited(code)) => (ContainerPhase::Stopped, Some(code)),
            };
            let removed = o.is_none() && prev.is_some_and(|p| p.runtime_id.is_some());
            ContainerStatus {
                name: c.name.clone(),
                runtime_id: o
                    .map(|o| o.runtime_id.clone())
                    .or_else(|| prev.and_then(|p| p.runtime_id.clone())),
                image: c.image.clone(),
                last_status: last,
                exit_code: exit,
                reason: if removed {
                    Some("container was removed outside ecsctl".to_string())
                } else if o.is_some_and(|o| o.paused) {
                    Some("container was paused outside ecsctl".to_string())
                } else if o.is_some_and(|o| o.oom_killed) {
                    Some("OutOfMemoryError: container killed due to memory usage".to_string())
                } else if never_made || o.is_some_and(|o| o.state == RunState::Created) {
                    prev.and_then(|p| p.reason.clone())
                } else {
                    None
                },
                health_status: o.and_then(|o| o.health).unwrap_or_default(),
                essential: c.is_essential(),
                network_bindings: o.map(|o| o.bindings.clone()).unwrap_or_default(),
                log_group: awslogs(c).map(|(g, _)| g.to_string()),
                log_stream: awslogs(c)
                    .and_then(|(_, p)| p)
                    .map(|p| format!("{p}/{}/{}", c.name, inp.task_id)),
            }
        })
        .collect()
}

/// The awslogs group and stream prefix of a container, if it logs with awslogs.
fn awslogs(c: &ContainerDefinition) -> Option<(&str, Option<&str>)> {
    let l = c
        .log_configuration
        .as_ref()
        .filter(|l| l.log_driver == api::taskdef::LogDriver::Awslogs)?;
    let group = l.options.get("awslogs-group")?;
    Some((
        group,
        l.options.get("awslogs-stream-prefix").map(String::as_str),
    ))
}

/// Worst health of the essential containers that have a health check (ECS's rule).
fn task_health(inp: &Inputs<'_>) -> HealthState {
    let paused = defs(inp.td)
        .filter(|c| c.is_essential())
        .any(|c| inp.containers.get(&c.name).is_some_and(|o| o.paused));
    if paused {
        return HealthState::Unhealthy;
    }
    let mut any = false;
    let mut worst = HealthState::Healthy;
    for c in defs(inp.td).filter(|c| c.is_essential() && c.checked_health().is_some()) {
        any = true;
        match inp.containers.get(&c.name).and_then(|o| o.health) {
            Some(HealthState::Unhealthy) => return HealthState::Unhealthy,
            Some(HealthState::Healthy) => {}
            _ => worst = HealthState::Unknown,
        }
    }
    if any { worst } else { HealthState::Unknown }
}

#[cfg(test)]
mod tests;
