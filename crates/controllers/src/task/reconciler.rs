//! The task controller's reconcile: observe the task's containers, plan, carry the plan out,
//! and record the status. Level-triggered: it is never told why it runs.

use super::containers::{PAUSE_IMAGE, TaskIdentity, cluster_network, container_spec, netns_spec};
use super::pause::pause_rootfs;
use super::pipeline::{Pipeline, StartSlot};
use super::plan::{Inputs, Observed, Plan, RunState, Step, plan};
use crate::Context;
use crate::timefmt::{parse_rfc3339, rfc3339};
use api::task::TaskSpec;
use api::task::{DesiredStatus, HealthState, NetworkBinding, StopCode, TaskPhase, TaskStatus};
use api::taskdef::{NetworkMode, TaskDefinitionSpec};
use api::{Kind, Object, ObjectKey};
use reconcile::Action;
use runtime::{ContainerId, ContainerInfo, ContainerState, HealthStatus, RuntimeError, labels};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::{debug, info, warn};

/// Plan/execute rounds per reconcile before the status is written and the key requeued.
const MAX_ROUNDS: usize = 8;
/// How soon a task whose status write lost to a newer write is read again (the newer write
/// wakes it too; this is the floor).
const STALE_RETRY: Duration = Duration::from_millis(100);
/// Grace period when containers of a deleted task are cleaned up.
const ORPHAN_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a reconcile failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    #[error("container runtime: {0}")]
    Runtime(#[from] RuntimeError),
    #[error("task {task}: {message}")]
    Invalid { task: String, message: String },
}

/// What the runtime shows of one task.
#[derive(Debug, Default)]
struct Observation {
    containers: BTreeMap<String, Observed>,
    netns: Option<(ContainerId, Observed, Option<String>)>,
    ids: BTreeMap<String, ContainerId>,
}

impl Observation {
    /// Every container seen, and `created` after them: what the next round inspects.
    fn ids_with(&self, created: Vec<ContainerId>) -> Vec<ContainerId> {
        let mut ids: Vec<ContainerId> = self
            .netns
            .iter()
            .map(|(nid, _, _)| nid.clone())
            .chain(self.ids.values().cloned())
            .collect();
        for c in created {
            if !ids.contains(&c) {
                ids.push(c);
            }
        }
        ids
    }
}

/// Reconciles one Task object (with start slots of its own: see [`reconcile_task_in`]).
pub async fn reconcile_task(ctx: &Context, key: &ObjectKey) -> Result<Action, TaskError> {
    reconcile_task_in(ctx, key, &Pipeline::default()).await
}

