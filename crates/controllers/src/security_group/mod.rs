//! Security groups, enforced by the kernel: each awsvpc task's network namespace (held by its
//! pause container) gets a packet filter planned from the cluster's SecurityGroups and the
//! tasks on its network (`plan`), loaded through the runtime (`reconciler`).
//!
//! Like the task controller, this is an agent's work: it looks only at the tasks on its own
//! container instance (their addresses are on its own cluster networks), and the task
//! controller starts it beside itself, in the server's embedded agent and in `ecsctl agent`.
//! A task's first filter is loaded by the task controller before its app containers exist
//! ([`enforce_at_start`]: fail closed); after that, a change of a SecurityGroup, or of the
//! tasks on the network, reloads the filters whose plan changed.

pub mod plan;
pub mod reconciler;

pub use reconciler::{enforce_at_start, reconcile_cluster};

use crate::Context;
use crate::sources::watch_store;
use ::reconcile::{Controller, QueueConfig};
use api::task::{TaskSpec, TaskStatus};
use api::{Kind, ObjectKey};
use runtime::{ContainerId, PacketFilter};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tracing::warn;

/// How often every cluster is looked at even without a change (a filter that failed to
/// load, a namespace recreated behind our back).
pub const RESYNC: Duration = Duration::from_secs(30);

/// The filters loaded so far, by task (cluster, task id): the namespace holder they went
/// into and the filter. In memory only: a restarted agent loads every filter again.
#[derive(Debug, Default)]
pub struct Loaded {
    by_task: Mutex<HashMap<(String, String), (ContainerId, PacketFilter)>>,
}

impl Loaded {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(String, String), (ContainerId, PacketFilter)>> {
        self.by_task.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether exactly this filter is loaded in that namespace.
    pub fn is_loaded(
        &self,
        cluster: &str,
        task: &str,
        netns: &ContainerId,
        f: &PacketFilter,
    ) -> bool {
        self.lock()
            .get(&(cluster.to_string(), task.to_string()))
            .is_some_and(|(n, l)| n == netns && l == f)
    }

    pub(crate) fn record(&self, cluster: &str, task: &str, netns: &ContainerId, f: PacketFilter) {
        self.lock()
            .insert((cluster.to_string(), task.to_string()), (netns.clone(), f));
    }

    /// Forgets the tasks of `cluster` not in `keep` (their namespaces are gone).
    pub(crate) fn retain(&self, cluster: &str, keep: &dyn Fn(&str) -> bool) {
        self.lock().retain(|(c, t), _| c != cluster || keep(t));
    }

    /// The filter loaded for a task, if any.
    pub fn get(&self, cluster: &str, task: &str) -> Option<PacketFilter> {
        self.lock()
            .get(&(cluster.to_string(), task.to_string()))
            .map(|(_, f)| f.clone())
    }
}

/// Runs the security group controller until `shutdown` completes: one key per cluster,
/// woken by SecurityGroups and by the tasks on this instance that have an address.
pub async fn run(ctx: Context, shutdown: impl Future<Output = ()> + Send + 'static) {
    let controller: Controller<ObjectKey> =
        Controller::new("securitygroup", QueueConfig::default());
    let handle = controller.handle();
    let sources = vec![
        tokio::spawn(watch_store(ctx.clone(), handle.clone(), events, all)),
        tokio::spawn(crate::sources::resync(
            ctx.clone(),
            handle.clone(),
            RESYNC,
            all,
        )),
    ];
    let rctx = ctx.clone();
    let result = controller
        .run(
            move |key: ObjectKey| {
                let ctx = rctx.clone();
                async move { reconcile_cluster(&ctx, &key.name).await }
            },
            ::reconcile::default_error_policy,
            1,
            shutdown,
        )
        .await;
    for s in sources {
        s.abort();
    }
    if let Err(e) = result {
        warn!(error = %e, "security group controller stopped");
    }
}

fn cluster_key(cluster: &str) -> ObjectKey {
    ObjectKey::new(Kind::Cluster, None, cluster)
}

fn events(ctx: &Context, ev: &store::WatchEvent) -> Vec<ObjectKey> {
    let o = &ev.object;
    let wakes = match o.kind {
        Kind::SecurityGroup => true,
        // Only tasks with an address on this instance's networks are members (or have a
        // filter): other task writes change no plan here.
        Kind::Task => {
            let st: TaskStatus = o.status_as().unwrap_or_default();
            st.private_ip.is_some()
                && o.spec_as::<TaskSpec>()
                    .is_ok_and(|s| s.bound_instance(&st) == Some(ctx.instance.as_str()))
        }
        _ => false,
    };
    if wakes {
        vec![cluster_key(o.metadata.cluster_or_default())]
    } else {
        Vec::new()
    }
}

fn all(ctx: &Context) -> Vec<ObjectKey> {
    crate::sources::keys_of(ctx, Kind::Cluster)
        .into_iter()
        .map(|k| cluster_key(&k.name))
        .collect()
}
