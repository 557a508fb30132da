//! The load balancer controller: keeps the built-in load balancer serving what the store says.
//! Its key is a LoadBalancer; a reconcile reads the load balancer, the Services of its cluster
//! that name it, their Tasks and TaskDefinitions and its certificates' Secrets, computes the
//! load balancer's desired state (pure `plan::lb_config`) and hands it to the [`Balancer`].
//!
//! A change of a Service, Task, TaskDefinition or Secret enqueues only the load balancers it
//! can matter to (see [`reach`]). The controller drives the balancer through the [`Balancer`]
//! trait (the server implements it with `lb::LbManager`), as the other controllers read it
//! through [`crate::Traffic`], so this crate does not depend on the proxy.

pub mod plan;
pub mod reach;
pub mod reconciler;

use crate::Context;
use crate::sources::{keys_of, resync, watch_store};
use api::balancer::LbConfig;
use api::{Kind, ObjectKey};
use futures::future::BoxFuture;
use reach::ReachIndex;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tracing::warn;

/// How often a load balancer with HTTPS listeners is recomputed even without a change: a
/// Secret read from a file or the server's environment changes without the store knowing.
pub const CERTIFICATE_REREAD: Duration = Duration::from_secs(10);
/// How often every load balancer is looked at even without a change (safety net).
pub const RESYNC: Duration = Duration::from_secs(30);
const CONCURRENCY: usize = 4;

/// The load balancers as the controller drives them: one load balancer's desired state in,
/// or its removal.
pub trait Balancer: Send + Sync + fmt::Debug {
    /// Serve `config` (added, or replacing this load balancer's previous state). Applies what
    /// it can; what it cannot is in the error and in the balancer's listener statuses.
    fn upsert(&self, config: LbConfig) -> BoxFuture<'_, Result<(), BalancerError>>;
    /// Stop serving the load balancer `name` of `cluster` (nothing if it is not served).
    fn remove<'a>(&'a self, cluster: &'a str, name: &'a str) -> BoxFuture<'a, ()>;
}

/// Why a load balancer's desired state was not applied in full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BalancerError {
    /// What went wrong, naming the load balancer and the listener.
    pub message: String,
    /// Whether applying the same state again may succeed without a change in the store (a
    /// port another process holds may be freed). Otherwise the error waits for a change.
    pub retry: bool,
}

/// What the reconciles of the controller share.
#[derive(Debug)]
pub struct LbController {
    /// Where desired states go.
    pub balancer: Arc<dyn Balancer>,
    /// What each load balancer depends on, to map store events to keys.
    pub reach: ReachIndex,
    /// The desired state last handed to the balancer (and not to be retried), by key: the
    /// same state is not handed again.
    applied: Mutex<BTreeMap<ObjectKey, LbConfig>>,
}

impl LbController {
    /// A controller state driving `balancer`, having applied nothing yet.
    pub fn new(balancer: Arc<dyn Balancer>) -> Self {
        LbController {
            balancer,
            reach: ReachIndex::default(),
            applied: Mutex::default(),
        }
    }

    fn applied(&self) -> MutexGuard<'_, BTreeMap<ObjectKey, LbConfig>> {
        // A poisoned cache is still usable: at worst a state is applied once more.
        self.applied.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every load balancer worth a look: those in the store, and those the controller knows
    /// of (one deleted while the watch was down is removed from the balancer then).
    fn all(&self, ctx: &Context) -> Vec<ObjectKey> {
        let mut keys = keys_of(ctx, Kind::LoadBalancer);
        keys.extend(self.reach.keys());
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Runs the load balancer controller until `shutdown` completes. The balancer itself is left
/// as it is (the caller shuts it down).
pub async fn run(
    ctx: Context,
    balancer: Arc<dyn Balancer>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let shared = Arc::new(LbController::new(balancer));
    let controller: reconcile::Controller<ObjectKey> =
        reconcile::Controller::new("loadbalancer", reconcile::QueueConfig::default());
    let handle = controller.handle();
    let (for_events, for_all) = (Arc::clone(&shared), Arc::clone(&shared));
    let map = move |_: &Context, ev: &store::WatchEvent| for_events.reach.affected(ev);
    let all = move |ctx: &Context| for_all.all(ctx);
    let sources = [
        tokio::spawn(watch_store(ctx.clone(), handle.clone(), map, all.clone())),
        tokio::spawn(resync(ctx.clone(), handle, RESYNC, all)),
    ];
    let policy_ctx = ctx.clone();
    let result = controller
        .run(
            move |key: ObjectKey| {
                let (ctx, shared) = (ctx.clone(), Arc::clone(&shared));
                async move { reconciler::reconcile_load_balancer(&ctx, &shared, &key).await }
            },
            crate::invalid::error_policy::<reconciler::LoadBalancerError>(
                policy_ctx,
                "loadbalancer",
            ),
            CONCURRENCY,
            shutdown,
        )
        .await;
    for s in sources {
        s.abort();
    }
    if let Err(e) = result {
        warn!(controller = "loadbalancer", error = %e, "controller stopped");
    }
}
