//! Task placement over many container instances, as ECS does it for the EC2 launch type.
//! Pure: the caller describes the instances ([`Node`]) and what to place ([`Ask`]); [`place`]
//! picks an instance per task and counts each task on its instance at once, so the next task
//! of the same call sees it.
//!
//! For each task, as ECS's guide describes the process:
//! 1. keep the instances that can take it: schedulable (ACTIVE, agent connected), enough
//!    unreserved CPU and memory, none of its fixed host ports taken;
//! 2. of those, keep the ones that meet every constraint of the task definition and of the
//!    service or run-task call: `distinctInstance` (no other task of the group there) and
//!    each `memberOf` expression ([`api::placement::Expr`]);
//! 3. order the rest by the placement strategies, each a tie-breaker for the one before:
//!    `binpack` on cpu or memory (least of it left first), `spread` on `instanceId`/`host`
//!    (fewest tasks of the group) or `attribute:NAME` (the attribute value whose instances
//!    hold the fewest tasks of the group; instances without the attribute are one more
//!    value), `random`. With no strategy, ECS's service default: spread on
//!    `attribute:ecs.availability-zone`, then on `instanceId`. Instances that tie on every
//!    strategy go in the order the caller gave them.
//!
//! A task that fits nowhere ends the call with ECS's reason, naming the closest miss (the
//! instance that passed the most of the checks above, in their order).
//!
//! Cost: each call does the per-instance work that does not change between its tasks once
//! (attribute lookups, constraint evaluation, port checks), then O(instances x strategies)
//! per task without allocating, so 10,000 tasks over 100 instances take a few milliseconds.

mod need;
mod reason;
mod strategy;
#[cfg(test)]
mod tests;

pub use need::{Capacity, Need, Needs, need};
pub use reason::{NO_INSTANCES, UNABLE};

use api::placement::{Expr, InstanceFacts, QueryError};
use api::service::{PlacementConstraint, PlacementConstraintType, PlacementStrategy};
use api::taskdef::{Protocol, TaskPlacementConstraint};
use std::collections::{BTreeMap, BTreeSet};

/// One container instance as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    /// Whether it takes new tasks; the error finishes ECS's sentence "The closest matching
    /// (container-instance ID) ...", e.g. `is DRAINING` or `encountered error "AGENT"`.
    pub schedulable: Result<(), String>,
    /// What `agentConnected` answers in a memberOf expression.
    pub agent_connected: bool,
    /// Registered CPU units and MiB.
    pub cpu: u64,
    pub memory: u64,
    /// Reserved by the tasks on it.
    pub used_cpu: u64,
    pub used_memory: u64,
    /// Host ports taken.
    pub ports: BTreeSet<(u16, Protocol)>,
    pub attributes: BTreeMap<String, String>,
    /// Tasks per group (`service:NAME`, `family:NAME`) running or placed on it.
    pub groups: BTreeMap<String, u32>,
    /// Tasks on it, of every group.
    pub tasks: u32,
}

impl Node {
    /// An empty, schedulable instance with a connected agent.
    pub fn new(id: impl Into<String>, cpu: u64, memory: u64) -> Self {
        Node {
            id: id.into(),
            schedulable: Ok(()),
            agent_connected: true,
            cpu,
            memory,
            used_cpu: 0,
            used_memory: 0,
            ports: BTreeSet::new(),
            attributes: BTreeMap::new(),
            groups: BTreeMap::new(),
            tasks: 0,
        }
    }

    /// Tasks of `group` on it.
    pub fn group_count(&self, group: &str) -> u32 {
        self.groups.get(group).copied().unwrap_or(0)
    }
}

/// What to place: `count` tasks of one group, each reserving `need`.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub need: &'a Need,
    pub group: &'a str,
    /// The task definition's and the service's (or run-task's) constraints together.
    pub constraints: &'a [Constraint],
    /// In order; empty means ECS's default for services.
    pub strategies: &'a [PlacementStrategy],
    pub count: u32,
}

/// A placement constraint, its expression parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    DistinctInstance,
    MemberOf(Expr),
}

/// The outcome of [`place`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The instance id of each placed task, in order.
    pub chosen: Vec<String>,
    /// Why the rest could not be placed (None when every task was).
    pub reason: Option<String>,
}

/// A constraint that cannot be applied (validation refuses these at apply; an object
/// stored before that rule existed can still carry one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    #[error("{field}: memberOf needs an expression")]
    MissingExpression { field: String },
    #[error("{field}: distinctInstance takes no expression")]
    UnexpectedExpression { field: String },
    #[error("{field}: {source}")]
    Query {
        field: String,
        #[source]
        source: QueryError,
    },
}

/// The constraints of a task definition and of a service (or run-task call), parsed; the
/// errors name the field (`taskDefinition.placementConstraints[0].expression`).
pub fn constraints(
    task_definition: &[TaskPlacementConstraint],
    service: &[PlacementConstraint],
) -> Result<Vec<Constraint>, ConstraintError> {
    let member_of = |e: Option<&String>, field: String| {
        let Some(e) = e else {
            return Err(ConstraintError::MissingExpression { field });
        };
        Expr::parse(e)
            .map(Constraint::MemberOf)
            .map_err(|source| ConstraintError::Query {
                field: format!("{field}.expression"),
                source,
            })
    };
    let from_td = task_definition.iter().enumerate().map(|(i, c)| {
        member_of(
            c.expression.as_ref(),
            format!("taskDefinition.placementConstraints[{i}]"),
        )
    });
    let from_service = service.iter().enumerate().map(|(i, c)| {
        let field = format!("placementConstraints[{i}]");
        match c.constraint_type {
            PlacementConstraintType::MemberOf => member_of(c.expression.as_ref(), field),
            PlacementConstraintType::DistinctInstance if c.expression.is_some() => {
                Err(ConstraintError::UnexpectedExpression {
                    field: format!("{field}.expression"),
                })
            }
            PlacementConstraintType::DistinctInstance => Ok(Constraint::DistinctInstance),
        }
    });
    from_td.chain(from_service).collect()
}

