//! The service controller's reconcile: read the service and its tasks, plan, start and stop
//! tasks (as Task objects the task controller runs), record the status.

use super::plan::{Action, Inputs, TaskView, plan};
use crate::Context;
use crate::timefmt::{parse_rfc3339, rfc3339};
use api::autoscaler::{AutoscalerSpec, AutoscalerStatus};
use api::service::{SchedulingStrategy, ServiceSpec, ServiceStatus};
use api::task::{StopCode, StopRequest, TaskSpec, TaskStatus};
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, Object, ObjectKey};
use reconcile::Action as Next;
use runtime::labels;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use store::{ListQuery, Write};
use time::OffsetDateTime;
use tracing::{info, warn};

/// Label on a service's tasks naming the deployment that started them (its number).
pub const DEPLOYMENT_LABEL: &str = "ecsctl.deployment";
/// Annotation that asks for a new deployment of the same task definition
/// (`ecsctl rollout restart`, `--force-new-deployment`): any new value does.
pub const FORCE_ANNOTATION: &str = "ecsctl.dev/force-deployment";

/// Why a service reconcile failed (retried with backoff).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    #[error("service {service}: {message}")]
    Invalid { service: String, message: String },
}

/// Reconciles one Service.
pub async fn reconcile_service(ctx: &Context, key: &ObjectKey) -> Result<Next, ServiceError> {
    let cluster = key
        .cluster
        .clone()
        .unwrap_or_else(|| api::DEFAULT_CLUSTER.to_string());
    let tasks = ctx
        .store
        .list(
            &ListQuery::new(Kind::Task)
                .in_cluster(cluster.clone())
                .with_label(labels::SERVICE, key.name.clone()),
        )
        .await?
        .items;
    let Some(obj) = ctx.store.get(key).await? else {
        // Deleting a service drains it: its tasks are asked to stop.
        for t in tasks.iter().filter(|t| is_running(t)) {
            stop_task(ctx, t, "Service deleted").await?;
        }
        super::deployments::sync(ctx, &cluster, &key.name, None).await?;
        return Ok(Next::await_change());
    };
    let invalid = |m: String| ServiceError::Invalid {
        service: key.name.clone(),
        message: m,
    };
    let spec: ServiceSpec = obj.spec_as().map_err(|e| invalid(e.to_string()))?;
    let status: ServiceStatus = obj.status_as().map_err(|e| invalid(e.to_string()))?;
    let now = (ctx.now)();
    let Some(td) = resolve(ctx, &spec.task_definition).await? else {
        let mut st = status.clone();
        let msg = format!(
            "(service {}) failed to launch a task: task definition {} does not exist.",
            key.name, spec.task_definition
        );
        if st.events.first().is_none_or(|e| e.message != msg) {
            push_event(&mut st, now, msg);
            ctx.store.write_status(key, &st, None).await?;
        }
        return Ok(Next::requeue(Duration::from_secs(5)));
    };
    let health_checked = health_checked(ctx, &tasks).await;
    let views: Vec<TaskView> = tasks
        .iter()
        .map(|t| view(ctx, t, &health_checked))
        .collect();
    let ids = [new_deployment_id(ctx), new_deployment_id(ctx)];
    let force = obj
        .metadata
        .annotations
        .get(FORCE_ANNOTATION)
        .cloned()
        .unwrap_or_default();
    let task_config = task_config_token(&spec);
    let inputs = Inputs {
        service: &key.name,
        spec: &spec,
        generation: obj.metadata.generation.unwrap_or(1),
        task_definition: &td,
        force_token: &force,
        task_config_token: &task_config,
        status: &status,
        tasks: &views,
        now,
        backoff_cap: ctx.service_backoff_cap,
        new_ids: [&ids[0], &ids[1]],
        daemon_instances: daemon_instances(ctx, &cluster, &spec, &td).await?,
        placement: None,
    };
    let mut p = plan(&inputs);
    // Placement is asked only when the plan starts tasks (it reads every task).
    if let Some(Action::Start {
        task_definition,
        count,
        ..
    }) = p.actions.iter().find(|a| matches!(a, Action::Start { .. }))
    {
        let fit = placement(
            ctx,
            &cluster,
            &key.name,
            &spec,
            task_definition,
            *count,
            None,
        )
        .await?;
        if let Some(why) = fit.reason {
            p = plan(&Inputs {
                placement: Some((fit.chosen.len() as u32, why)),
                ..inputs
            });
        }
    }
    let mut st = p.status;
    report_autoscaling(ctx, &cluster, &key.name, &mut st, now).await?;
    // The pass's writes (new tasks, the status, the deployment records) go in one
    // transaction: one flush instead of one each.
    let mut writes = Vec::new();
    let mut reserved = Vec::new();
    for action in &p.actions {
        match action {
            Action::Stop { task, reason } => {
                if let Some(t) = tasks.iter().find(|t| t.metadata.name == *task) {
                    stop_task(ctx, t, reason).await?;
                }
            }
            Action::Start {
                deployment,
                task_definition,
                count,
            } => {
                let started = new_tasks(
                    ctx,
                    &obj,
                    &spec,
                    &cluster,
                    deployment,
                    task_definition,
                    *count,
                )
                .await?;
                let names: Vec<String> = started
                    .iter()
                    .map(|t| format!("(task {})", t.metadata.name))
                    .collect();
                info!(service = %key.name, deployment, count = started.len(), "starting tasks");
                reserved.extend(started.iter().map(Object::key));
                writes.extend(started.into_iter().map(|t| Write::Apply(Box::new(t))));
                push_event(
                    &mut st,
                    now,
                    format!(
                        "(service {}) has started {} tasks: {}.",
                        key.name,
                        names.len(),
                        names.join(" ")
                    ),
                );
            }
        }
    }
    if st != status {
        writes.push(Write::Status {
            key: key.clone(),
            status: serde_json::to_value(&st).map_err(|e| ServiceError::Invalid {
                service: key.name.clone(),
                message: e.to_string(),
            })?,
            expected_resource_version: None,
        });
    }
    if st.deployments != status.deployments {
        writes.extend(super::deployments::writes(ctx, &cluster, &key.name, Some(&st)).await?);
    }
    if !writes.is_empty()
        && let Err(e) = ctx.store.write_all(writes).await
    {
        // The tasks were not created: their reservations go.
        let mut ledger = ctx.ledger();
        reserved.iter().for_each(|k| ledger.forget(k));
        return Err(e.into());
    }
    Ok(match p.requeue_after {
        Some(d) => Next::requeue(d),
        None => Next::await_change(),
    })
}

