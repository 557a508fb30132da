//! The order of placement strategies: for two candidate nodes, which comes first. Each key is
//! "lower is better", and a later strategy only breaks the ties of the ones before it.

use super::Node;
use api::service::{PlacementStrategy, PlacementStrategyType};
use std::collections::BTreeMap;

/// ECS's default for services: spread over availability zones, then over instances.
const DEFAULT_ZONE: &str = "ecs.availability-zone";

enum Key {
    /// CPU units left.
    BinpackCpu,
    /// MiB left.
    BinpackMemory,
    /// Tasks of the group on the node.
    SpreadInstance,
    /// Tasks of the group on every node sharing the node's attribute value.
    SpreadValue {
        /// Per node: its value's index (nodes without the attribute share one).
        value_of: Vec<usize>,
        /// Per value: the group's tasks on its nodes.
        tasks: Vec<u32>,
    },
    /// A fresh draw per node per task.
    Random,
}

pub(super) struct Order {
    keys: Vec<Key>,
    /// Per node, this task's draw (empty unless a strategy is random).
    draws: Vec<u64>,
}

impl Order {
    /// The keys of `strategies` (ECS's default when empty), with what they need per node
    /// worked out once. A field validation would refuse is skipped.
    pub(super) fn new(strategies: &[PlacementStrategy], nodes: &[Node], mine: &[u32]) -> Self {
        let default = [
            (
                PlacementStrategyType::Spread,
                Some(format!("attribute:{DEFAULT_ZONE}")),
            ),
            (
                PlacementStrategyType::Spread,
                Some("instanceId".to_string()),
            ),
        ];
        let given = strategies
            .iter()
            .map(|s| (s.strategy_type, s.field.clone()));
        let list: Vec<_> = if strategies.is_empty() {
            default.into_iter().collect()
        } else {
            given.collect()
        };
        let keys: Vec<Key> = list
            .into_iter()
            .filter_map(|(t, field)| match (t, field.as_deref()) {
                (PlacementStrategyType::Random, _) => Some(Key::Random),
                (PlacementStrategyType::Binpack, Some("cpu")) => Some(Key::BinpackCpu),
                (PlacementStrategyType::Binpack, Some("memory")) => Some(Key::BinpackMemory),
                (PlacementStrategyType::Spread, Some("instanceId" | "host")) => {
                    Some(Key::SpreadInstance)
                }
                (PlacementStrategyType::Spread, Some(f)) => {
                    spread_on(f.strip_prefix("attribute:")?, nodes, mine)
                }
                _ => None,
            })
            .collect();
        let random = keys.iter().any(|k| matches!(k, Key::Random));
        Order {
            keys,
            draws: if random {
                vec![0; nodes.len()]
            } else {
                Vec::new()
            },
        }
    }

    /// New random draws for the next task (nothing when no strategy is random).
    pub(super) fn draw(&mut self, rng: &mut dyn FnMut() -> u64) {
        for d in &mut self.draws {
            *d = rng();
        }
    }

    /// Whether node `a` goes before node `b`.
    pub(super) fn before(&self, a: usize, b: usize, nodes: &[Node], mine: &[u32]) -> bool {
        for k in &self.keys {
            let score = |i: usize| -> u64 {
                let n = &nodes[i];
                match k {
                    Key::BinpackCpu => n.cpu.saturating_sub(n.used_cpu),
                    Key::BinpackMemory => n.memory.saturating_sub(n.used_memory),
                    Key::SpreadInstance => u64::from(mine[i]),
                    Key::SpreadValue { value_of, tasks } => u64::from(tasks[value_of[i]]),
                    Key::Random => self.draws[i],
                }
            };
            let (x, y) = (score(a), score(b));
            if x != y {
                return x < y;
            }
        }
        false
    }

    /// Counts a task placed on node `i`.
    pub(super) fn placed(&mut self, i: usize) {
        for k in &mut self.keys {
            if let Key::SpreadValue { value_of, tasks } = k {
                tasks[value_of[i]] += 1;
            }
        }
    }
}

/// Spread on an attribute: each node's value, and the group's tasks per value over every
/// node given (an instance that cannot take the task still counts for its zone). None when
/// every node has the same value: the key could never break a tie.
fn spread_on(attribute: &str, nodes: &[Node], mine: &[u32]) -> Option<Key> {
    let mut index: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    let value_of: Vec<usize> = nodes
        .iter()
        .map(|n| {
            let v = n.attributes.get(attribute).map(String::as_str);
            let next = index.len();
            *index.entry(v).or_insert(next)
        })
        .collect();
    if index.len() < 2 {
        return None;
    }
    let mut tasks = vec![0; index.len()];
    for (v, m) in value_of.iter().zip(mine) {
        tasks[*v] += m;
    }
    Some(Key::SpreadValue { value_of, tasks })
}
