//! Loads the planned filters: per cluster, every task on this instance whose namespace holder
//! runs gets the filter `plan::filter_for` gives it, and only when that differs from the one
//! it holds. Level-triggered: it is never told what changed.

use super::plan::{Inputs, Member, filter_for, must_enforce};
use crate::Context;
use crate::task::containers::cluster_network;
use api::securitygroup::{SecurityGroupSpec, task_groups};
use api::task::{TaskSpec, TaskStatus};
use api::{Kind, Object};
use reconcile::Action;
use runtime::{ContainerId, RuntimeError, labels};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::{debug, info, warn};

/// Why a pass failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum SecurityGroupError {
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    #[error("container runtime: {0}")]
    Runtime(#[from] RuntimeError),
    #[error("{failed} packet filter(s) of cluster {cluster} could not be loaded: {first}")]
    Load {
        cluster: String,
        failed: usize,
        first: String,
    },
}

/// Said once per process: this instance cannot load filters.
static SAID_UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// What the store says about a cluster's groups and the tasks on this instance.
struct Scene {
    groups: BTreeMap<String, SecurityGroupSpec>,
    members: Vec<Member>,
    /// Every task on this instance that is not over, with its groups.
    local: BTreeMap<String, Vec<String>>,
}

async fn scene(ctx: &Context, cluster: &str) -> Result<Scene, store::StoreError> {
    let sgs = ctx
        .store
        .list(&store::ListQuery::new(Kind::SecurityGroup).in_cluster(cluster))
        .await?;
    let mut groups = BTreeMap::new();
    for o in &sgs.items {
        match o.spec_as::<SecurityGroupSpec>() {
            Ok(s) => {
                groups.insert(o.metadata.name.clone(), s);
            }
            // Refused at apply; one stored before a rule changed allows nothing.
            Err(e) => warn!(group = %o.metadata.name, error = %e, "security group does not decode"),
        }
    }
    let tasks = ctx
        .store
        .list(&store::ListQuery::new(Kind::Task).in_cluster(cluster))
        .await?;
    let mut members = Vec::new();
    let mut local = BTreeMap::new();
    for t in &tasks.items {
        let Some((groups, status)) = local_task(ctx, t) else {
            continue;
        };
        if let Some(address) = status
            .private_ip
            .as_deref()
            .and_then(|a| a.parse::<Ipv4Addr>().ok())
        {
            members.push(Member {
                task: t.metadata.name.clone(),
                address,
                groups: groups.clone(),
            });
        }
        local.insert(t.metadata.name.clone(), groups);
    }
    Ok(Scene {
        groups,
        members,
        local,
    })
}

/// A task of this instance that is not over: its groups and status.
fn local_task(ctx: &Context, t: &Object) -> Option<(Vec<String>, TaskStatus)> {
    let status: TaskStatus = t.status_as().ok()?;
    let spec: TaskSpec = t.spec_as().ok()?;
    if spec.bound_instance(&status) != Some(ctx.instance.as_str())
        || status.last_status.is_terminal()
    {
        return None;
    }
    Some((task_groups(spec.network_configuration.as_ref()), status))
}

