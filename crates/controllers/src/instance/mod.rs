//! A container instance's reports, as its agent makes them: the server's own (one
//! ContainerInstance in the `default` cluster for the machine the server runs on, which
//! takes the tasks of every cluster that has no instances of its own) and each `ecsctl
//! agent`'s. [`plan_status`] computes what it reports from the machine and the tasks placed
//! on it; [`run`] writes that on every heartbeat. [`monitor`] is the control plane's side:
//! an instance whose heartbeat stops is lost, and its tasks are stopped.

pub mod monitor;

use crate::Context;
use crate::placement::{Capacity, Need, Needs};
use crate::timefmt::rfc3339;
use api::instance::{
    ContainerInstanceSpec, ContainerInstanceStatus, InstanceResources, InstanceStatus, attributes,
    ecs_architecture,
};
use api::task::{TaskSpec, TaskStatus};
use api::taskdef::TaskDefinitionSpec;
use api::{DEFAULT_CLUSTER, Kind, Object, ObjectKey};
use runtime::MachineInfo;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use store::{ListQuery, StoreError};
use time::OffsetDateTime;

/// How often the local instance reports by default (ECS agents: about as often).
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);

/// Bytes in a MiB.
const MIB: u64 = 1024 * 1024;

/// Who an instance is: what does not change between heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceIdentity {
    /// Its id (the object's name), kept in its agent's data directory.
    pub id: String,
    /// Its cluster.
    pub cluster: String,
    /// Where its tasks' host ports are reached.
    pub address: String,
    /// ecsctl's version.
    pub agent_version: String,
    /// The machine's CPU architecture, as Rust names it (`x86_64`, `aarch64`).
    pub arch: String,
    /// What it offers tasks when not all of the machine (`ecsctl agent --capacity`).
    pub capacity: Option<Capacity>,
    /// The operator's attributes (`--attribute K=V`), beside ECS's own.
    pub attributes: BTreeMap<String, String>,
    /// Whether it takes tasks of other clusters too (the server's own instance takes those
    /// of clusters without instances): its heartbeat then looks at every cluster's tasks,
    /// an agent's only at its own cluster's.
    pub any_cluster: bool,
}

impl InstanceIdentity {
    /// The server's machine, under `id`, in the `default` cluster.
    pub fn this_machine(id: impl Into<String>) -> Self {
        InstanceIdentity {
            id: id.into(),
            cluster: DEFAULT_CLUSTER.to_string(),
            address: "127.0.0.1".to_string(),
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            arch: std::env::consts::ARCH.to_string(),
            capacity: None,
            attributes: BTreeMap::new(),
            any_cluster: true,
        }
    }

    /// Its object's key.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(Kind::ContainerInstance, Some(&self.cluster), &self.id)
    }
}

/// One task on the instance, as far as its report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskUse {
    /// RUNNING (else pending: not yet running, not stopped).
    pub running: bool,
    /// What its task definition reserves.
    pub need: Need,
}

/// What the instance reports: its machine (or the capacity it was given) as registered
/// resources, what its tasks that are not STOPPED leave of it, their counts, and `now` as
/// the heartbeat. DRAINING when its spec asks. The registration time is kept from
/// `previous`; without a machine (the engine did not answer), the registered resources too.
pub fn plan_status(
    instance: &InstanceIdentity,
    spec: &ContainerInstanceSpec,
    machine: Option<MachineInfo>,
    tasks: &[TaskUse],
    previous: Option<&ContainerInstanceStatus>,
    now: OffsetDateTime,
) -> ContainerInstanceStatus {
    let registered = match (instance.capacity, machine, previous) {
        (Some(c), _, _) => InstanceResources {
            cpu: c.cpu,
            memory: c.memory,
            ports: Vec::new(),
        },
        (None, Some(m), _) => InstanceResources {
            cpu: u64::from(m.cpus) * 1024,
            memory: m.memory_bytes / MIB,
            ports: Vec::new(),
        },
        (None, None, Some(p)) => p.registered_resources.clone(),
        (None, None, None) => InstanceResources::default(),
    };
    let mut ports: Vec<u16> = tasks
        .iter()
        .flat_map(|t| t.need.ports.iter().map(|(p, _)| *p))
        .chain(registered.ports.iter().copied())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    let cpu: u64 = tasks.iter().map(|t| t.need.cpu).sum();
    let memory: u64 = tasks.iter().map(|t| t.need.memory).sum();
    let running = tasks.iter().filter(|t| t.running).count();
    let heartbeat = rfc3339(now);
    let state = if spec.draining {
        InstanceStatus::Draining
    } else {
        InstanceStatus::Active
    };
    let mut status = ContainerInstanceStatus {
        status: state,
        agent_connected: true,
        remaining_resources: InstanceResources {
            cpu: registered.cpu.saturating_sub(cpu),
            memory: registered.memory.saturating_sub(memory),
            ports,
        },
        registered_resources: registered,
        attributes: instance
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .chain([
                (attributes::OS_TYPE, "linux".to_string()),
                (
                    attributes::CPU_ARCHITECTURE,
                    ecs_architecture(&instance.arch).to_string(),
                ),
                (attributes::INSTANCE_ID, instance.id.clone()),
            ])
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        running_tasks_count: u32::try_from(running).unwrap_or(u32::MAX),
        pending_tasks_count: u32::try_from(tasks.len() - running).unwrap_or(u32::MAX),
        registered_at: previous
            .map(|p| p.registered_at.clone())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| heartbeat.clone()),
        last_heartbeat: heartbeat.clone(),
        agent_version: instance.agent_version.clone(),
        address: instance.address.clone(),
        events: previous.map(|p| p.events.clone()).unwrap_or_default(),
    };
    let who = format!("(container-instance {})", instance.id);
    let happened = match previous {
        None => vec![format!("{who} registered in cluster {}.", instance.cluster)],
        Some(p) => {
            let mut out = Vec::new();
            if !p.agent_connected {
                out.push(format!("{who} has its agent connected again."));
            }
            if p.status != state {
                out.push(format!("{who} is {}.", state.as_str()));
            }
            out
        }
    };
    let stamp = now.unix_timestamp_nanos();
    for (i, message) in happened.into_iter().enumerate() {
        status.record(format!("{stamp}-{i}"), &heartbeat, message);
    }
    status
}

