//! The scheduler: places the tasks nobody placed when creating them (run-task, a Task
//! applied from a manifest) on a container instance of their cluster, as ECS's RunTask
//! does, by writing the task's `spec.containerInstance`; that instance's agent then runs
//! it. A task that fits nowhere is STOPPED with the reason (no agent would ever report
//! it). Service tasks are placed by the service controller as it creates them, through the
//! same [`ledger::Ledger`].

pub mod ledger;

use crate::Context;
use crate::placement::{Ask, constraints};
use crate::sources::{StoreFed, run_store_controller};
use crate::timefmt::rfc3339;
use api::task::{DesiredStatus, StopCode, TaskPhase, TaskSpec, TaskStatus};
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, Object, ObjectKey};
use reconcile::Action;
use serde::Serialize;
use std::future::Future;
use std::time::Duration;
use store::{ListQuery, StoreError, WatchEvent};
use tracing::{info, warn};

/// How often unplaced tasks are looked at without a change.
const RESYNC: Duration = Duration::from_secs(30);

/// Why placing a task failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("task {task}: {message}")]
    Invalid { task: String, message: String },
}

impl crate::invalid::ReconcileError for ScheduleError {
    fn invalid(&self) -> Option<&str> {
        match self {
            Self::Invalid { message, .. } => Some(message),
            Self::Store(_) => None,
        }
    }
}

/// Runs the scheduler until `shutdown` completes.
pub async fn run(ctx: Context, shutdown: impl Future<Output = ()> + Send + 'static) {
    let feed = StoreFed {
        name: "scheduler",
        map: unplaced_changed,
        all: all_unplaced,
        resync_every: RESYNC,
        // One at a time: each placement sees every one before it.
        concurrency: 1,
    };
    run_store_controller(
        ctx,
        feed,
        |ctx, key| async move { schedule(&ctx, &key).await },
        shutdown,
    )
    .await;
}

fn unplaced(task: &Object) -> bool {
    let status: TaskStatus = task.status_as().unwrap_or_default();
    task.spec_as::<TaskSpec>()
        .is_ok_and(|s| s.bound_instance(&status).is_none())
        && !status.last_status.is_terminal()
}

/// A task that needs placing. Instances' changes wake nothing here: a task is placed or
/// stopped at once, never left waiting for room (services retry theirs).
fn unplaced_changed(_: &Context, ev: &WatchEvent) -> Vec<ObjectKey> {
    match ev.object.kind {
        Kind::Task if ev.event_type != store::WatchEventType::Deleted && unplaced(&ev.object) => {
            vec![ev.object.key()]
        }
        _ => Vec::new(),
    }
}

fn all_unplaced(ctx: &Context) -> Vec<ObjectKey> {
    match ctx.store.blocking().list(&ListQuery::new(Kind::Task)) {
        Ok(list) => list
            .items
            .iter()
            .filter(|t| unplaced(t))
            .map(Object::key)
            .collect(),
        Err(e) => {
            warn!(error = %e, "scheduler: cannot list tasks");
            Vec::new()
        }
    }
}

/// The binding: the one field the scheduler writes in a task's spec.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Binding<'a> {
    container_instance: &'a str,
}

/// Places one task, or stops it with the reason it fits nowhere.
async fn schedule(ctx: &Context, key: &ObjectKey) -> Result<Action, ScheduleError> {
    let Some(obj) = ctx.store.get(key).await? else {
        return Ok(Action::await_change());
    };
    if !unplaced(&obj) {
        return Ok(Action::await_change());
    }
    let invalid = |m: String| ScheduleError::Invalid {
        task: key.name.clone(),
        message: m,
    };
    let spec: TaskSpec = obj.spec_as().map_err(|e| invalid(e.to_string()))?;
    if spec.stop_requested() {
        let reason = spec
            .stopped_reason
            .clone()
            .unwrap_or_else(|| "Task stopped by user".to_string());
        return stop(
            ctx,
            &obj,
            spec.stop_code.unwrap_or(StopCode::UserInitiated),
            reason,
        )
        .await;
    }
    let td = ctx
        .store
        .get(&ObjectKey::new(
            Kind::TaskDefinition,
            None,
            &spec.task_definition,
        ))
        .await?
        .and_then(|o| o.spec_as::<TaskDefinitionSpec>().ok());
    let Some(td) = td else {
        let why = format!("task definition {:?} not found", spec.task_definition);
        return stop(ctx, &obj, StopCode::TaskFailedToStart, why).await;
    };
    let cluster = obj.metadata.cluster_or_default().to_string();
    let rules = match constraints(&td.placement_constraints, &spec.placement_constraints) {
        Ok(c) => c,
        Err(e) => return stop(ctx, &obj, StopCode::TaskFailedToStart, e.to_string()).await,
    };
    let need = crate::placement::need(&td);
    let group = ledger::group_of(&spec);
    let declared = crate::service::reconciler::declared_capacity(ctx, &cluster).await?;
    let ask = Ask {
        need: &need,
        group: &group,
        constraints: &rules,
        strategies: &spec.placement_strategy,
        count: 1,
    };
    let mut rng = || (ctx.new_id)().as_u128() as u64;
    let placed = ctx.ledger().place(
        &cluster,
        declared,
        &ask,
        Some(std::slice::from_ref(key)),
        &mut rng,
    );
    let Some(instance) = placed.chosen.first() else {
        let why = placed.reason.unwrap_or_default();
        return stop(
            ctx,
            &obj,
            StopCode::TaskFailedToStart,
            format!("RESOURCE: the task cannot be placed: {why}"),
        )
        .await;
    };
    let mut bound = obj.clone();
    bound
        .merge_spec(&Binding {
            container_instance: instance,
        })
        .map_err(|e| invalid(e.to_string()))?;
    match ctx.store.apply(bound).await {
        Ok(_) => {
            info!(task = %key.name, %instance, "placed");
            Ok(Action::await_change())
        }
        // Changed meanwhile: look again (the reservation keeps its place).
        Err(StoreError::Conflict { .. }) => Ok(Action::requeue(Duration::ZERO)),
        Err(e) => Err(e.into()),
    }
}

/// Marks a task that will never run STOPPED (no agent would report it).
async fn stop(
    ctx: &Context,
    obj: &Object,
    code: StopCode,
    reason: String,
) -> Result<Action, ScheduleError> {
    let mut status: TaskStatus = obj.status_as().unwrap_or_default();
    status.desired_status = DesiredStatus::Stopped;
    status.last_status = TaskPhase::Stopped;
    status.stop_code.get_or_insert(code);
    status.stopped_reason.get_or_insert(reason);
    status
        .stopped_at
        .get_or_insert_with(|| rfc3339((ctx.now)()));
    warn!(task = %obj.metadata.name, reason = status.stopped_reason.as_deref().unwrap_or_default(), "task not placed");
    ctx.store
        .write_status(&obj.key(), &status, obj.metadata.resource_version)
        .await?;
    Ok(Action::await_change())
}
