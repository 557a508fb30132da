//! What feeds a controller's queue: the store's watch (with a full pass whenever the watch
//! (re)starts, so nothing that changed in between is missed) and a periodic resync.
//!
//! The feed functions ([`MapEvent`], [`ListAll`]) are synchronous and only read the store
//! (through [`store::AsyncStore::blocking`]), in place like every read: they never write.

use crate::Context;
use crate::invalid::ReconcileError;
use api::ObjectKey;
use reconcile::QueueHandle;
use std::time::Duration;
use store::WatchEvent;
use tracing::warn;

/// Keys a watch event should reconcile. Reads the store at most.
pub type MapEvent = fn(&Context, &WatchEvent) -> Vec<ObjectKey>;
/// Every key worth a look (for resyncs and after a watch restarts). Reads the store at most.
pub type ListAll = fn(&Context) -> Vec<ObjectKey>;

/// Follows the store, re-listing everything whenever the watch starts over. `map` and `all`
/// are usually a [`MapEvent`] and a [`ListAll`]; a controller with state of its own (which
/// keys an event reaches) passes closures.
pub async fn watch_store<M, A>(ctx: Context, queue: QueueHandle<ObjectKey>, map: M, all: A)
where
    M: Fn(&Context, &WatchEvent) -> Vec<ObjectKey> + Send,
    A: Fn(&Context) -> Vec<ObjectKey> + Send,
{
    loop {
        let from = ctx.store.revision();
        let mut watch = match ctx.store.watch(from).await {
            Ok(w) => w,
            Err(e) => {
                warn!(error = %e, "cannot watch the store; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        all(&ctx).into_iter().for_each(|k| queue.add(k));
        while let Some(ev) = watch.next().await {
            match ev {
                Ok(ev) => map(&ctx, &ev).into_iter().for_each(|k| queue.add(k)),
                Err(e) => {
                    warn!(error = %e, "store watch ended; re-listing");
                    break;
                }
            }
        }
    }
}

/// Every `period`, every key.
pub async fn resync<A>(ctx: Context, queue: QueueHandle<ObjectKey>, period: Duration, all: A)
where
    A: Fn(&Context) -> Vec<ObjectKey> + Send,
{
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        all(&ctx).into_iter().for_each(|k| queue.add(k));
    }
}

/// Keys of every object of a kind (for the synchronous feed functions).
pub fn keys_of(ctx: &Context, kind: api::Kind) -> Vec<ObjectKey> {
    match ctx.store.blocking().list(&store::ListQuery::new(kind)) {
        Ok(list) => list.items.iter().map(api::Object::key).collect(),
        Err(e) => {
            warn!(error = %e, %kind, "cannot list");
            Vec::new()
        }
    }
}

/// Keys of every object of a kind: [`keys_of`] for async code.
pub async fn list_keys(ctx: &Context, kind: api::Kind) -> Vec<ObjectKey> {
    match ctx.store.list(&store::ListQuery::new(kind)).await {
        Ok(list) => list.items.iter().map(api::Object::key).collect(),
        Err(e) => {
            warn!(error = %e, %kind, "cannot list");
            Vec::new()
        }
    }
}

/// How a store-fed controller is fed and run.
#[derive(Debug, Clone, Copy)]
pub struct StoreFed {
    pub name: &'static str,
    /// Keys a watch event should reconcile.
    pub map: MapEvent,
    /// Every key (after a watch restarts, and each resync).
    pub all: ListAll,
    pub resync_every: Duration,
    pub concurrency: usize,
}

/// Runs a controller whose keys come from the store: its watch and a periodic resync.
/// Failed reconciles retry with the per-key backoff, except for bad input
/// ([`ReconcileError::invalid`]): its reason is recorded in the object's status and the key
/// waits for a change.
pub async fn run_store_controller<F, Fut, E>(
    ctx: Context,
    feed: StoreFed,
    reconcile: F,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) where
    F: Fn(Context, ObjectKey) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<reconcile::Action, E>> + Send + 'static,
    E: ReconcileError,
{
    let name = feed.name;
    let controller: reconcile::Controller<ObjectKey> =
        reconcile::Controller::new(name, reconcile::QueueConfig::default());
    let handle = controller.handle();
    let sources = [
        tokio::spawn(watch_store(ctx.clone(), handle.clone(), feed.map, feed.all)),
        tokio::spawn(resync(
            ctx.clone(),
            handle.clone(),
            feed.resync_every,
            feed.all,
        )),
    ];
    let policy_ctx = ctx.clone();
    let result = controller
        .run(
            move |key: ObjectKey| reconcile(ctx.clone(), key),
            crate::invalid::error_policy(policy_ctx, name),
            feed.concurrency,
            shutdown,
        )
        .await;
    for s in sources {
        s.abort();
    }
    if let Err(e) = result {
        warn!(controller = name, error = %e, "controller stopped");
    }
}
