//! ECS's memory arithmetic, and the ceiling every limit meets: the machine's memory. Pure.
//!
//! ECS (EC2 launch type) gives a container the hard limit `memory` when it sets one, else the
//! task's `memory`, which its containers share; a container with only `memoryReservation`
//! gets no hard limit of its own in ECS. ecsctl caps such a container at the machine's memory,
//! so that every container runs in a memory cgroup with a limit.

use super::Machine;
use api::task::TaskOverride;
use api::taskdef::{ContainerDefinition, TaskDefinitionSpec};

/// One MiB in bytes.
pub const MIB: u64 = 1024 * 1024;

/// The hard memory limit of `c` in MiB by ECS's rules: the container override's `memory`,
/// the container's `memory`, the task override's `memory`, then the task's `memory`. `None`:
/// neither the container nor the task sets one (the container has only a reservation).
pub fn hard_limit_mib(
    td: &TaskDefinitionSpec,
    c: &ContainerDefinition,
    overrides: Option<&TaskOverride>,
) -> Option<u32> {
    let own = overrides
        .and_then(|o| o.container_overrides.iter().find(|x| x.name == c.name))
        .and_then(|x| x.memory);
    own.or(c.memory)
        .or(overrides.and_then(|o| o.memory))
        .or(td.memory)
        .map(|m| m.0)
}

/// Every memory setting of a task definition (with a task's overrides) that exceeds the
/// machine or the container's own limit, as `(field, message)`: the task's and each
/// container's hard limit at most the machine's memory; `/dev/shm` (`sharedMemorySize`) and
/// each tmpfs at most the container's hard limit (the machine's when it has none), since
/// both are memory the container's cgroup is charged for. `machine` unknown: only the
/// container-level bounds are checked.
pub fn check(
    td: &TaskDefinitionSpec,
    overrides: Option<&TaskOverride>,
    machine: Option<Machine>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let above_machine = |mib: u64| machine.filter(|m| mib > m.memory_mib);
    if let Some(m) = td.memory
        && let Some(machine) = above_machine(u64::from(m.0))
    {
        out.push(("spec.memory".to_string(), too_big(u64::from(m.0), machine)));
    }
    for (i, c) in td.container_definitions.iter().enumerate() {
        let p = format!("spec.containerDefinitions[{i}]");
        let limit = hard_limit_mib(td, c, overrides).map(u64::from);
        for (field, v) in [
            ("memory", c.memory.map(|m| u64::from(m.0))),
            (
                "memoryReservation",
                c.memory_reservation.map(|m| u64::from(m.0)),
            ),
        ] {
            if let Some(v) = v
                && let Some(machine) = above_machine(v)
            {
                out.push((format!("{p}.{field}"), too_big(v, machine)));
            }
        }
        let ceiling = limit.or(machine.map(|m| m.memory_mib));
        let Some(ceiling) = ceiling else { continue };
        let lp = c.linux_parameters.as_ref();
        if let Some(shm) = lp.and_then(|l| l.shared_memory_size)
            && u64::from(shm) > ceiling
        {
            out.push((
                format!("{p}.linuxParameters.sharedMemorySize"),
                format!(
                    "{shm} MiB of /dev/shm is more than the container's memory limit ({ceiling} MiB): shared memory counts against it"
                ),
            ));
        }
        for (j, t) in lp
            .map(|l| l.tmpfs.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if u64::from(t.size) > ceiling {
                out.push((
                    format!("{p}.linuxParameters.tmpfs[{j}].size"),
                    format!(
                        "{} MiB of tmpfs is more than the container's memory limit ({ceiling} MiB): tmpfs lives in memory",
                        t.size
                    ),
                ));
            }
        }
    }
    out
}

fn too_big(mib: u64, machine: Machine) -> String {
    format!(
        "{mib} MiB is more memory than this machine has ({} MiB, as the container engine reports it)",
        machine.memory_mib
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn td(v: serde_json::Value) -> TaskDefinitionSpec {
        serde_json::from_value(v).unwrap()
    }

    const MACHINE: Machine = Machine {
        cpus: 4,
        memory_mib: 8192,
    };

    #[test]
    fn hard_limits_follow_ecs() {
        let t = td(json!({"memory": 512, "containerDefinitions": [
            {"name": "own", "image": "x", "memory": 128},
            {"name": "shared", "image": "x"},
            {"name": "soft", "image": "x", "memoryReservation": 64}
        ]}));
        let limits: Vec<_> = t
            .container_definitions
            .iter()
            .map(|c| hard_limit_mib(&t, c, None))
            .collect();
        assert_eq!(limits, [Some(128), Some(512), Some(512)]);
        let bare = td(
            json!({"containerDefinitions": [{"name": "a", "image": "x", "memoryReservation": 64}]}),
        );
        assert_eq!(
            hard_limit_mib(&bare, &bare.container_definitions[0], None),
            None
        );
        let over: TaskOverride = serde_json::from_value(json!({"memory": 300,
            "containerOverrides": [{"name": "own", "memory": 200}]}))
        .unwrap();
        let limits: Vec<_> = t
            .container_definitions
            .iter()
            .map(|c| hard_limit_mib(&t, c, Some(&over)))
            .collect();
        assert_eq!(limits, [Some(200), Some(300), Some(300)]);
    }

    #[test]
    fn memory_above_the_machine_is_refused() {
        let t = td(
            json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": "4096 GiB"}]}),
        );
        let found = check(&t, None, Some(MACHINE));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "spec.containerDefinitions[0].memory");
        assert!(found[0].1.contains("4194304 MiB") && found[0].1.contains("8192 MiB"));
        assert!(
            check(&t, None, None).is_empty(),
            "unknown machine: checked at start"
        );
        let task =
            td(json!({"memory": 9000, "containerDefinitions": [{"name": "a", "image": "x"}]}));
        assert_eq!(check(&task, None, Some(MACHINE))[0].0, "spec.memory");
        let fits =
            td(json!({"memory": 8192, "containerDefinitions": [{"name": "a", "image": "x"}]}));
        assert!(check(&fits, None, Some(MACHINE)).is_empty());
    }

    #[test]
    fn shm_and_tmpfs_stay_within_the_limit() {
        let t = td(
            json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 256,
            "linuxParameters": {"sharedMemorySize": 512, "tmpfs": [
                {"containerPath": "/t", "size": 256}, {"containerPath": "/u", "size": 257}]}}]}),
        );
        let fields: Vec<_> = check(&t, None, None).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "spec.containerDefinitions[0].linuxParameters.sharedMemorySize",
                "spec.containerDefinitions[0].linuxParameters.tmpfs[1].size"
            ]
        );
        let soft = td(
            json!({"containerDefinitions": [{"name": "a", "image": "x", "memoryReservation": 8,
            "linuxParameters": {"sharedMemorySize": 9000}}]}),
        );
        assert_eq!(
            check(&soft, None, None),
            vec![],
            "no limit, no machine: nothing to compare"
        );
        assert_eq!(
            check(&soft, None, Some(MACHINE)).len(),
            1,
            "the machine is the ceiling"
        );
    }
}