fn push_event(st: &mut ServiceStatus, now: OffsetDateTime, message: String) {
    let at = rfc3339(now);
    st.events.insert(
        0,
        api::service::Event {
            id: format!("{}-{}", now.unix_timestamp_nanos(), st.events.len()),
            created_at: at,
            message,
        },
    );
    st.events.truncate(super::plan::MAX_EVENTS);
}

/// Places `count` tasks of the service's `task_definition` on the cluster's container
/// instances (the service's placement constraints and strategy, the task definition's
/// constraints). With `keys`, each placed task is reserved at once under its key; without,
/// only how many would fit, and why not more.
async fn placement(
    ctx: &Context,
    cluster: &str,
    service: &str,
    spec: &ServiceSpec,
    task_definition: &str,
    count: u32,
    keys: Option<&[ObjectKey]>,
) -> Result<crate::placement::Placement, ServiceError> {
    use crate::placement::{Ask, Placement, constraints};
    let td: Option<TaskDefinitionSpec> = ctx
        .store
        .get(&ObjectKey::new(Kind::TaskDefinition, None, task_definition))
        .await?
        .and_then(|o| o.spec_as().ok());
    let Some(td) = td else {
        return Ok(Placement {
            chosen: Vec::new(),
            reason: Some(format!("task definition {task_definition} does not exist")),
        });
    };
    let rules = match constraints(&td.placement_constraints, &spec.placement_constraints) {
        // A DAEMON service runs one task per instance.
        Ok(mut rules) if spec.scheduling_strategy() == SchedulingStrategy::Daemon => {
            rules.push(crate::placement::Constraint::DistinctInstance);
            rules
        }
        Ok(rules) => rules,
        Err(e) => {
            return Ok(Placement {
                chosen: Vec::new(),
                reason: Some(e.to_string()),
            });
        }
    };
    let need = crate::placement::need(&td);
    let group = format!("service:{service}");
    let declared = declared_capacity(ctx, cluster).await?;
    let ask = Ask {
        need: &need,
        group: &group,
        constraints: &rules,
        strategies: &spec.placement_strategy,
        count,
    };
    let mut rng = || (ctx.new_id)().as_u128() as u64;
    Ok(ctx.ledger().place(cluster, declared, &ask, keys, &mut rng))
}

