//! Host loss: the control plane's watch over agents. An instance whose heartbeat has not
//! moved for `--instance-timeout` is marked `agentConnected: false` (placement then skips
//! it), and every task placed on it that is not STOPPED is marked STOPPED, so that services
//! replace them on live instances. When the agent comes back, its heartbeat connects the
//! instance again and its task controller removes the containers of the tasks stopped here
//! (`task::plan`: a task recorded STOPPED never runs again).
//!
//! Silence is measured on this server's clock, from the moment the monitor saw an
//! instance's `lastHeartbeat` change, never by comparing an agent's timestamp with ours: an
//! agent whose clock runs behind is not lost for that, and a server that was down for a
//! while gives every agent a whole timeout to report again before judging it.
//!
//! [`plan`] decides (pure, unit-tested); [`run`] only reads and writes.

use crate::Context;
use crate::timefmt::rfc3339;
use api::instance::ContainerInstanceStatus;
use api::task::{ContainerPhase, DesiredStatus, StopCode, TaskPhase, TaskSpec, TaskStatus};
use api::{Kind, ObjectKey};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;
use store::{ListQuery, StoreError};
use time::OffsetDateTime;
use tracing::{debug, info, warn};

/// How long an agent may stay silent before its instance is lost, by default.
pub const DEFAULT_INSTANCE_TIMEOUT: Duration = Duration::from_secs(30);

/// When each instance's heartbeat was last seen to move, on this server's clock.
#[derive(Debug, Default)]
pub struct Heartbeats {
    seen: HashMap<String, (String, OffsetDateTime)>,
}

impl Heartbeats {
    /// Records the heartbeat `id` shows at `now`; answers since when it has shown it (`now`
    /// for one new or changed since the last look).
    pub fn observe(&mut self, id: &str, heartbeat: &str, now: OffsetDateTime) -> OffsetDateTime {
        match self.seen.get(id) {
            Some((beat, since)) if beat == heartbeat => *since,
            _ => {
                self.seen
                    .insert(id.to_string(), (heartbeat.to_string(), now));
                now
            }
        }
    }

    /// Forgets the instances not in `ids` (deregistered).
    pub fn retain(&mut self, ids: &HashSet<&str>) {
        self.seen.retain(|id, _| ids.contains(id.as_str()));
    }
}

/// One container instance, as the monitor sees it.
#[derive(Debug, Clone)]
pub struct InstanceView<'a> {
    pub key: &'a ObjectKey,
    pub resource_version: Option<u64>,
    pub status: &'a ContainerInstanceStatus,
    /// Since when its heartbeat has not moved ([`Heartbeats::observe`]).
    pub quiet_since: OffsetDateTime,
}

/// One task placed on an instance.
#[derive(Debug, Clone)]
pub struct TaskView<'a> {
    pub key: &'a ObjectKey,
    pub resource_version: Option<u64>,
    /// The instance it is bound to.
    pub instance: &'a str,
    pub status: &'a TaskStatus,
}

/// A status to write, with the resourceVersion it was computed from (compare and swap).
#[derive(Debug, Clone, PartialEq)]
pub struct Write<S> {
    pub key: ObjectKey,
    pub resource_version: Option<u64>,
    pub status: S,
}

/// What to do about one lost instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Lost {
    pub instance: ObjectKey,
    /// How long its agent has been silent.
    pub silent_for: Duration,
    /// Its status as disconnected; `None` when it already says so.
    pub disconnect: Option<Write<ContainerInstanceStatus>>,
    /// Its tasks that are not STOPPED, as STOPPED.
    pub stop: Vec<Write<TaskStatus>>,
}

/// The instances whose heartbeat has not moved for longer than `timeout`, and for how long;
/// never the server's own, `local`, whose heartbeat runs in this process.
pub fn silent<'v, 'a>(
    instances: &'v [InstanceView<'a>],
    local: &str,
    timeout: Duration,
    now: OffsetDateTime,
) -> Vec<(&'v InstanceView<'a>, Duration)> {
    instances
        .iter()
        .filter(|i| i.key.name != local)
        .filter_map(|i| {
            let silent_for = Duration::try_from(now - i.quiet_since).unwrap_or_default();
            (silent_for > timeout).then_some((i, silent_for))
        })
        .collect()
}

