//! What only the leading server runs (see `leadership`): the directory syncs (`--watch`),
//! the collection of unused TaskDefinition revisions, and the controllers that decide
//! (services, the scheduler, autoscalers, host loss, task retention, load balancers).
//! Every server runs the rest itself: the API, its embedded agent and the metrics sampler.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::sync::watch;

/// The leader's work, started anew for each term with the store of that term.
pub(crate) struct LeaderWork {
    /// Directories kept in sync (GitOps).
    pub watch: Vec<PathBuf>,
    pub sync: gitops::SyncOptions,
    pub admission: Arc<admission::Admission>,
    pub syncs: gitops::StatusBoard,
    /// Told when an apply registers revisions (revision collection follows).
    pub registered: Arc<tokio::sync::Notify>,
    pub keep_revisions: usize,
    /// The controllers, when the server drives a runtime.
    pub controllers: Option<Controllers>,
    /// The etcd store, whose history the leader compacts (see [`compact_history`]).
    pub etcd: Option<store::EtcdStore>,
}

/// How often the leader compacts etcd's history, up to where it was one period before (as
/// Kubernetes' API server does every 5 minutes).
const COMPACTION_PERIOD: Duration = Duration::from_secs(300);

/// Compacts etcd's history every [`COMPACTION_PERIOD`] until `stop`: etcd keeps every
/// version of every key until told, and would grow until its quota stops every write. The
/// store needs none of it (its watches replay its own event log).
async fn compact_history(etcd: store::EtcdStore, mut stop: watch::Receiver<bool>) {
    let mut up_to = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(COMPACTION_PERIOD) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let store = etcd.clone();
        match tokio::task::spawn_blocking(move || store.compact(up_to)).await {
            Ok(Ok(now)) => up_to = Some(now),
            Ok(Err(e)) => tracing::warn!(error = %e, "compacting etcd's history failed"),
            Err(e) => tracing::warn!(error = %e, "compacting etcd's history failed"),
        }
    }
}

/// What the controllers need beyond the store.
pub(crate) struct Controllers {
    /// The server's context (its store is replaced by the term's).
    pub ctx: controllers::Context,
    pub balancer: lb::LbManager,
    pub instance_timeout: Duration,
}

impl LeaderWork {
    /// Runs everything until `stop` turns `true`, then waits for it all to stop.
    pub(crate) async fn run(self: Arc<Self>, store: Arc<dyn Store>, stop: watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        let stopped = || crate::stopped(stop.clone());
        tasks.spawn(crate::collect_revisions(
            store::AsyncStore::new(store.clone()),
            self.keep_revisions,
            self.registered.clone(),
            stopped(),
        ));
        // Watched directories are synced before any controller acts on the store.
        for dir in &self.watch {
            let syncer = gitops::Syncer::new(
                dir.clone(),
                store.clone(),
                self.admission.clone(),
                self.syncs.clone(),
                self.sync,
            );
            if let Err(e) = syncer.sync_now().await {
                tracing::error!(dir = %dir.display(), error = %e, "initial sync failed; watching for a fix");
            }
            let stop = stopped();
            tasks.spawn(async move {
                let dir = syncer.dir().display().to_string();
                if let Err(e) = syncer.run(stop).await {
                    tracing::error!(dir, error = %e, "directory sync stopped");
                }
            });
        }
        if let Some(etcd) = &self.etcd {
            tasks.spawn(compact_history(etcd.clone(), stop.clone()));
        }
        if let Some(c) = &self.controllers {
            let mut ctx = c.ctx.clone();
            ctx.store = store::AsyncStore::new(store.clone());
            tasks.spawn(crate::balancing::run(
                ctx.clone(),
                c.balancer.clone(),
                stop.clone(),
            ));
            tasks.spawn(controllers::service::run(ctx.clone(), stopped()));
            tasks.spawn(controllers::autoscaler::run(ctx.clone(), stopped()));
            tasks.spawn(controllers::task::retention::run(ctx.clone(), stopped()));
            tasks.spawn(controllers::scheduler::run(ctx.clone(), stopped()));
            // Agents that stop heartbeating lose their instance and its tasks.
            tasks.spawn(controllers::instance::monitor::run(
                ctx,
                c.instance_timeout,
                stopped(),
            ));
        }
        while tasks.join_next().await.is_some() {}
    }
}