/// How many instances of `cluster` a DAEMON service runs a task on (0 for a REPLICA
/// service, which does not ask).
async fn daemon_instances(
    ctx: &Context,
    cluster: &str,
    spec: &ServiceSpec,
    task_definition: &str,
) -> Result<u32, ServiceError> {
    if spec.scheduling_strategy() != SchedulingStrategy::Daemon {
        return Ok(0);
    }
    let td: Option<TaskDefinitionSpec> = ctx
        .store
        .get(&ObjectKey::new(Kind::TaskDefinition, None, task_definition))
        .await?
        .and_then(|o| o.spec_as().ok());
    let from_td = td.map(|t| t.placement_constraints).unwrap_or_default();
    let Ok(rules) = crate::placement::constraints(&from_td, &spec.placement_constraints) else {
        return Ok(0);
    };
    let declared = declared_capacity(ctx, cluster).await?;
    Ok(ctx.ledger().daemon_instances(cluster, declared, &rules))
}

/// The capacity `cluster` declares (its Cluster's `spec.capacity`): what the server's own
/// instance offers the cluster's tasks when it has no instances of its own.
pub(crate) async fn declared_capacity(
    ctx: &Context,
    cluster: &str,
) -> Result<Option<crate::placement::Capacity>, store::StoreError> {
    use crate::placement::Capacity;
    let declared = ctx
        .store
        .get(&ObjectKey::new(Kind::Cluster, None, cluster))
        .await?
        .and_then(|c| c.spec_as::<api::cluster::ClusterSpec>().ok())
        .and_then(|s| s.capacity);
    let local = Capacity::local();
    Ok(declared.map(|c| Capacity {
        cpu: c.cpu.map_or(local.cpu, |v| u64::from(v.0)),
        memory: c.memory.map_or(local.memory, |v| u64::from(v.0)),
    }))
}

/// An Autoscaler's latest decision about this service becomes a service event, once.
async fn report_autoscaling(
    ctx: &Context,
    cluster: &str,
    service: &str,
    st: &mut ServiceStatus,
    now: OffsetDateTime,
) -> Result<(), ServiceError> {
    let scalers = ctx
        .store
        .list(&ListQuery::new(Kind::Autoscaler).in_cluster(cluster.to_string()))
        .await?
        .items;
    for a in scalers {
        // An Autoscaler this release cannot read is its own controller's to report.
        let Ok(spec) = a.spec_as::<AutoscalerSpec>() else {
            continue;
        };
        if spec.service != service {
            continue;
        }
        let Ok(AutoscalerStatus {
            last_decision: Some(d),
            ..
        }) = a.status_as::<AutoscalerStatus>()
        else {
            continue;
        };
        if d.id.is_empty() || d.id.as_str() <= st.last_autoscaler_decision.as_str() {
            continue;
        }
        push_event(
            st,
            now,
            format!(
                "(service {service}) {} (autoscaler {}).",
                d.message, a.metadata.name
            ),
        );
        st.last_autoscaler_decision = d.id;
    }
    Ok(())
}