/// What each [`silent`] instance needs: to be marked disconnected, and its tasks that are
/// not STOPPED stopped. An instance with nothing left to do is not listed.
pub fn plan(
    instances: &[InstanceView<'_>],
    tasks: &[TaskView<'_>],
    local: &str,
    timeout: Duration,
    now: OffsetDateTime,
) -> Vec<Lost> {
    let at = rfc3339(now);
    silent(instances, local, timeout, now)
        .into_iter()
        .filter_map(|(i, silent_for)| {
            let stop: Vec<Write<TaskStatus>> = tasks
                .iter()
                .filter(|t| t.instance == i.key.name && !t.status.last_status.is_terminal())
                .map(|t| Write {
                    key: t.key.clone(),
                    resource_version: t.resource_version,
                    status: stopped_by_loss(t.status, &i.key.name, silent_for, &at),
                })
                .collect();
            let disconnect = i.status.agent_connected.then(|| Write {
                key: i.key.clone(),
                resource_version: i.resource_version,
                status: disconnected(i.status, &i.key.name, silent_for, stop.len(), now),
            });
            (disconnect.is_some() || !stop.is_empty()).then(|| Lost {
                instance: i.key.clone(),
                silent_for,
                disconnect,
                stop,
            })
        })
        .collect()
}

/// The instance without its agent: it takes no tasks, and what its tasks held is given back
/// (they are all stopped with it); an event says so.
fn disconnected(
    status: &ContainerInstanceStatus,
    id: &str,
    silent_for: Duration,
    stopped: usize,
    now: OffsetDateTime,
) -> ContainerInstanceStatus {
    let mut out = ContainerInstanceStatus {
        agent_connected: false,
        running_tasks_count: 0,
        pending_tasks_count: 0,
        remaining_resources: status.registered_resources.clone(),
        ..status.clone()
    };
    out.record(
        format!("{}-lost", now.unix_timestamp_nanos()),
        &rfc3339(now),
        format!(
            "(container-instance {id}) lost its agent (no heartbeat for {}s): {stopped} tasks stopped.",
            silent_for.as_secs()
        ),
    );
    out
}

/// A task of a lost instance, STOPPED by the control plane. The stop code is ECS's for a
/// task whose host went away (`TerminationNotice`, with "Host EC2 (instance ...)
/// terminated."): not a failure of the task's revision, so the service's circuit breaker
/// does not count it. A task already stopping keeps the code and reason it was stopping for.
/// Its containers are reported STOPPED: nothing here will ever see them again, and the
/// agent, if it returns, stops and removes them.
pub fn stopped_by_loss(
    status: &TaskStatus,
    instance: &str,
    silent_for: Duration,
    now: &str,
) -> TaskStatus {
    let mut s = status.clone();
    if s.desired_status != DesiredStatus::Stopped || s.stop_code.is_none() {
        s.stop_code = Some(StopCode::TerminationNotice);
        s.stopped_reason = Some(format!(
            "Task stopped because its container instance {instance} lost its agent (no heartbeat for {}s)",
            silent_for.as_secs()
        ));
    }
    s.desired_status = DesiredStatus::Stopped;
    s.last_status = TaskPhase::Stopped;
    s.stopping_at.get_or_insert_with(|| now.to_string());
    s.stopped_at.get_or_insert_with(|| now.to_string());
    for c in s
        .containers
        .iter_mut()
        .filter(|c| !c.last_status.is_terminal())
    {
        c.last_status = ContainerPhase::Stopped;
    }
    s
}

/// Looks at every instance about four times per `timeout` until `shutdown`. `ctx.instance`
/// is the server's own (never lost: its heartbeat runs in this process).
pub async fn run(
    ctx: Context,
    timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let period = (timeout / 4).max(Duration::from_millis(50));
    let mut shutdown = std::pin::pin!(shutdown);
    let mut beats = Heartbeats::default();
    loop {
        if let Err(e) = pass(&ctx, timeout, &mut beats).await {
            warn!(error = %e, "cannot look for lost container instances");
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(period) => {}
        }
    }
}

/// One look: reads instances (and, when one is silent, tasks), plans, writes.
async fn pass(ctx: &Context, timeout: Duration, beats: &mut Heartbeats) -> Result<(), StoreError> {
    let now = (ctx.now)();
    let objects = ctx
        .store
        .list(&ListQuery::new(Kind::ContainerInstance))
        .await?
        .items;
    let keys: Vec<ObjectKey> = objects.iter().map(|o| o.key()).collect();
    let statuses: Vec<ContainerInstanceStatus> = objects
        .iter()
        .map(|o| o.status_as().unwrap_or_default())
        .collect();
    beats.retain(&keys.iter().map(|k| k.name.as_str()).collect());
    let instances: Vec<InstanceView> = objects
        .iter()
        .zip(&keys)
        .zip(&statuses)
        .map(|((o, key), status)| InstanceView {
            key,
            resource_version: o.metadata.resource_version,
            status,
            quiet_since: beats.observe(&key.name, &status.last_heartbeat, now),
        })
        .collect();
    // Tasks are read only when some instance is silent.
    if silent(&instances, &ctx.instance, timeout, now).is_empty() {
        return Ok(());
    }
    let objects = ctx.store.list(&ListQuery::new(Kind::Task)).await?.items;
    let tasks: Vec<(ObjectKey, Option<u64>, TaskStatus, String)> = objects
        .iter()
        .filter_map(|o| {
            let status: TaskStatus = o.status_as().ok()?;
            let spec: TaskSpec = o.spec_as().ok()?;
            let instance = spec.bound_instance(&status)?.to_string();
            Some((o.key(), o.metadata.resource_version, status, instance))
        })
        .collect();
    let views: Vec<TaskView> = tasks
        .iter()
        .map(|(key, rv, status, instance)| TaskView {
            key,
            resource_version: *rv,
            instance,
            status,
        })
        .collect();
    for lost in plan(&instances, &views, &ctx.instance, timeout, now) {
        apply(ctx, lost).await?;
    }
    Ok(())
}

/// Writes what [`plan`] decided for one instance. The instance first, at the version read:
/// a heartbeat that landed meanwhile wins, and then none of its tasks is touched.
async fn apply(ctx: &Context, lost: Lost) -> Result<(), StoreError> {
    let id = &lost.instance.name;
    let silent = lost.silent_for.as_secs();
    if let Some(w) = &lost.disconnect {
        match ctx
            .store
            .write_status(&w.key, &w.status, w.resource_version)
            .await
        {
            Ok(_) => {
                warn!(instance = %id, silent_s = silent, "container instance lost: its agent stopped heartbeating");
            }
            Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => {
                debug!(instance = %id, "the instance changed meanwhile (a heartbeat?); looking again later");
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    for w in &lost.stop {
        match ctx
            .store
            .write_status(&w.key, &w.status, w.resource_version)
            .await
        {
            Ok(_) => {
                info!(task = %w.key.name, instance = %id, "task stopped: its container instance was lost")
            }
            // Changed or deleted meanwhile: the next look decides again.
            Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => {
                debug!(task = %w.key.name, "the task changed meanwhile; looking again later");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