/// The host's addresses on the cluster's network here (none when it does not exist yet), and
/// the agent's task endpoint (169.254.170.2, on the host's `lo`) when it serves one: as in
/// ECS, a task's security groups never cut it off from its metadata and role credentials.
async fn trusted(ctx: &Context, cluster: &str) -> Result<Vec<Ipv4Addr>, RuntimeError> {
    let mut out: Vec<Ipv4Addr> = match ctx
        .runtime
        .network_gateway(&cluster_network(&ctx.instance, cluster))
        .await
    {
        Ok(g) => g.into_iter().collect(),
        Err(RuntimeError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    if ctx.task_endpoint.is_some()
        && let Ok(endpoint) = crate::task::endpoint::ADDRESS.parse()
    {
        out.push(endpoint);
    }
    Ok(out)
}

/// The running namespace holders of the cluster's tasks on this instance, by task id.
async fn namespaces(
    ctx: &Context,
    cluster: &str,
) -> Result<BTreeMap<String, ContainerId>, RuntimeError> {
    let filter = ctx.owned(&[(labels::CLUSTER, cluster), (labels::NETNS, "true")]);
    Ok(ctx
        .runtime
        .list(&filter, false)
        .await?
        .into_iter()
        .filter_map(|s| Some((s.labels.get(labels::TASK)?.clone(), s.id)))
        .collect())
}

/// One pass over a cluster: loads every filter whose plan changed.
pub async fn reconcile_cluster(ctx: &Context, cluster: &str) -> Result<Action, SecurityGroupError> {
    let holders = namespaces(ctx, cluster).await?;
    ctx.packet_filters
        .retain(cluster, &|task| holders.contains_key(task));
    if holders.is_empty() {
        return Ok(Action::await_change());
    }
    let scene = scene(ctx, cluster).await?;
    let trusted = trusted(ctx, cluster).await?;
    let inp = Inputs {
        groups: &scene.groups,
        members: &scene.members,
        trusted: &trusted,
    };
    let mut failed = Vec::new();
    for (task, netns) in &holders {
        let Some(groups) = scene.local.get(task) else {
            continue; // stopped, or not this instance's: its holder goes with it
        };
        let filter = filter_for(groups, &inp);
        if ctx.packet_filters.is_loaded(cluster, task, netns, &filter) {
            continue;
        }
        match ctx.runtime.load_packet_filter(netns, &filter).await {
            Ok(()) => {
                debug!(cluster, task = %task, ingress = filter.ingress.len(), egress = filter.egress.len(), "packet filter loaded");
                ctx.packet_filters.record(cluster, task, netns, filter);
            }
            // Gone since the list: the task's own reconcile notices.
            Err(RuntimeError::NotFound(_) | RuntimeError::Conflict(_)) => {}
            Err(RuntimeError::Unsupported(why)) if !must_enforce(groups, &inp) => {
                say_unsupported(&why);
            }
            Err(e) => {
                warn!(cluster, task = %task, error = %e, "cannot load the task's packet filter; it keeps the one it had");
                failed.push(e.to_string());
            }
        }
    }
    match failed.first() {
        None => Ok(Action::await_change()),
        Some(first) => Err(SecurityGroupError::Load {
            cluster: cluster.to_string(),
            failed: failed.len(),
            first: first.clone(),
        }),
    }
}

fn say_unsupported(why: &str) {
    if !SAID_UNSUPPORTED.swap(true, Ordering::Relaxed) {
        warn!(
            reason = why,
            "security groups are NOT enforced on this instance: tasks in the default group run unfiltered, and tasks in other groups fail to start"
        );
    }
}

/// Loads a starting task's filter into its namespace before any of its app containers
/// exists. Err (the reason the task cannot start) when it is in a group that must be
/// enforced and the filter cannot be loaded: it never runs open.
pub async fn enforce_at_start(
    ctx: &Context,
    cluster: &str,
    task: &str,
    spec: &TaskSpec,
    netns: &ContainerId,
) -> Result<(), String> {
    let groups = task_groups(spec.network_configuration.as_ref());
    let unreadable = |e: String| {
        format!(
            "ResourceInitializationError: the packet filter of security groups {} cannot be planned: {e}",
            groups.join(", ")
        )
    };
    let scene = scene(ctx, cluster)
        .await
        .map_err(|e| unreadable(e.to_string()))?;
    let trusted = trusted(ctx, cluster)
        .await
        .map_err(|e| unreadable(e.to_string()))?;
    let inp = Inputs {
        groups: &scene.groups,
        members: &scene.members,
        trusted: &trusted,
    };
    let filter = filter_for(&groups, &inp);
    if ctx.packet_filters.is_loaded(cluster, task, netns, &filter) {
        return Ok(());
    }
    match ctx.runtime.load_packet_filter(netns, &filter).await {
        Ok(()) => {
            info!(cluster, task, groups = %groups.join(","), "packet filter loaded");
            ctx.packet_filters.record(cluster, task, netns, filter);
            Ok(())
        }
        Err(RuntimeError::Unsupported(why)) if !must_enforce(&groups, &inp) => {
            say_unsupported(&why);
            Ok(())
        }
        Err(e) => Err(format!(
            "ResourceInitializationError: security groups {} cannot be enforced, so the task does not start: {e}",
            groups.join(", ")
        )),
    }
}
