//! The task controller: makes each Task object's containers exist, start in dependsOn order,
//! stop dependents first, and reports what it sees in ECS's words.
//!
//! It runs where the containers are, as an agent does (the server's own for its machine,
//! `ecsctl agent` on other hosts), and acts only on the tasks placed on its container
//! instance (`Context.instance`).
//!
//! Three sources feed its queue: the store's watch (Task objects changed), the runtime's
//! events (a container started, died, changed health: noticed at once, not by polling), and
//! a periodic resync that also adopts containers after a restart and cleans up orphans.

pub mod bounds;
pub mod containers;
pub mod endpoint;
pub mod host_paths;
pub mod names;
pub mod pause;
pub mod pipeline;
pub mod plan;
pub mod reconciler;
pub mod retention;
pub mod roles;
pub mod secrets;
pub mod service_connect;
pub mod volumes;

use crate::Context;
use crate::sources::watch_store;
use ::reconcile::{Controller, QueueConfig, QueueHandle};
use api::task::{TaskSpec, TaskStatus};
use api::{Kind, Object, ObjectKey};
use futures::StreamExt;
use runtime::labels;
use std::future::Future;
use std::time::Duration;
use tracing::{info, warn};

/// How often every task is looked at even without a change.
pub const RESYNC: Duration = Duration::from_secs(30);
/// Tasks reconciled at once. More than the start slots ([`pipeline::START_SLOTS`]): the
/// tasks beyond them read the store and list their containers meanwhile, and a stop or a
/// status change of a running task need not wait for the starts.
const CONCURRENCY: usize = 32;

/// Runs the task controller until `shutdown` completes.
pub async fn run(ctx: Context, shutdown: impl Future<Output = ()> + Send + 'static) {
    let controller: Controller<ObjectKey> = Controller::new("task", QueueConfig::default());
    let handle = controller.handle();
    let pipeline = pipeline::Pipeline::default();
    let echoes = pipeline.clone();
    let sources = vec![
        tokio::spawn(watch_store(
            ctx.clone(),
            handle.clone(),
            move |ctx: &Context, ev: &store::WatchEvent| task_events(ctx, &echoes, ev),
            all_tasks,
        )),
        tokio::spawn(watch_runtime(ctx.clone(), handle.clone(), pipeline.clone())),
        tokio::spawn(resync(ctx.clone(), handle.clone())),
    ];
    // The packet filters of this instance's task namespaces (security groups) are the same
    // agent's work: they run beside the task controller, wherever it runs.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut sg_stop = stop_rx.clone();
    let filters = tokio::spawn(crate::security_group::run(ctx.clone(), async move {
        let _ = sg_stop.wait_for(|s| *s).await;
    }));
    let rctx = ctx.clone();
    // Shutdown abandons reconciles in flight (a stop may wait out a 30 s grace period): the
    // containers keep their state in the engine, and the next start adopts and finishes them.
    let shutdown = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let result = controller
        .run(
            move |key: ObjectKey| {
                let ctx = rctx.clone();
                let mut stop = stop_rx.clone();
                let pipeline = pipeline.clone();
                async move {
                    tokio::select! {
                        r = reconciler::reconcile_task_in(&ctx, &key, &pipeline) => r,
                        _ = stop.wait_for(|s| *s) => Ok(::reconcile::Action::await_change()),
                    }
                }
            },
            crate::invalid::error_policy::<reconciler::TaskError>(ctx.clone(), "task"),
            CONCURRENCY,
            shutdown,
        )
        .await;
    for s in sources {
        s.abort();
    }
    let _ = filters.await;
    if let Err(e) = result {
        warn!(error = %e, "task controller stopped");
    }
}

fn task_key(cluster: &str, task: &str) -> ObjectKey {
    ObjectKey::new(Kind::Task, Some(cluster), task)
}

/// Whether `task` is placed on this instance: its controller looks at no other (with many
/// agents, every task event would otherwise wake every agent).
fn placed_here(ctx: &Context, task: &Object) -> bool {
    let status: TaskStatus = task.status_as().unwrap_or_default();
    task.spec_as::<TaskSpec>()
        .is_ok_and(|s| s.bound_instance(&status) == Some(ctx.instance.as_str()))
}

fn all_tasks(ctx: &Context) -> Vec<ObjectKey> {
    match ctx
        .store
        .blocking()
        .list(&store::ListQuery::new(Kind::Task))
    {
        Ok(list) => list
            .items
            .iter()
            .filter(|t| placed_here(ctx, t))
            .map(Object::key)
            .collect(),
        Err(e) => {
            warn!(error = %e, "cannot list tasks");
            Vec::new()
        }
    }
}

/// A task of this instance changed, unless the change is the echo of this controller's own
/// status write.
fn task_events(
    ctx: &Context,
    pipeline: &pipeline::Pipeline,
    ev: &store::WatchEvent,
) -> Vec<ObjectKey> {
    let deleted = ev.event_type == store::WatchEventType::Deleted;
    if ev.object.kind == Kind::Task
        && placed_here(ctx, &ev.object)
        && !pipeline.is_own_write(&ev.object, deleted)
    {
        vec![ev.object.key()]
    } else {
        Vec::new()
    }
}

/// Container events (start, die, health, destroy...) reconcile their task at once; those
/// that change nothing of a task, or echo this controller's own create and start, do not.
async fn watch_runtime(ctx: Context, queue: QueueHandle<ObjectKey>, pipeline: pipeline::Pipeline) {
    let filter = ctx.owned(&[]);
    loop {
        let mut events = ctx.runtime.events(&filter);
        while let Some(ev) = events.next().await {
            match ev {
                Ok(ev) if !pipeline.wakes(&ev) => {}
                Ok(ev) => {
                    if let (Some(c), Some(t)) =
                        (ev.labels.get(labels::CLUSTER), ev.labels.get(labels::TASK))
                    {
                        queue.add(task_key(c, t));
                    }
                }
                Err(e) => {
                    warn!(error = %e, "runtime events interrupted");
                    break;
                }
            }
        }
        // The engine went away or restarted: look at everything once it is back.
        tokio::time::sleep(Duration::from_secs(1)).await;
        enqueue_all(&ctx, &queue).await;
    }
}

/// The safety net: every task, and every task that has containers, now and then.
async fn resync(ctx: Context, queue: QueueHandle<ObjectKey>) {
    let mut tick = tokio::time::interval(RESYNC);
    loop {
        tick.tick().await;
        enqueue_all(&ctx, &queue).await;
    }
}

async fn enqueue_all(ctx: &Context, queue: &QueueHandle<ObjectKey>) {
    match ctx.store.list(&store::ListQuery::new(Kind::Task)).await {
        Ok(list) => list
            .items
            .iter()
            .filter(|t| placed_here(ctx, t))
            .for_each(|t| queue.add(t.key())),
        Err(e) => warn!(error = %e, "cannot list tasks"),
    }
    // Containers whose task object is gone are orphans: their task key cleans them up.
    match ctx.runtime.list(&ctx.owned(&[]), true).await {
        Ok(found) => {
            let mut n = 0;
            for s in found {
                if let (Some(c), Some(t)) =
                    (s.labels.get(labels::CLUSTER), s.labels.get(labels::TASK))
                {
                    queue.add(task_key(c, t));
                    n += 1;
                }
            }
            if n > 0 {
                info!(containers = n, "resync: looking at managed containers");
            }
        }
        Err(e) => warn!(error = %e, "cannot list containers"),
    }
}
