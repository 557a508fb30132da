//! The service controller: keeps desiredCount healthy tasks of the service's task definition
//! running and moves them to a new revision with ECS's rolling-update rules. It works
//! through Task objects, which the task controller turns into containers.

pub mod deployments;
pub mod plan;
pub mod reconciler;

use crate::Context;
use crate::sources::{StoreFed, keys_of, run_store_controller};
use api::{Kind, ObjectKey};
use runtime::labels;
use std::future::Future;
use std::time::Duration;
use store::WatchEvent;

/// ECS's longest delay between task starts of a service whose tasks keep failing.
pub const ECS_BACKOFF_CAP: Duration = Duration::from_secs(27 * 60);
/// How often every service is looked at even without a change.
pub const RESYNC: Duration = Duration::from_secs(30);
const CONCURRENCY: usize = 8;

/// Runs the service controller until `shutdown` completes.
pub async fn run(ctx: Context, shutdown: impl Future<Output = ()> + Send + 'static) {
    let feed = StoreFed {
        name: "service",
        map: affected,
        all: all_services,
        resync_every: RESYNC,
        concurrency: CONCURRENCY,
    };
    run_store_controller(ctx, feed, reconcile_one, shutdown).await;
}

async fn reconcile_one(
    ctx: Context,
    key: ObjectKey,
) -> Result<reconcile::Action, reconciler::ServiceError> {
    reconciler::reconcile_service(&ctx, &key).await
}

fn all_services(ctx: &Context) -> Vec<ObjectKey> {
    // Every full pass also recounts the instances and what their tasks reserve.
    ctx.ledger().rebuild(ctx.store.blocking().as_ref());
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
                _ => ledger.observe(ctx.store.blocking().as_ref(), o),
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
        // Where tasks can go changed (an instance joined, drained, came back or was lost):
        // services short of tasks try again.
        Kind::ContainerInstance => {
            let changed = match ev.event_type {
                store::WatchEventType::Deleted => {
                    ctx.ledger().forget_instance(&o.metadata.name);
                    true
                }
                _ => ctx.ledger().observe_instance(o),
            };
            if changed {
                keys_of(ctx, Kind::Service)
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}
