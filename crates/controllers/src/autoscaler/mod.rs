//! The autoscaler controller: measures (through `Metrics`), decides (pure `plan::decide`)
//! and writes the service's desiredCount like any client, with compare-and-swap.

pub mod cron;
pub mod plan;
pub mod reconciler;

use crate::Context;
use crate::sources::{StoreFed, keys_of, run_store_controller};
use api::{Kind, ObjectKey};
use std::future::Future;
use std::time::Duration;
use store::WatchEvent;

/// Runs the autoscaler controller until `shutdown` completes.
pub async fn run(ctx: Context, shutdown: impl Future<Output = ()> + Send + 'static) {
    let feed = StoreFed {
        name: "autoscaler",
        map: autoscaler_events,
        all,
        resync_every: Duration::from_secs(30),
        concurrency: 4,
    };
    run_store_controller(ctx, feed, reconcile_one, shutdown).await;
}

async fn reconcile_one(
    ctx: Context,
    key: ObjectKey,
) -> Result<reconcile::Action, reconciler::AutoscalerError> {
    reconciler::reconcile_autoscaler(&ctx, &key).await
}

fn all(ctx: &Context) -> Vec<ObjectKey> {
    keys_of(ctx, Kind::Autoscaler)
}

fn autoscaler_events(_: &Context, ev: &WatchEvent) -> Vec<ObjectKey> {
    if ev.object.kind == Kind::Autoscaler {
        vec![ev.object.key()]
    } else {
        Vec::new()
    }
}
