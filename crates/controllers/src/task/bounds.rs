//! What a task is held to when it starts: its memory within the machine (admission checks
//! it too, when the server knew the machine at apply), and the limits every container gets
//! (a pids limit, and a hard memory limit even where ECS would set none). Where it runs was
//! decided before, by placement (`crate::scheduler`).

use crate::Context;
use admission::bounds::{Machine, memory};
use api::cluster::ClusterPolicy;
use api::task::TaskOverride;
use api::taskdef::TaskDefinitionSpec;
use runtime::ContainerSpec;

/// The engine's machine, or `None` when the engine cannot say (then nothing is refused for
/// it, and containers with only a memory reservation get no hard limit).
pub async fn machine(ctx: &Context) -> Option<Machine> {
    match ctx.runtime.machine().await {
        Ok(m) => Some(Machine {
            cpus: m.cpus,
            memory_mib: m.memory_bytes / memory::MIB,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "the container engine did not say how much memory its machine has");
            None
        }
    }
}

/// Refuses a task whose memory settings exceed the machine or a container's own limit:
/// the stop reason names the field.
pub fn check_memory(
    td: &TaskDefinitionSpec,
    overrides: Option<&TaskOverride>,
    machine: Option<Machine>,
) -> Result<(), String> {
    match memory::check(td, overrides, machine).into_iter().next() {
        None => Ok(()),
        Some((field, message)) => Err(format!(
            "ResourceInitializationError: refused by resource-bounds: {field}: {message}"
        )),
    }
}

/// Refuses a task whose memory does not fit the machine its engine reports.
pub async fn admit(
    ctx: &Context,
    td: &TaskDefinitionSpec,
    overrides: Option<&TaskOverride>,
) -> Result<(), String> {
    check_memory(td, overrides, machine(ctx).await)
}

/// The limits every container gets: the cluster's pids limit, and where neither the
/// container nor the task sets a hard memory limit (only a reservation), the machine's
/// memory, so that no container runs without a memory cgroup limit.
pub fn limit(spec: &mut ContainerSpec, policy: &ClusterPolicy, machine: Option<Machine>) {
    spec.pids_limit = Some(i64::from(policy.pids_limit()));
    if spec.memory_bytes.is_none()
        && let Some(m) = machine
    {
        spec.memory_bytes = i64::try_from(m.memory_mib * memory::MIB).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_container_gets_pids_and_memory_limits() {
        let mut spec = ContainerSpec::new("c", "img");
        let machine = Machine {
            cpus: 2,
            memory_mib: 2048,
        };
        limit(&mut spec, &ClusterPolicy::default(), Some(machine));
        assert_eq!(spec.pids_limit, Some(1024));
        assert_eq!(spec.memory_bytes, Some(2048 << 20));
        let mut own = ContainerSpec {
            memory_bytes: Some(64 << 20),
            ..ContainerSpec::new("c", "img")
        };
        let policy = ClusterPolicy {
            pids_limit: Some(64),
            ..ClusterPolicy::default()
        };
        limit(&mut own, &policy, Some(machine));
        assert_eq!(
            (own.pids_limit, own.memory_bytes),
            (Some(64), Some(64 << 20))
        );
    }

    #[test]
    fn memory_above_the_machine_stops_the_task() {
        let td: TaskDefinitionSpec = serde_json::from_value(serde_json::json!({
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 4096}]}))
        .unwrap();
        let small = Machine {
            cpus: 1,
            memory_mib: 1024,
        };
        let e = check_memory(&td, None, Some(small)).unwrap_err();
        assert!(e.contains("spec.containerDefinitions[0].memory"), "{e}");
        assert_eq!(check_memory(&td, None, None), Ok(()));
    }
}