/// How many of `nodes` a DAEMON service runs a task on: those that take tasks and meet every
/// memberOf constraint (whether the task fits is placement's to say, as ECS's daemon
/// scheduler reports an instance it cannot place on).
pub fn eligible(nodes: &[Node], constraints: &[Constraint]) -> usize {
    nodes
        .iter()
        .filter(|n| n.schedulable.is_ok())
        .filter(|n| {
            constraints.iter().all(|c| match c {
                Constraint::MemberOf(e) => e.matches(&Facts(n)),
                Constraint::DistinctInstance => true,
            })
        })
        .count()
}

/// A node as a memberOf expression sees it (its group counts include the tasks this call
/// placed: `place` counts each one on its node at once).
struct Facts<'a>(&'a Node);

impl InstanceFacts for Facts<'_> {
    fn id(&self) -> &str {
        &self.0.id
    }
    fn attribute(&self, name: &str) -> Option<&str> {
        self.0.attributes.get(name).map(String::as_str)
    }
    fn runs_group(&self, group: &str) -> bool {
        self.0.group_count(group) > 0
    }
    fn agent_connected(&self) -> bool {
        self.0.agent_connected
    }
}

/// What one call keeps per node between its tasks.
struct State<'a> {
    ask: &'a Ask<'a>,
    distinct: bool,
    member_of: Vec<&'a Expr>,
    /// Whether a memberOf answer can change as tasks of the group are placed.
    regroup: bool,
    /// Tasks of the asked group per node.
    mine: Vec<u32>,
    /// Every memberOf expression holds.
    member: Vec<bool>,
    /// None of the task's host ports is taken.
    ports_free: Vec<bool>,
}

impl State<'_> {
    fn member_of(&self, node: &Node) -> bool {
        self.member_of.iter().all(|e| e.matches(&Facts(node)))
    }

    /// Whether node `i` takes one more task now.
    fn fits(&self, i: usize, n: &Node) -> bool {
        let need = self.ask.need;
        n.schedulable.is_ok()
            && n.cpu.saturating_sub(n.used_cpu) >= need.cpu
            && n.memory.saturating_sub(n.used_memory) >= need.memory
            && self.ports_free[i]
            && !(self.distinct && self.mine[i] > 0)
            && self.member[i]
    }
}

/// Places up to `ask.count` tasks (see the module doc), updating each chosen node's
/// reservations, ports, group counts and task count. `rng` is called only for the `random`
/// strategy, so the outcome is a function of the inputs and what `rng` returns.
pub fn place(nodes: &mut [Node], ask: &Ask, rng: &mut dyn FnMut() -> u64) -> Placement {
    // Bounded: a count far beyond what the nodes can hold must not allocate up front.
    let mut chosen = Vec::with_capacity((ask.count as usize).min(4096));
    if ask.count == 0 {
        return Placement {
            chosen,
            reason: None,
        };
    }
    if nodes.is_empty() {
        return Placement {
            chosen,
            reason: Some(reason::NO_INSTANCES.to_string()),
        };
    }
    let member_of: Vec<&Expr> = ask
        .constraints
        .iter()
        .filter_map(|c| match c {
            Constraint::MemberOf(e) => Some(e),
            Constraint::DistinctInstance => None,
        })
        .collect();
    let mine: Vec<u32> = nodes.iter().map(|n| n.group_count(ask.group)).collect();
    let mut st = State {
        ask,
        distinct: ask.constraints.contains(&Constraint::DistinctInstance),
        regroup: member_of.iter().any(|e| e.uses_task_groups()),
        member: Vec::new(),
        ports_free: nodes
            .iter()
            .map(|n| ask.need.ports.is_disjoint(&n.ports))
            .collect(),
        member_of,
        mine,
    };
    st.member = nodes.iter().map(|n| st.member_of(n)).collect();
    let mut order = strategy::Order::new(ask.strategies, nodes, &st.mine);
    let mut reason = None;
    for _ in 0..ask.count {
        order.draw(rng);
        let mut best: Option<usize> = None;
        for (i, n) in nodes.iter().enumerate() {
            if st.fits(i, n) && best.is_none_or(|b| order.before(i, b, nodes, &st.mine)) {
                best = Some(i);
            }
        }
        let Some(i) = best else {
            reason = Some(reason::closest_miss(nodes, &st));
            break;
        };
        let n = &mut nodes[i];
        n.used_cpu += ask.need.cpu;
        n.used_memory += ask.need.memory;
        n.tasks += 1;
        if !ask.need.ports.is_empty() {
            n.ports.extend(ask.need.ports.iter().copied());
            st.ports_free[i] = false;
        }
        match n.groups.get_mut(ask.group) {
            Some(c) => *c += 1,
            None => {
                n.groups.insert(ask.group.to_string(), 1);
            }
        }
        st.mine[i] += 1;
        order.placed(i);
        if st.regroup {
            st.member[i] = st.member_of(&nodes[i]);
        }
        chosen.push(nodes[i].id.clone());
    }
    Placement { chosen, reason }
}
