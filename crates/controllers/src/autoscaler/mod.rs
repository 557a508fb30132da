//! The autoscaler controller: measures (through `Metrics`), decides (pure `plan::decide`)
//! and writes the service's desiredCount like any client, with compare-and-swap.

pub mod cron;
pub mod plan;
pub mod reconciler;

use crate::Context;
use crate::sources::{keys_of, resync, watch_store};
use api::{Kind, ObjectKey};
use reconcile::{Action, Controller, QueueConfig};
use std::future::Future;
use std::time::Duration;
use store::WatchEvent;
use tracing::warn;

/// Runs the autoscaler controller until `shutdown` completes.
pub async fn run(ctx: Context, shutdown: impl Future<Output = ()> + Send + 'static) {
    let controller: Controller<ObjectKey> = Controller::new("autoscaler", QueueConfig::default());
    let handle = controller.handle();
    let sources = [
        tokio::spawn(watch_store(
            ctx.clone(),
            handle.clone(),
            autoscaler_events,
            all,
        )),
        tokio::spawn(resync(
            ctx.clone(),
            handle.clone(),
            Duration::from_secs(30),
            all,
        )),
    ];
    let rctx = ctx.clone();
    let result = controller
        .run(
            move |key: ObjectKey| {
                let ctx = rctx.clone();
                async move { reconciler::reconcile_autoscaler(&ctx, &key).await }
            },
            |key: &ObjectKey, err: &reconciler::AutoscalerError, attempts: u32| {
                warn!(autoscaler = %key.name, attempts, error = %err, "reconcile failed; retrying");
                Action::backoff()
            },
            4,
            shutdown,
        )
        .await;
    for s in sources {
        s.abort();
    }
    if let Err(e) = result {
        warn!(error = %e, "autoscaler controller stopped");
    }
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