/// `family` -> `family:N` of the latest revision; `family:N` -> itself if it exists.
async fn resolve(ctx: &Context, reference: &str) -> Result<Option<String>, ServiceError> {
    Ok(ctx
        .store
        .get(&ObjectKey::new(Kind::TaskDefinition, None, reference))
        .await?
        .map(|o| o.display_name()))
}

/// Tasks get their Service Connect names and their security groups when they are made, so
/// (as in ECS) a change of serviceConnectConfiguration or of the groups in
/// networkConfiguration needs a new deployment: their fingerprint ("" without either).
fn task_config_token(spec: &ServiceSpec) -> String {
    let fingerprint = |prefix: &str, json: String| {
        let mut h = api::hash::Fnv::new();
        h.write(json.as_bytes());
        format!("{prefix}-{:016x}", h.finish())
    };
    let sc = spec
        .service_connect_configuration
        .as_ref()
        .map(|sc| fingerprint("sc", serde_json::to_string(sc).unwrap_or_default()));
    let groups = spec
        .network_configuration
        .as_ref()
        .map(|n| &n.awsvpc_configuration.security_groups)
        .filter(|g| !g.is_empty())
        .map(|g| fingerprint("sg", g.join(",")));
    [sc, groups]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("+")
}

/// ECS-style deployment id: `ecs-svc/` and 19 digits, from the context's id source.
fn new_deployment_id(ctx: &Context) -> String {
    let n = (ctx.new_id)().as_u128() % 10u128.pow(19);
    format!("ecs-svc/{n:019}")
}

/// Neither asked to stop nor stopped. A task whose spec or status cannot be read counts as
/// running, so that deleting its service still asks it to stop.
fn is_running(t: &Object) -> bool {
    let stopping = t.spec_as::<TaskSpec>().is_ok_and(|s| s.stop_requested());
    let stopped = t
        .status_as::<TaskStatus>()
        .is_ok_and(|s| s.last_status.is_terminal());
    !stopping && !stopped
}

/// What the planner needs to know of a task.
/// The revision a task runs once resolved, else what its spec names.
fn task_definition_of(t: &Object) -> String {
    match t.status_as::<TaskStatus>() {
        Ok(st) if !st.task_definition.is_empty() => st.task_definition,
        _ => t
            .spec_as::<TaskSpec>()
            .map(|s| s.task_definition)
            .unwrap_or_default(),
    }
}

/// Whether each task definition the tasks run has an essential container with a health
/// check.
async fn health_checked(ctx: &Context, tasks: &[Object]) -> BTreeMap<String, bool> {
    let tds: BTreeSet<String> = tasks.iter().map(task_definition_of).collect();
    let mut checked = BTreeMap::new();
    for td in tds {
        let has_check = ctx
            .store
            .get(&ObjectKey::new(Kind::TaskDefinition, None, &td))
            .await
            .ok()
            .flatten()
            .and_then(|o| o.spec_as::<TaskDefinitionSpec>().ok())
            .is_some_and(|s| {
                s.container_definitions
                    .iter()
                    .any(|c| c.is_essential() && c.checked_health().is_some())
            });
        checked.insert(td, has_check);
    }
    checked
}

