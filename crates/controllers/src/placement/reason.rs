//! Why a task could not be placed, in the words of ECS's service events. The caller puts
//! "service NAME was unable to place a task because " before it.

use super::{Node, State};

/// Every reason starts so.
pub const UNABLE: &str = "no container instance met all of its requirements.";
/// No container instance at all.
pub const NO_INSTANCES: &str = "no container instance met all of its requirements. Reason: No Container Instances were found in your cluster.";

/// How far a node got through the checks, in their order: the later the check it failed,
/// the closer the miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Miss {
    Unschedulable,
    Cpu,
    Memory,
    Port,
    DistinctInstance,
    MemberOf,
}

/// The first check node `i` fails (None if it fits).
fn miss(i: usize, n: &Node, st: &State) -> Option<Miss> {
    let need = st.ask.need;
    Some(if n.schedulable.is_err() {
        Miss::Unschedulable
    } else if n.cpu.saturating_sub(n.used_cpu) < need.cpu {
        Miss::Cpu
    } else if n.memory.saturating_sub(n.used_memory) < need.memory {
        Miss::Memory
    } else if !st.ports_free[i] {
        Miss::Port
    } else if st.distinct && st.mine[i] > 0 {
        Miss::DistinctInstance
    } else if !st.member[i] {
        Miss::MemberOf
    } else {
        return None;
    })
}

/// ECS's sentence for the node that came closest: the latest check failed; among nodes
/// short of the same resource, the one with the most of it left; else the first given.
pub(super) fn closest_miss(nodes: &[Node], st: &State) -> String {
    let closest = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let m = miss(i, n, st)?;
            let left = match m {
                Miss::Cpu => n.cpu.saturating_sub(n.used_cpu),
                Miss::Memory => n.memory.saturating_sub(n.used_memory),
                _ => 0,
            };
            // max_by_key keeps the last of equals: the reversed index makes it the first.
            Some(((m, left, std::cmp::Reverse(i)), m, n))
        })
        .max_by_key(|(rank, ..)| *rank);
    let Some((_, m, n)) = closest else {
        return if nodes.is_empty() {
            NO_INSTANCES.to_string()
        } else {
            UNABLE.to_string()
        };
    };
    let what = match m {
        Miss::Unschedulable => {
            let why = n.schedulable.as_ref().err().map_or("", String::as_str);
            if why.ends_with('.') {
                why.to_string()
            } else {
                format!("{why}.")
            }
        }
        Miss::Cpu => "has insufficient CPU units available.".into(),
        Miss::Memory => "has insufficient memory available.".into(),
        Miss::Port => "is already using a port required by your task.".into(),
        Miss::DistinctInstance => {
            "encountered error \"DistinctInstance placement constraint unsatisfied.\".".into()
        }
        Miss::MemberOf => {
            "encountered error \"MemberOf placement constraint unsatisfied.\".".into()
        }
    };
    format!(
        "{UNABLE} The closest matching (container-instance {}) {what}",
        n.id
    )
}
