//! The service controller: keeps desiredCount healthy tasks of the service's task definition
//! running and moves them to a new revision with ECS's rolling-update rules. It works
//! through Task objects, which the task controller turns into containers.

pub mod deployments;
pub mod ledger;
pub mod placement;
pub mod plan;
pub mod reconciler;

use crate::Context;
use crate::sources::{keys_of, resync, watch_store};
use api::{Kind, ObjectKey};
use reconcile::{Action, Controller, QueueConfig};
use runtime::labels;
use std::future::Future;
use std::time::Duration;
use store::WatchEvent;
use tracing::warn;

/// ECS's longest delay between task starts of a service whose tasks keep failing.
pub const ECS_BACKOFF_CAP: Duration = Duration::from_secs(27 * 60);
/// How often every service is looked at even without a change.
pub const RESYNC: Duration = Duration::from_secs(30);
const CONCURRENCY: usize = 8;

/// Runs the service controller until `shutdown` completes.
pub async fn run(ctx: Context, shutdown: impl Future<Output = ()> + Send + 'static) {
    let controller: Controller<ObjectKey> = Controller::new("service", QueueConfig::default());
    let handle = controller.handle();
    let sources = [
        tokio::spawn(watch_store(
            ctx.clone(),
            handle.clone(),
            affected,
            all_services,
        )),
        tokio::spawn(resync(ctx.clone(), handle.clone(), RESYNC, all_services)),
    ];
    let rctx = ctx.clone();
    let result = controller
        .run(
            move |key: ObjectKey| {
                let ctx = rctx.clone();
                async move { reconciler::reconcile_service(&ctx, &key).await }
            },
            |key: &ObjectKey, err: &reconciler::ServiceError, attempts: u32| {
                warn!(service = %key.name, attempts, error = %err, "reconcile failed; retrying");
                Action::backoff()
            },
            CONCURRENCY,
            shutdown,
        )
        .await;
    for s in sources {
        s.abort();
    }
    if let Err(e) = result {
        warn!(error = %e, "service controller stopped");
    }
}

fn all_services(ctx: &Context) -> Vec<ObjectKey> {
    // Every full pass also recounts what the instance's tasks reserve.
    ctx.ledger().rebuild(ctx.store.as_ref());
    keys_of(ctx, Kind::Service)
}

/// A service changed, one of its tasks changed, or a task definition (a new latest revision).
fn affected(ctx: &Context, ev: &WatchEvent) -> Vec<ObjectKey> {
    let o = &ev.object;
    match o.kind {
        Kind::Service => vec![o.key()],
        Kind::Task => {
            let mut ledger = ctx.ledger();
            match ev.event_type {
                store::WatchEventType::Deleted => ledger.forget(&o.key()),
                _ => ledger.observe(ctx.store.as_ref(), o),
            }
            drop(ledger);
            match o.metadata.labels.get(labels::SERVICE) {
                Some(svc) => vec![ObjectKey::new(
                    Kind::Service,
                    o.metadata.cluster.as_deref(),
                    svc,
                )],
                None => Vec::new(),
            }
        }
        Kind::TaskDefinition => keys_of(ctx, Kind::Service),
        _ => Vec::new(),
    }
}