fn view(ctx: &Context, t: &Object, health_checked: &BTreeMap<String, bool>) -> TaskView {
    let spec: Option<TaskSpec> = t.spec_as().ok();
    let status: TaskStatus = t.status_as().unwrap_or_default();
    let td = task_definition_of(t);
    let checked = health_checked.get(&td).copied().unwrap_or(false);
    let stopping =
        spec.as_ref().is_some_and(TaskSpec::stop_requested) || status.desired_status.is_stopped();
    let running = status.last_status.is_running();
    let parse = |s: &Option<String>| s.as_deref().and_then(parse_rfc3339);
    TaskView {
        id: t.metadata.name.clone(),
        deployment: t
            .metadata
            .labels
            .get(DEPLOYMENT_LABEL)
            .map(|n| format!("ecs-svc/{n}"))
            .unwrap_or_default(),
        task_definition: td.clone(),
        phase: status.last_status,
        stopping,
        // ECS counts a task healthy when it runs, passes its container health checks, and is
        // healthy in its load balancer's target group.
        healthy: running
            && !stopping
            && (!checked || status.health_status.is_healthy())
            && ctx
                .traffic
                .target_health(&t.metadata.name)
                .is_none_or(|h| h == crate::TargetHealth::Healthy),
        unhealthy: status.health_status.is_unhealthy(),
        started_at: parse(&status.started_at),
        stopped_at: parse(&status.stopped_at),
        registered: ctx
            .traffic
            .target_health(&t.metadata.name)
            .is_some_and(|h| h != crate::TargetHealth::Draining),
        failed: status.last_status.is_terminal()
            && status.stop_code.is_some_and(StopCode::is_failure),
        on_draining: spec
            .as_ref()
            .and_then(|s| s.bound_instance(&status))
            .is_some_and(|i| ctx.ledger().is_draining(i)),
    }
}

/// `count` new Task objects for the deployment, each placed on a container instance and
/// counted in the ledger at once (fewer when placement no longer finds room for all:
/// another service took it since the plan). The caller writes them.
async fn new_tasks(
    ctx: &Context,
    service: &Object,
    service_spec: &ServiceSpec,
    cluster: &str,
    deployment: &str,
    task_definition: &str,
    count: u32,
) -> Result<Vec<Object>, ServiceError> {
    let number = deployment.trim_start_matches("ecs-svc/");
    let spec = TaskSpec {
        group: Some(format!("service:{}", service.metadata.name)),
        // As in ECS, a task keeps the setting its service had when it was started.
        enable_execute_command: service_spec.enable_execute_command.filter(|on| *on),
        // Its security groups (and subnets), as ECS gives a service's tasks.
        network_configuration: service_spec.network_configuration.clone(),
        ..TaskSpec::new(task_definition, Some(deployment.to_string()))
    };
    let ids: Vec<String> = (0..count)
        .map(|_| (ctx.new_id)().simple().to_string())
        .collect();
    let keys: Vec<ObjectKey> = ids
        .iter()
        .map(|id| ObjectKey::new(Kind::Task, Some(cluster), id))
        .collect();
    let placed = placement(
        ctx,
        cluster,
        &service.metadata.name,
        service_spec,
        task_definition,
        count,
        Some(&keys),
    )
    .await?;
    ids.into_iter()
        .zip(placed.chosen)
        .map(|(id, instance)| {
            let spec = TaskSpec {
                container_instance: Some(instance),
                ..spec.clone()
            };
            let mut o = Object::with_spec(Kind::Task, id, &spec)?;
            o.metadata.cluster = Some(cluster.to_string());
            o.metadata
                .labels
                .insert(labels::SERVICE.to_string(), service.metadata.name.clone());
            o.metadata
                .labels
                .insert(DEPLOYMENT_LABEL.to_string(), number.to_string());
            Ok(o)
        })
        .collect::<Result<_, serde_json::Error>>()
        .map_err(|e| ServiceError::Invalid {
            service: service.metadata.name.clone(),
            message: e.to_string(),
        })
}

/// Asks a task to stop (the task controller drains and stops it).
async fn stop_task(ctx: &Context, task: &Object, reason: &str) -> Result<(), ServiceError> {
    let mut o = task.clone();
    o.merge_spec(&StopRequest::new(
        StopCode::ServiceSchedulerInitiated,
        reason,
    ))
    .map_err(|e| ServiceError::Invalid {
        service: task.metadata.name.clone(),
        message: e.to_string(),
    })?;
    match ctx.store.apply(o).await {
        Ok(_) => Ok(()),
        Err(store::StoreError::Conflict { .. }) => {
            warn!(task = %task.metadata.name, "task changed while stopping it; will retry");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
