//! Bounds on what one write may ask of the machine: memory limits within the machine,
//! `/dev/shm` and tmpfs within a container's limit, caps on tasks, and sizes checked on the
//! server ([`Rule::ResourceBounds`], [`Rule::SizeBounds`]). The task controller checks the
//! memory rules again at start, when the machine was not known at apply.

mod counts;
pub mod memory;
pub mod sizes;

use crate::batch::task_definition;
use crate::{Problem, Rule};
use api::cluster::ClusterSpec;
use api::task::TaskSpec;
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, Object};
use store::{Store, StoreError};

/// Default cap on the objects of one apply (or one sync of a directory): a thousand
/// Services and task definitions are far more than one machine runs; raise it with
/// `ecsctl server --max-objects-per-apply N`.
pub const DEFAULT_MAX_OBJECTS_PER_APPLY: usize = 1000;
/// The smallest pids limit a Cluster may set: a shell and a few processes.
pub const MIN_PIDS_LIMIT: u32 = 16;

/// What the container engine's host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// CPUs (1,024 CPU units each).
    pub cpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
}

impl Machine {
    /// CPU units of the machine (1,024 per CPU), as ECS counts a container instance's.
    pub fn cpu_units(&self) -> u64 {
        u64::from(self.cpus) * 1024
    }
}

/// The server operator's bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The machine, when the engine reported it at start; `None`: memory is checked against
    /// the machine when a task starts instead.
    pub machine: Option<Machine>,
    /// The most objects one apply may carry.
    pub max_objects_per_apply: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            machine: None,
            max_objects_per_apply: DEFAULT_MAX_OBJECTS_PER_APPLY,
        }
    }
}

/// Refuses a write of more objects than the server allows, before anything else looks at
/// them (naming the first object past the cap).
pub fn check_count(objects: &[Object], limits: &Limits) -> Option<Problem> {
    let extra = objects.get(limits.max_objects_per_apply)?;
    Some(Problem {
        object: extra.key(),
        rule: Rule::SizeBounds,
        message: format!(
            "this apply has {} objects, more than the server accepts at once ({}): apply fewer at a time, or an admin starts the server with --max-objects-per-apply N",
            objects.len(),
            limits.max_objects_per_apply
        ),
    })
}

/// Every bound the objects of one write exceed.
pub fn check_objects(
    store: &dyn Store,
    objects: &[Object],
    limits: &Limits,
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for o in objects {
        let mut push = |rule, (field, message): (String, String)| {
            problems.push(Problem {
                object: o.key(),
                rule,
                message: format!("{field}: {message}"),
            })
        };
        let oversized = sizes::check(o);
        let skip_contents = !oversized.is_empty();
        for p in oversized {
            push(Rule::SizeBounds, p);
        }
        if skip_contents {
            continue;
        }
        match o.kind {
            Kind::TaskDefinition => {
                if let Ok(td) = o.spec_as::<TaskDefinitionSpec>() {
                    for p in memory::check(&td, None, limits.machine) {
                        push(Rule::ResourceBounds, p);
                    }
                }
            }
            Kind::Task => {
                let overrides = o.spec_as::<TaskSpec>().ok().and_then(|t| t.overrides);
                if let Some(overrides) = overrides
                    && let Some(td) = task_definition(store, objects, o)?
                {
                    for p in memory::check(&td, Some(&overrides), limits.machine) {
                        push(Rule::ResourceBounds, p);
                    }
                }
            }
            Kind::Cluster => {
                if let Ok(spec) = o.spec_as::<ClusterSpec>() {
                    for p in check_cluster(&spec, limits.machine) {
                        push(Rule::ResourceBounds, p);
                    }
                }
            }
            _ => {}
        }
    }
    problems.extend(counts::check(store, objects)?);
    Ok(problems)
}

/// A Cluster's declared capacity at most what the machine has, and a sane pids limit.
pub fn check_cluster(spec: &ClusterSpec, machine: Option<Machine>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(pids) = spec.policy.as_ref().and_then(|p| p.pids_limit)
        && pids < MIN_PIDS_LIMIT
    {
        out.push((
            "spec.policy.pidsLimit".to_string(),
            format!("{pids} is too few processes to run a container (at least {MIN_PIDS_LIMIT})"),
        ));
    }
    let (Some(cap), Some(m)) = (&spec.capacity, machine) else {
        return out;
    };
    if let Some(cpu) = cap.cpu
        && u64::from(cpu.0) > m.cpu_units()
    {
        out.push((
            "spec.capacity.cpu".to_string(),
            format!(
                "{} CPU units is more than this machine has ({} CPUs = {} units): a Cluster cannot offer what does not exist",
                cpu.0,
                m.cpus,
                m.cpu_units()
            ),
        ));
    }
    if let Some(mem) = cap.memory
        && u64::from(mem.0) > m.memory_mib
    {
        out.push((
            "spec.capacity.memory".to_string(),
            format!(
                "{} MiB is more than this machine has ({} MiB): a Cluster cannot offer what does not exist",
                mem.0, m.memory_mib
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests;