/// Reports every `interval` until `shutdown` (the instance is registered first:
/// [`register_local`] for the server's own, `POST /v1/instances` for an agent's).
pub async fn run(
    ctx: Context,
    instance: InstanceIdentity,
    interval: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut needs = Needs::default();
    loop {
        if let Err(e) = update_status(&ctx, &instance, &mut needs).await {
            tracing::warn!(instance = %instance.id, error = %e, "the container instance could not report");
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Registers the server's own instance when it is missing.
pub async fn register_local(ctx: &Context, instance: &InstanceIdentity) -> Result<(), StoreError> {
    if ctx.store.get(&instance.key()).await?.is_some() {
        return Ok(());
    }
    let mut o = Object::with_spec(
        Kind::ContainerInstance,
        instance.id.clone(),
        &ContainerInstanceSpec::default(),
    )
    .map_err(|e| StoreError::Invalid(e.to_string()))?;
    o.metadata.cluster = Some(instance.cluster.clone());
    ctx.store.apply(o).await?;
    tracing::info!(instance = %instance.id, "registered the local container instance");
    Ok(())
}

/// One heartbeat: writes the instance's status. `needs` caches what each task definition
/// revision (`family:N`) reserves: revisions are immutable.
pub async fn update_status(
    ctx: &Context,
    instance: &InstanceIdentity,
    needs: &mut Needs,
) -> Result<(), StoreError> {
    let key = instance.key();
    let current = ctx
        .store
        .get(&key)
        .await?
        .ok_or_else(|| StoreError::NotFound(key.clone()))?;
    let previous = current.status_as::<ContainerInstanceStatus>().ok();
    let spec: ContainerInstanceSpec = current.spec_as().unwrap_or_default();
    let tasks = tasks_on(ctx, instance, needs).await?;
    let machine = match ctx.runtime.machine().await {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::debug!(error = %e, "the engine did not say what its machine has");
            None
        }
    };
    let status = plan_status(
        instance,
        &spec,
        machine,
        &tasks,
        previous.as_ref(),
        (ctx.now)(),
    );
    let value = serde_json::to_value(&status).map_err(|e| StoreError::Invalid(e.to_string()))?;
    ctx.store.update_status(&key, value, None).await?;
    Ok(())
}

/// The tasks placed on the instance that it runs or is starting (not STOPPED).
async fn tasks_on(
    ctx: &Context,
    instance: &InstanceIdentity,
    needs: &mut Needs,
) -> Result<Vec<TaskUse>, StoreError> {
    let mut out = Vec::new();
    let mut query = ListQuery::new(Kind::Task);
    if !instance.any_cluster {
        query = query.in_cluster(instance.cluster.clone());
    }
    for task in ctx.store.list(&query).await?.items {
        let status = task.status_as::<TaskStatus>().unwrap_or_default();
        let Ok(spec) = task.spec_as::<TaskSpec>() else {
            continue;
        };
        if status.last_status.is_terminal() || spec.bound_instance(&status) != Some(&instance.id) {
            continue;
        }
        let td = Some(status.task_definition.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or(spec.task_definition);
        let reserved = match needs.cached(&td) {
            Some(n) => n,
            None => {
                let spec = ctx
                    .store
                    .get(&ObjectKey::new(Kind::TaskDefinition, None, &td))
                    .await?
                    .and_then(|o| o.spec_as::<TaskDefinitionSpec>().ok());
                needs.remember(&td, spec.as_ref())
            }
        };
        out.push(TaskUse {
            running: status.last_status.is_running(),
            need: reserved.unwrap_or_default(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::taskdef::Protocol;

    fn at(s: &str) -> OffsetDateTime {
        crate::timefmt::parse_rfc3339(s).unwrap()
    }

    fn instance() -> InstanceIdentity {
        InstanceIdentity {
            id: "0a1b2c".into(),
            cluster: "default".into(),
            address: "127.0.0.1".into(),
            agent_version: "1.2.3".into(),
            arch: "aarch64".into(),
            capacity: None,
            attributes: BTreeMap::from([("stack".to_string(), "prod".to_string())]),
            any_cluster: true,
        }
    }

    fn task(running: bool, cpu: u64, memory: u64, ports: &[u16]) -> TaskUse {
        TaskUse {
            running,
            need: Need {
                cpu,
                memory,
                ports: ports.iter().map(|p| (*p, Protocol::Tcp)).collect(),
            },
        }
    }

    #[test]
    fn tasks_take_from_what_the_machine_has() {
        let machine = MachineInfo {
            cpus: 2,
            memory_bytes: 4096 * MIB + 12,
        };
        let tasks = [
            task(true, 256, 512, &[8080]),
            task(false, 512, 1024, &[]),
            task(true, 0, 128, &[9000, 8080]),
        ];
        let s = plan_status(
            &instance(),
            &ContainerInstanceSpec::default(),
            Some(machine),
            &tasks,
            None,
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(s.registered_resources.cpu, 2048);
        assert_eq!(s.registered_resources.memory, 4096);
        assert_eq!(s.remaining_resources.cpu, 2048 - 768);
        assert_eq!(s.remaining_resources.memory, 4096 - 1664);
        assert_eq!(s.remaining_resources.ports, [8080, 9000]);
        assert_eq!((s.running_tasks_count, s.pending_tasks_count), (2, 1));
        assert_eq!(s.status, InstanceStatus::Active);
        assert!(s.agent_connected);
        assert_eq!(s.attributes["ecs.cpu-architecture"], "arm64");
        assert_eq!(s.attributes["ecs.os-type"], "linux");
        assert_eq!(s.attributes["ecs.instance-id"], "0a1b2c");
        assert_eq!(s.attributes["stack"], "prod");
        assert_eq!(s.last_heartbeat, "2026-01-01T00:00:00Z");
        assert_eq!(s.registered_at, s.last_heartbeat);
    }

    #[test]
    fn a_later_heartbeat_keeps_registration_and_drain() {
        let first = plan_status(
            &instance(),
            &ContainerInstanceSpec::default(),
            Some(MachineInfo {
                cpus: 1,
                memory_bytes: 1024 * MIB,
            }),
            &[],
            None,
            at("2026-01-01T00:00:00Z"),
        );
        let previous = first.clone();
        let draining = ContainerInstanceSpec {
            draining: true,
            ..Default::default()
        };
        // The engine did not answer: what it registered stays.
        let later = plan_status(
            &instance(),
            &draining,
            None,
            &[task(true, 2048, 2048, &[])],
            Some(&previous),
            at("2026-01-01T00:00:10Z"),
        );
        assert_eq!(later.status, InstanceStatus::Draining);
        let said = |s: &ContainerInstanceStatus| -> Vec<String> {
            s.events.iter().map(|e| e.message.clone()).collect()
        };
        assert_eq!(
            said(&later),
            [
                "(container-instance 0a1b2c) is DRAINING.",
                "(container-instance 0a1b2c) registered in cluster default."
            ]
        );
        // Back from a loss (the server marked it disconnected): said once.
        let lost = ContainerInstanceStatus {
            agent_connected: false,
            ..later.clone()
        };
        let back = plan_status(
            &instance(),
            &draining,
            None,
            &[],
            Some(&lost),
            at("2026-01-01T00:01:00Z"),
        );
        assert_eq!(
            said(&back)[0],
            "(container-instance 0a1b2c) has its agent connected again."
        );
        assert_eq!(back.events.len(), 3);
        let steady = plan_status(
            &instance(),
            &draining,
            None,
            &[],
            Some(&back),
            at("2026-01-01T00:01:10Z"),
        );
        assert_eq!(steady.events, back.events, "a quiet heartbeat adds nothing");
        assert_eq!(later.registered_at, "2026-01-01T00:00:00Z");
        assert_eq!(later.last_heartbeat, "2026-01-01T00:00:10Z");
        assert_eq!(later.registered_resources, first.registered_resources);
        // Overcommitted: nothing left, never below zero.
        assert_eq!(
            (
                later.remaining_resources.cpu,
                later.remaining_resources.memory
            ),
            (0, 0)
        );
        // A capacity given to the agent is what it registers, whatever the machine has.
        let given = InstanceIdentity {
            capacity: Some(Capacity {
                cpu: 512,
                memory: 300,
            }),
            ..instance()
        };
        let s = plan_status(
            &given,
            &ContainerInstanceSpec::default(),
            Some(MachineInfo {
                cpus: 8,
                memory_bytes: 8192 * MIB,
            }),
            &[],
            None,
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            (s.registered_resources.cpu, s.registered_resources.memory),
            (512, 300)
        );
        assert_eq!(s.status, InstanceStatus::Active);
    }
}