/// Reconciles one Task object, taking a start slot of `pipeline` while it creates and
/// starts containers, and noting its status writes and starts there (their echoes wake
/// nothing).
pub async fn reconcile_task_in(
    ctx: &Context,
    key: &ObjectKey,
    pipeline: &Pipeline,
) -> Result<Action, TaskError> {
    let cluster = key.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
    let Some(obj) = ctx.store.get(key).await? else {
        remove_orphans(ctx, cluster, &key.name).await?;
        return Ok(Action::await_change());
    };
    let invalid = |m: String| TaskError::Invalid {
        task: key.name.clone(),
        message: m,
    };
    let spec: TaskSpec = obj.spec_as().map_err(|e| invalid(e.to_string()))?;
    let stored: TaskStatus = obj.status_as().map_err(|e| invalid(e.to_string()))?;
    if spec.bound_instance(&stored) != Some(ctx.instance.as_str()) {
        // Placed on another instance (its agent runs it), or not placed yet (the scheduler's
        // write wakes this key again).
        return Ok(Action::await_change());
    }
    let td_ref = if stored.task_definition.is_empty() {
        spec.task_definition.clone()
    } else {
        stored.task_definition.clone()
    };
    let td_obj = ctx
        .store
        .get(&ObjectKey::new(Kind::TaskDefinition, None, &td_ref))
        .await?;
    let Some(td_obj) = td_obj else {
        return fail_without_definition(ctx, &obj, stored, &td_ref).await;
    };
    let td: TaskDefinitionSpec = td_obj.spec_as().map_err(|e| invalid(e.to_string()))?;
    let taskdef = td_obj.display_name();
    let cluster = obj.metadata.cluster_or_default().to_string();
    let service = obj.metadata.labels.get(labels::SERVICE).cloned();
    let aliases = service_connect_aliases(ctx, &cluster, service.as_deref(), &td, &taskdef).await?;
    let id = TaskIdentity {
        task_id: &key.name,
        cluster: &cluster,
        task_definition: &taskdef,
        service: service.as_deref(),
        instance: &ctx.instance,
        aliases: aliases.as_ref().map_or(&[], Vec::as_slice),
        publish_on: &ctx.publish_address,
        endpoint: ctx.task_endpoint.as_ref(),
    };
    let stop_request = (spec.desired_status == Some(DesiredStatus::Stopped)).then(|| {
        (
            spec.stop_code.unwrap_or(StopCode::UserInitiated),
            spec.stopped_reason
                .clone()
                .unwrap_or_else(|| "Task stopped by user".to_string()),
        )
    });
    let age = obj
        .metadata
        .creation_timestamp
        .as_deref()
        .and_then(parse_rfc3339)
        .and_then(|t| Duration::try_from((ctx.now)() - t).ok())
        .unwrap_or(Duration::ZERO);

    let mut status = stored.clone();
    // This instance runs the task (its id is the instance label's).
    status.container_instance = Some(ctx.instance.clone());
    if stored.last_status == TaskPhase::Provisioning
        && stored.desired_status == DesiredStatus::Running
    {
        // The workload policy and the service's names are checked once, before anything of
        // the task exists.
        let refused =
            admission::workload::check(&td, &cluster, &cluster_policy(ctx, &cluster).await?)
                .and(aliases.as_ref().map(|_| ()).map_err(Clone::clone));
        // Host ports below 1024 too: a family's newer revision reaches a service's tasks
        // without an apply of the service, so the check at apply alone would not hold.
        let refused = match refused {
            Ok(()) => admission::listeners::check_host_ports(
                &td,
                &cluster,
                &cluster_policy(ctx, &cluster).await?,
            )
            .into_iter()
            .next()
            .map_or(Ok(()), Err),
            refused => refused,
        };
        if let Err(reason) = refused {
            warn!(task = %key.name, %reason, "task refused");
            status.desired_status = DesiredStatus::Stopped;
            status.stop_code = Some(StopCode::TaskFailedToStart);
            status.stopped_reason = Some(reason);
        }
        if status.desired_status == DesiredStatus::Running
            && let Err(reason) = check_role(ctx, &cluster, &td).await?
        {
            warn!(task = %key.name, %reason, "task refused");
            status.desired_status = DesiredStatus::Stopped;
            status.stop_code = Some(StopCode::TaskFailedToStart);
            status.stopped_reason = Some(reason);
        }
        if status.desired_status == DesiredStatus::Running {
            let bounded = super::bounds::admit(ctx, &td, spec.overrides.as_ref()).await;
            if let Err(reason) = bounded {
                warn!(task = %key.name, %reason, "task refused");
                status.desired_status = DesiredStatus::Stopped;
                status.stop_code = Some(StopCode::TaskFailedToStart);
                status.stopped_reason = Some(reason);
            }
        }
    }
    let mut written = Written {
        status: stored,
        version: obj.metadata.resource_version,
    };
    let mut last: Option<Plan> = None;
    // The containers known after the first round: later rounds inspect them (and what the
    // round created) instead of listing again; only this reconcile makes the task's containers.
    let mut known: Option<Vec<ContainerId>> = None;
    let mut slot: Option<StartSlot> = None;
    for _ in 0..MAX_ROUNDS {
        let seen = match known.take() {
            None => observe(ctx, &cluster, &key.name, &td).await?,
            Some(ids) => observe_ids(ctx, &td, ids).await?,
        };
        let now = rfc3339((ctx.now)());
        let p = plan(&Inputs {
            task_id: &key.name,
            td: &td,
            task_definition: &taskdef,
            stop_request: stop_request.clone(),
            status: &status,
            containers: &seen.containers,
            netns: seen.netns.as_ref().map(|(_, o, _)| o),
            private_ip: seen.netns.as_ref().and_then(|(_, _, ip)| ip.as_deref()),
            age,
            drained: ctx.traffic.drained(&key.name),
            now: &now,
        });
        status = p.status.clone();
        if p.steps.is_empty() {
            last = Some(p);
            break;
        }
        // Record progress before a stop: it may take its whole grace period, and users (and
        // the service controller) should see STOPPING meanwhile. Creates and starts are quick.
        if p.steps.iter().any(|s| matches!(s, Step::Stop { .. }))
            && record(ctx, key, &status, &mut written, pipeline).await? == Recorded::Stale
        {
            return Ok(Action::requeue(STALE_RETRY));
        }
        let creates = p
            .steps
            .iter()
            .any(|s| matches!(s, Step::Create(_) | Step::EnsureNetns));
        if slot.is_none() && (creates || p.steps.iter().any(|s| matches!(s, Step::Start(_)))) {
            slot = Some(pipeline.start_slot().await);
        }
        debug!(task = %key.name, steps = ?p.steps, phase = status.last_status.as_str(), "executing");
        let done = execute(ctx, pipeline, &id, &td, &spec, &seen, &p.steps).await;
        if !creates {
            // What was created is started now: the next task may have the slot.
            slot = None;
        }
        let interrupted = match done {
            Ok(created) => {
                known = Some(seen.ids_with(created));
                None
            }
            Err(Interrupted::Unreachable(e)) => {
                warn!(task = %key.name, error = %e, "the store cannot be reached; trying again later");
                return Err(e.into());
            }
            Err(Interrupted::Failed(code, reason)) => Some((code, reason)),
        };
        if let Some((code, reason)) = interrupted {
            warn!(task = %key.name, %reason, "task failed");
            // The container that could not be made or started says why, as in ECS.
            let named = |c: &&mut api::task::ContainerStatus| {
                reason.contains(&format!("container {} ", c.name))
                    || reason.ends_with(&format!("container {}", c.name))
                    || reason.contains(&format!("container {}:", c.name))
            };
            for c in status
                .containers
                .iter_mut()
                .filter(|c| c.runtime_id.is_none())
                .filter(named)
            {
                c.last_status = api::task::ContainerPhase::Stopped;
                c.reason = Some(reason.clone());
            }
            // A task STOPPED already keeps why it stopped.
            if !status.last_status.is_terminal() {
                status.desired_status = DesiredStatus::Stopped;
                status.stop_code = Some(code);
                status.stopped_reason = Some(reason);
            }
        }
        last = Some(p);
    }
    drop(slot);
    if record(ctx, key, &status, &mut written, pipeline).await? == Recorded::Stale {
        return Ok(Action::requeue(STALE_RETRY));
    }
    Ok(match last.and_then(|p| p.requeue_after) {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

/// Whether the task's role (if it has one) can be given: the Role exists in the task's
/// cluster and this agent serves the endpoint its containers fetch credentials from. A
/// task that cannot have its role fails to start, as in ECS; a store that cannot be read
/// now is retried.
async fn check_role(
    ctx: &Context,
    cluster: &str,
    td: &TaskDefinitionSpec,
) -> Result<Result<(), String>, TaskError> {
    let Some(arn) = td.task_role_arn.clone() else {
        return Ok(Ok(()));
    };
    let store = ctx.store.blocking().clone();
    let c = cluster.to_string();
    let arn2 = arn.clone();
    let found = tokio::task::spawn_blocking(move || {
        super::roles::task_role(store.as_ref(), &c, Some(&arn2))
    })
    .await
    .map_err(|e| TaskError::Invalid {
        task: String::new(),
        message: e.to_string(),
    })?;
    match found {
        Err(super::roles::RoleError::Unreachable(m)) => {
            Err(TaskError::Store(store::StoreError::Backend(m)))
        }
        Err(super::roles::RoleError::Refused(m)) => Ok(Err(format!(
            "ResourceInitializationError: taskRoleArn {arn}: {m}"
        ))),
        Ok(_) if ctx.task_endpoint.is_none() => Ok(Err(format!(
            "ResourceInitializationError: taskRoleArn {arn}: container instance {} serves no task credentials endpoint (it could not bind 169.254.170.2; see its log)",
            ctx.instance
        ))),
        Ok(_) => Ok(Ok(())),
    }
}

/// The policy of a cluster (the default, everything dangerous refused, when it has none).
async fn cluster_policy(
    ctx: &Context,
    cluster: &str,
) -> Result<api::cluster::ClusterPolicy, TaskError> {
    let key = ObjectKey::new(Kind::Cluster, None, cluster);
    let spec = match ctx.store.get(&key).await? {
        Some(o) => o.spec_as::<api::cluster::ClusterSpec>().unwrap_or_default(),
        None => api::cluster::ClusterSpec::default(),
    };
    Ok(spec.policy.unwrap_or_default())
}

/// The task's status as this reconcile last read or wrote it, and at which resourceVersion.
struct Written {
    status: TaskStatus,
    version: Option<u64>,
}

/// How a status write went.
#[derive(Debug, PartialEq, Eq)]
enum Recorded {
    /// Written, or nothing to write.
    Done,
    /// Someone wrote the task since it was read (the control plane stopped it because its
    /// instance was lost, a stop request, the server refusing to start a STOPPED task again
    /// with 409): nothing was written; the task is read again.
    Stale,
}

/// Writes the status if it differs from what was last written, only over the version this
/// reconcile read or wrote: a status planned from an older read never overwrites a newer
/// one (above all, never a STOPPED the control plane wrote meanwhile).
async fn record(
    ctx: &Context,
    key: &ObjectKey,
    status: &TaskStatus,
    written: &mut Written,
    pipeline: &Pipeline,
) -> Result<Recorded, TaskError> {
    if *status == written.status {
        return Ok(Recorded::Done);
    }
    if let Ok(v) = serde_json::to_value(status) {
        pipeline.writing(key, v);
    }
    let result = ctx.store.write_status(key, status, written.version).await;
    pipeline.wrote(
        key,
        result
            .as_ref()
            .ok()
            .and_then(|o| o.metadata.resource_version),
    );
    match result {
        Ok(obj) => {
            if status.last_status != written.status.last_status {
                info!(task = %key.name, from = written.status.last_status.as_str(), to = status.last_status.as_str(), "task status");
            }
            *written = Written {
                status: status.clone(),
                version: obj.metadata.resource_version,
            };
            Ok(Recorded::Done)
        }
        Err(store::StoreError::Conflict { .. }) => {
            debug!(task = %key.name, "the task changed since it was read; reading it again");
            Ok(Recorded::Stale)
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads the task's containers (by label) and how they are doing. Task names are chosen by
/// users and unique only within a cluster: the cluster label keeps one cluster's task from
/// seeing (and stopping) another's containers.
async fn observe(
    ctx: &Context,
    cluster: &str,
    task: &str,
    td: &TaskDefinitionSpec,
) -> Result<Observation, TaskError> {
    let filter = ctx.owned(&[(labels::TASK, task), (labels::CLUSTER, cluster)]);
    let ids = ctx.runtime.list(&filter, true).await?;
    observe_ids(ctx, td, ids.into_iter().map(|s| s.id).collect()).await
}

/// Inspects the task's containers `ids` (one removed meanwhile is left out).
async fn observe_ids(
    ctx: &Context,
    td: &TaskDefinitionSpec,
    ids: Vec<ContainerId>,
) -> Result<Observation, TaskError> {
    let mut seen = Observation::default();
    for cid in ids {
        let info = match ctx.runtime.inspect(&cid).await {
            Ok(i) => i,
            Err(RuntimeError::NotFound(_)) => continue, // removed between list and inspect
            Err(e) => return Err(e.into()),
        };
        let o = observed(&info);
        if info
            .labels
            .get(runtime::labels::NETNS)
            .is_some_and(|v| v == "true")
        {
            let ip = info.ip_addresses.values().next().cloned();
            seen.netns = Some((info.id.clone(), o, ip));
        } else if let Some(name) = info.labels.get(labels::CONTAINER) {
            seen.ids.insert(name.clone(), info.id.clone());
            seen.containers.insert(name.clone(), o);
        }
    }
    // awsvpc ports are published by the namespace holder: give each container its own.
    if td.network_mode() == NetworkMode::Awsvpc
        && let Some((_, ns, _)) = &seen.netns
    {
        for c in &td.container_definitions {
            if let Some(o) = seen.containers.get_mut(&c.name) {
                o.bindings = ns
                    .bindings
                    .iter()
                    .filter(|b| {
                        c.port_mappings
                            .iter()
                            .any(|p| p.container_port.map(|x| x.0) == Some(b.container_port))
                    })
                    .cloned()
                    .collect();
            }
        }
    }
    Ok(seen)
}

fn observed(info: &ContainerInfo) -> Observed {
    let state = match info.state {
        ContainerState::Created => RunState::Created,
        ContainerState::Running | ContainerState::Paused | ContainerState::Restarting => {
            RunState::Running
        }
        ContainerState::Exited | ContainerState::Dead | ContainerState::Removing => {
            RunState::Exited(info.exit_code.unwrap_or(-1))
        }
    };
    Observed {
        runtime_id: info.id.0.clone(),
        state,
        paused: info.state == ContainerState::Paused,
        health: info.health.map(|h| match h {
            HealthStatus::Healthy => HealthState::Healthy,
            HealthStatus::Unhealthy => HealthState::Unhealthy,
            HealthStatus::Starting => HealthState::Unknown,
        }),
        oom_killed: info.oom_killed,
        bindings: info
            .ports
            .iter()
            .map(|p| NetworkBinding {
                container_port: p.container_port,
                host_port: p.host_port,
                host_ip: p.host_ip.clone(),
                protocol: match p.protocol {
                    runtime::Protocol::Tcp => api::taskdef::Protocol::Tcp,
                    runtime::Protocol::Udp => api::taskdef::Protocol::Udp,
                },
            })
            .collect(),
    }
}

/// The Service Connect names of a service's task (none for a standalone task), or why they
/// cannot be given.
async fn service_connect_aliases(
    ctx: &Context,
    cluster: &str,
    service: Option<&str>,
    td: &TaskDefinitionSpec,
    taskdef: &str,
) -> Result<Result<Vec<String>, String>, TaskError> {
    let Some(service) = service else {
        return Ok(Ok(Vec::new()));
    };
    let Some(svc) = ctx
        .store
        .get(&ObjectKey::new(Kind::Service, Some(cluster), service))
        .await?
    else {
        return Ok(Ok(Vec::new()));
    };
    let Ok(spec) = svc.spec_as::<api::service::ServiceSpec>() else {
        return Ok(Ok(Vec::new()));
    };
    Ok(spec
        .service_connect_configuration
        .as_ref()
        .map_or(Ok(Vec::new()), |sc| {
            super::service_connect::aliases(sc, td, taskdef)
        }))
}

/// Why the steps stopped short.
enum Interrupted {
    /// A step that cannot succeed: the task fails with this stop code and reason.
    Failed(StopCode, String),
    /// The store could not be read (its servers or etcd unreachable): the reconcile is
    /// tried again later, and the task does not fail for it.
    Unreachable(store::StoreError),
}

/// Carries out the steps; a step that cannot succeed fails the task with a stop code and
/// reason. Returns the containers it created.
async fn execute(
    ctx: &Context,
    pipeline: &Pipeline,
    id: &TaskIdentity<'_>,
    td: &TaskDefinitionSpec,
    spec: &TaskSpec,
    seen: &Observation,
    steps: &[Step],
) -> Result<Vec<ContainerId>, Interrupted> {
    let failed = |e: String| Interrupted::Failed(StopCode::TaskFailedToStart, e);
    let mut created = Vec::new();
    let mut stops = Vec::new();
    let mut filtered = false;
    for step in steps {
        match step {
            Step::EnsureNetns => {
                created.push(ensure_netns(ctx, id, td, seen).await.map_err(failed)?)
            }
            Step::Create(name) => {
                // The namespace gets its security groups' filter before any app container
                // joins it: a task that cannot have it does not start (never runs open).
                if let Some((nid, _, _)) = &seen.netns
                    && !filtered
                {
                    crate::security_group::enforce_at_start(ctx, id.cluster, id.task_id, spec, nid)
                        .await
                        .map_err(failed)?;
                    filtered = true;
                }
                let Some(def) = td.container_definitions.iter().find(|c| &c.name == name) else {
                    continue;
                };
                let secret_env = if def.secrets.is_empty() {
                    Vec::new()
                } else {
                    let store = ctx.store.blocking().clone();
                    let secrets = ctx.secrets.clone();
                    let (container, refs) = (name.clone(), def.secrets.clone());
                    let cluster = id.cluster.to_string();
                    tokio::task::spawn_blocking(move || {
                        super::secrets::resolve(
                            store.as_ref(),
                            &secrets,
                            &cluster,
                            &container,
                            &refs,
                        )
                    })
                    .await
                    .map_err(|e| failed(format!("ResourceInitializationError: {e}")))?
                    .map_err(|e| match e {
                        super::secrets::SecretError::Unreadable { source, .. } => {
                            Interrupted::Unreachable(source)
                        }
                        e => failed(e.to_string()),
                    })?
                };
                let netns = seen.netns.as_ref().map(|(nid, _, _)| nid);
                let mut cs = container_spec(id, td, def, netns, spec.overrides.as_ref());
                // The policy again, on what the host holds now: the cluster's policy may
                // have changed, and a path may lead elsewhere than it did at apply.
                let policy = cluster_policy(ctx, id.cluster).await.map_err(|e| match e {
                    TaskError::Store(e @ store::StoreError::Backend(_)) => {
                        Interrupted::Unreachable(e)
                    }
                    e => failed(e.to_string()),
                })?;
                super::host_paths::prepare_mounts(ctx, id, td, &policy, &mut cs)
                    .await
                    .map_err(|e| {
                        failed(format!("CannotCreateContainerError: container {name}: {e}"))
                    })?;
                super::bounds::limit(&mut cs, &policy, super::bounds::machine(ctx).await);
                cs.env
                    .retain(|(k, _)| !secret_env.iter().any(|(s, _)| s == k));
                cs.env.extend(secret_env);
                match ctx.runtime.create(&cs).await {
                    Ok(cid) => created.push(cid),
                    Err(RuntimeError::ImageNotFound(image)) => {
                        return Err(failed(format!(
                            "CannotPullContainerError: image {image:?} of container {name} is not in the local Docker engine (ecsctl never pulls: build or load it first)"
                        )));
                    }
                    Err(e) => {
                        return Err(failed(format!(
                            "CannotCreateContainerError: container {name}: {e}"
                        )));
                    }
                }
            }
            Step::Start(name) => {
                if let Some(cid) = seen.ids.get(name) {
                    pipeline.starting(cid);
                    ctx.runtime.start(cid).await.map_err(|e| {
                        pipeline.start_failed(cid);
                        failed(format!("CannotStartContainerError: container {name}: {e}"))
                    })?;
                }
            }
            Step::Stop { name, timeout } => {
                if let Some(cid) = seen.ids.get(name) {
                    stops.push(stop(ctx, cid.clone(), *timeout));
                }
            }
            Step::Remove(name) => {
                // The task is over already: a removal that fails is tried again on the next
                // reconcile, and says nothing about the task.
                if let Some(cid) = seen.ids.get(name)
                    && let Err(e) = ignore_missing(ctx.runtime.remove(cid, true).await)
                {
                    warn!(container = %name, error = %e, "cannot remove a container of a stopped task");
                }
            }
            Step::RemoveNetns => {
                if let Some((nid, _, _)) = &seen.netns {
                    let _ = ctx.runtime.kill(nid, "KILL").await;
                    ignore_missing(ctx.runtime.remove(nid, true).await)
                        .map_err(|e| failed(e.to_string()))?;
                }
            }
        }
    }
    // Containers with nothing between them stop together, each with its own grace period.
    for r in futures::future::join_all(stops).await {
        if let Err(e) = r {
            warn!(error = %e, "stop failed");
        }
    }
    Ok(created)
}

async fn stop(ctx: &Context, id: ContainerId, timeout: Duration) -> Result<(), RuntimeError> {
    ignore_missing(ctx.runtime.stop(&id, timeout).await)
}

fn ignore_missing(r: Result<(), RuntimeError>) -> Result<(), RuntimeError> {
    match r {
        Err(RuntimeError::NotFound(_)) => Ok(()),
        other => other,
    }
}

/// Creates (or recreates) and starts the pause container of an awsvpc task; returns its id.
async fn ensure_netns(
    ctx: &Context,
    id: &TaskIdentity<'_>,
    td: &TaskDefinitionSpec,
    seen: &Observation,
) -> Result<ContainerId, String> {
    if let Some((nid, _, _)) = &seen.netns {
        ignore_missing(ctx.runtime.remove(nid, true).await).map_err(|e| e.to_string())?;
    }
    if !ctx
        .runtime
        .image_exists(PAUSE_IMAGE)
        .await
        .map_err(|e| e.to_string())?
    {
        ctx.runtime
            .import_image(PAUSE_IMAGE, pause_rootfs(), &["/pause".to_string()])
            .await
            .map_err(|e| format!("cannot make the {PAUSE_IMAGE} image: {e}"))?;
    }
    let net_labels = ctx.owned(&[(labels::CLUSTER, id.cluster)]);
    ctx.runtime
        .ensure_network(&cluster_network(id.instance, id.cluster), &net_labels)
        .await
        .map_err(|e| format!("cannot create the cluster network: {e}"))?;
    let nid = ctx
        .runtime
        .create(&netns_spec(id, td))
        .await
        .map_err(|e| format!("ResourceInitializationError: {e}"))?;
    ctx.runtime
        .start(&nid)
        .await
        .map_err(|e| format!("ResourceInitializationError: {e}"))?;
    Ok(nid)
}

/// The task's definition is gone: the task cannot run. Stop whatever it still has.
async fn fail_without_definition(
    ctx: &Context,
    obj: &Object,
    mut status: TaskStatus,
    td_ref: &str,
) -> Result<Action, TaskError> {
    remove_orphans(ctx, obj.metadata.cluster_or_default(), &obj.metadata.name).await?;
    let before = status.clone();
    status.desired_status = DesiredStatus::Stopped;
    status.last_status = api::task::TaskPhase::Stopped;
    if status.stop_code.is_none() {
        status.stop_code = Some(StopCode::TaskFailedToStart);
        status.stopped_reason = Some(format!("task definition {td_ref:?} not found"));
    }
    if status.stopped_at.is_none() {
        status.stopped_at = Some(rfc3339((ctx.now)()));
    }
    if status != before {
        ctx.store.write_status(&obj.key(), &status, None).await?;
    }
    Ok(Action::await_change())
}

/// Stops and removes the containers of a task of `cluster` that no longer exists (never
/// those of another cluster's task of the same name), then its own volumes.
pub async fn remove_orphans(ctx: &Context, cluster: &str, task: &str) -> Result<(), TaskError> {
    let found = ctx
        .runtime
        .list(
            &ctx.owned(&[(labels::TASK, task), (labels::CLUSTER, cluster)]),
            true,
        )
        .await?;
    if !found.is_empty() {
        info!(
            task,
            containers = found.len(),
            "removing the containers of a deleted task"
        );
        // Workload containers first, then the namespace holder.
        let (netns, work): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|s| s.labels.contains_key(runtime::labels::NETNS));
        futures::future::join_all(
            work.iter()
                .map(|s| stop(ctx, s.id.clone(), ORPHAN_STOP_TIMEOUT)),
        )
        .await;
        for s in work.iter().chain(netns.iter()) {
            ignore_missing(ctx.runtime.remove(&s.id, true).await)?;
        }
    }
    // Task-scoped volumes go with their task (shared ones carry no task label; a task of
    // the same name in another cluster keeps its own).
    let own = ctx.owned(&[(labels::CLUSTER, cluster), (labels::TASK, task)]);
    for v in ctx.runtime.list_volumes(&own).await? {
        info!(task, volume = %v.name, "removing a volume of a deleted task");
        match ctx.runtime.remove_volume(&v.name).await {
            Ok(()) | Err(RuntimeError::NotFound(_)) => {}
            // Still mounted by something ecsctl does not know of: left, and said so.
            Err(RuntimeError::Conflict(e)) => {
                warn!(task, volume = %v.name, error = %e, "volume kept")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
