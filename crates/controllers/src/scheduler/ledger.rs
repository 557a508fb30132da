//! What placement needs to know, kept in memory so that placing a task reads nothing from
//! the store: the container instances (resources, attributes, whether they take tasks) and
//! what each task placed on them reserves. Fed by the service controller's watch (rebuilt
//! on every full pass) and told at once about every task placed, so that two services (or
//! a service and a run-task) placing at the same moment cannot both take the last free
//! memory of an instance.

use crate::placement::{self, Ask, Node, Placement};
use crate::placement::{Capacity, Need, Needs};
use api::instance::{ContainerInstanceSpec, ContainerInstanceStatus};
use api::task::{TaskSpec, TaskStatus};
use api::taskdef::{Protocol, TaskDefinitionSpec};
use api::{Kind, Object, ObjectKey};
use std::collections::{BTreeMap, HashMap};
use store::{ListQuery, Store};

/// One container instance, as far as placement goes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Instance {
    cluster: String,
    draining: bool,
    connected: bool,
    /// Registered CPU units and MiB (0 until its agent first reports).
    cpu: u64,
    memory: u64,
    attributes: BTreeMap<String, String>,
}

/// What one task takes, and where.
#[derive(Debug, Clone)]
struct Reservation {
    cluster: String,
    instance: String,
    group: String,
    need: Need,
}

/// What the tasks of one cluster reserve on one instance, summed: kept as reservations come
/// and go, so that describing an instance to placement does not walk every task.
#[derive(Debug, Clone, Default)]
struct Usage {
    cpu: u64,
    memory: u64,
    ports: BTreeMap<(u16, Protocol), u32>,
    groups: BTreeMap<String, u32>,
    tasks: u32,
}

impl Usage {
    fn add(&mut self, r: &Reservation) {
        self.cpu += r.need.cpu;
        self.memory += r.need.memory;
        for p in &r.need.ports {
            *self.ports.entry(*p).or_default() += 1;
        }
        *self.groups.entry(r.group.clone()).or_default() += 1;
        self.tasks += 1;
    }

    fn remove(&mut self, r: &Reservation) {
        self.cpu = self.cpu.saturating_sub(r.need.cpu);
        self.memory = self.memory.saturating_sub(r.need.memory);
        for p in &r.need.ports {
            decrement(&mut self.ports, p);
        }
        decrement(&mut self.groups, &r.group);
        self.tasks = self.tasks.saturating_sub(1);
    }
}

fn decrement<K: Ord + Clone>(counts: &mut BTreeMap<K, u32>, key: &K) {
    if let Some(n) = counts.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(key);
        }
    }
}

/// The instances and the reservations of the tasks placed on them (not STOPPED).
#[derive(Debug, Default)]
pub struct Ledger {
    /// By instance id (ids are unique: an agent's is random, kept in its data directory).
    instances: BTreeMap<String, Instance>,
    tasks: HashMap<ObjectKey, Reservation>,
    /// The reservations summed by instance, then by cluster.
    usage: HashMap<String, HashMap<String, Usage>>,
    /// What each task definition revision reserves (cached: revisions are immutable).
    needs: Needs,
    /// The server's own instance: it takes the tasks of every cluster without instances of
    /// its own (as a single machine always did).
    local: Option<String>,
}

impl Ledger {
    /// A ledger whose server has an instance of its own, `id`.
    pub fn with_local(id: &str) -> Self {
        Ledger {
            local: Some(id.to_string()),
            ..Ledger::default()
        }
    }

    /// Records an instance as its object says now; `true` when that changes where tasks
    /// can go (a new instance, one drained or back, resources or attributes changed).
    pub fn observe_instance(&mut self, obj: &Object) -> bool {
        let spec: ContainerInstanceSpec = obj.spec_as().unwrap_or_default();
        let status: ContainerInstanceStatus = obj.status_as().unwrap_or_default();
        let seen = Instance {
            cluster: obj.metadata.cluster_or_default().to_string(),
            draining: spec.draining,
            connected: status.agent_connected,
            cpu: status.registered_resources.cpu,
            memory: status.registered_resources.memory,
            attributes: status.attributes,
        };
        self.instances
            .insert(obj.metadata.name.clone(), seen.clone())
            != Some(seen)
    }

    /// Whether `instance` is DRAINING, as last seen (an unknown one is not): its service
    /// tasks are replaced elsewhere.
    pub fn is_draining(&self, instance: &str) -> bool {
        self.instances.get(instance).is_some_and(|i| i.draining)
    }

    /// Forgets a deregistered instance.
    pub fn forget_instance(&mut self, id: &str) {
        self.instances.remove(id);
    }

    /// The reservation of a task definition revision.
    fn need_of(&mut self, store: &dyn Store, td: &str) -> Option<Need> {
        if let Some(n) = self.needs.cached(td) {
            return n;
        }
        let spec = store
            .get(&ObjectKey::new(Kind::TaskDefinition, None, td))
            .ok()
            .flatten()
            .and_then(|o| o.spec_as::<TaskDefinitionSpec>().ok());
        self.needs.remember(td, spec.as_ref())
    }

    /// Records (or, once STOPPED, forgets) one task. A task not placed yet keeps the
    /// reservation [`Ledger::place`] made for it until its binding is written.
    pub fn observe(&mut self, store: &dyn Store, task: &Object) {
        let key = task.key();
        let status: TaskStatus = task.status_as().unwrap_or_default();
        let Ok(spec) = task.spec_as::<TaskSpec>() else {
            return;
        };
        if status.last_status.is_terminal() {
            self.release(&key);
            return;
        }
        let Some(instance) = spec.bound_instance(&status).map(str::to_string) else {
            return;
        };
        let td = Some(status.task_definition)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| spec.task_definition.clone());
        if let Some(need) = self.need_of(store, &td) {
            let reservation = Reservation {
                cluster: task.metadata.cluster_or_default().to_string(),
                instance,
                group: group_of(&spec),
                need,
            };
            self.reserve(key, reservation);
        }
    }

    /// Forgets a deleted task.
    pub fn forget(&mut self, key: &ObjectKey) {
        self.release(key);
    }

    /// Counts a task's reservation (replacing what it had).
    fn reserve(&mut self, key: ObjectKey, r: Reservation) {
        self.release(&key);
        self.usage
            .entry(r.instance.clone())
            .or_default()
            .entry(r.cluster.clone())
            .or_default()
            .add(&r);
        self.tasks.insert(key, r);
    }

    /// Stops counting a task's reservation.
    fn release(&mut self, key: &ObjectKey) {
        if let Some(r) = self.tasks.remove(key)
            && let Some(u) = self
                .usage
                .get_mut(&r.instance)
                .and_then(|by_cluster| by_cluster.get_mut(&r.cluster))
        {
            u.remove(&r);
        }
    }

    /// Rebuilds from every instance and task in the store.
    pub fn rebuild(&mut self, store: &dyn Store) {
        let (Ok(instances), Ok(tasks)) = (
            store.list(&ListQuery::new(Kind::ContainerInstance)),
            store.list(&ListQuery::new(Kind::Task)),
        ) else {
            return;
        };
        self.instances.clear();
        for i in &instances.items {
            self.observe_instance(i);
        }
        self.tasks.clear();
        self.usage.clear();
        for t in &tasks.items {
            self.observe(store, t);
        }
    }

    /// The instances `cluster`'s tasks may go to, as placement sees them: the cluster's own,
    /// else the server's instance (with the cluster's declared capacity, if any, as what
    /// it offers the cluster, and only the cluster's tasks counted against it).
    pub fn nodes(&self, cluster: &str, declared: Option<Capacity>) -> Vec<Node> {
        self.nodes_counting(cluster, declared, None)
    }

    /// [`Ledger::nodes`], counting only the tasks of `group` per group when given (what a
    /// placement needs unless an expression asks about other groups: with 1,000 services
    /// on 100 instances, copying every group's count cost more than placing).
    fn nodes_counting(
        &self,
        cluster: &str,
        declared: Option<Capacity>,
        group: Option<&str>,
    ) -> Vec<Node> {
        let own: Vec<(&String, &Instance)> = self
            .instances
            .iter()
            .filter(|(_, i)| i.cluster == cluster)
            .filter(|(id, _)| self.local.as_ref() != Some(*id) || declared.is_none())
            .collect();
        if !own.is_empty() {
            return own
                .into_iter()
                .map(|(id, i)| self.node(id, i, None, group))
                .collect();
        }
        let Some(id) = &self.local else {
            return Vec::new();
        };
        // Known before its object is first seen: this machine, taking tasks.
        let unseen = Instance {
            cluster: api::DEFAULT_CLUSTER.to_string(),
            draining: false,
            connected: true,
            cpu: 0,
            memory: 0,
            attributes: BTreeMap::new(),
        };
        let local = self.instances.get(id).unwrap_or(&unseen);
        vec![self.node(id, local, declared.map(|c| (c, cluster)), group)]
    }

    /// One instance as a placement node; `share`: the capacity a cluster declared on the
    /// server's instance, against which only that cluster's tasks count.
    fn node(
        &self,
        id: &str,
        i: &Instance,
        share: Option<(Capacity, &str)>,
        group: Option<&str>,
    ) -> Node {
        let local = self.local.as_deref() == Some(id);
        // The server's own machine is known before its first report.
        let (cpu, memory) = match share {
            Some((c, _)) => (c.cpu, c.memory),
            None if local && i.cpu == 0 => {
                let c = Capacity::local();
                (c.cpu, c.memory)
            }
            None => (i.cpu, i.memory),
        };
        let mut node = Node::new(id, cpu, memory);
        node.schedulable = if i.draining {
            Err("is DRAINING".to_string())
        } else if !i.connected && !local {
            Err("has no connected agent".to_string())
        } else if cpu == 0 && memory == 0 {
            Err("has not reported its resources yet".to_string())
        } else {
            Ok(())
        };
        node.agent_connected = i.connected || local;
        node.attributes = i.attributes.clone();
        let by_cluster = self.usage.get(id).into_iter().flatten();
        for (_, u) in by_cluster.filter(|(c, _)| share.is_none_or(|(_, s)| s == c.as_str())) {
            node.used_cpu += u.cpu;
            node.used_memory += u.memory;
            node.ports.extend(u.ports.keys().copied());
            match group {
                Some(g) => {
                    if let Some(n) = u.groups.get(g) {
                        *node.groups.entry(g.to_string()).or_default() += n;
                    }
                }
                None => {
                    for (g, n) in &u.groups {
                        *node.groups.entry(g.clone()).or_default() += n;
                    }
                }
            }
            node.tasks += u.tasks;
        }
        node
    }

    /// The instances of `cluster` a DAEMON service with `constraints` runs a task on.
    pub fn daemon_instances(
        &self,
        cluster: &str,
        declared: Option<Capacity>,
        constraints: &[placement::Constraint],
    ) -> u32 {
        let nodes = self.nodes_counting(cluster, declared, Some(""));
        u32::try_from(placement::eligible(&nodes, constraints)).unwrap_or(u32::MAX)
    }

    /// Places `ask.count` tasks of `cluster`. With `keys` (one per task, as many as asked),
    /// each placed task is counted at once under its key; a key already placed keeps its
    /// instance. Without, nothing is recorded (how many would fit, and why not more).
    pub fn place(
        &mut self,
        cluster: &str,
        declared: Option<Capacity>,
        ask: &Ask,
        keys: Option<&[ObjectKey]>,
        rng: &mut dyn FnMut() -> u64,
    ) -> Placement {
        if let Some([key]) = keys
            && let Some(r) = self.tasks.get(key)
        {
            return Placement {
                chosen: vec![r.instance.clone()],
                reason: None,
            };
        }
        let other_groups = ask.constraints.iter().any(|c| match c {
            placement::Constraint::MemberOf(e) => e.uses_task_groups(),
            placement::Constraint::DistinctInstance => false,
        });
        let mut nodes =
            self.nodes_counting(cluster, declared, (!other_groups).then_some(ask.group));
        if nodes.is_empty() {
            return Placement {
                chosen: Vec::new(),
                reason: Some(placement::NO_INSTANCES.to_string()),
            };
        }
        let placed = placement::place(&mut nodes, ask, rng);
        for (key, instance) in keys.unwrap_or_default().iter().zip(&placed.chosen) {
            let reservation = Reservation {
                cluster: cluster.to_string(),
                instance: instance.clone(),
                group: ask.group.to_string(),
                need: ask.need.clone(),
            };
            self.reserve(key.clone(), reservation);
        }
        placed
    }
}

/// A task's placement group: its `group` (a service's tasks: `service:NAME`), else ECS's
/// default for run-task, `family:FAMILY`.
pub fn group_of(spec: &TaskSpec) -> String {
    spec.group.clone().unwrap_or_else(|| {
        let family = spec.task_definition.split(':').next().unwrap_or_default();
        format!("family:{family}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn instance(id: &str, cluster: &str, draining: bool, connected: bool) -> Object {
        let mut o = Object::new(Kind::ContainerInstance, id, json!({"draining": draining}));
        o.metadata.cluster = Some(cluster.into());
        o.status = json!({"status": "ACTIVE", "agentConnected": connected,
            "registeredResources": {"cpu": 1024, "memory": 1000},
            "remainingResources": {"cpu": 1024, "memory": 1000},
            "attributes": {"stack": "prod"}});
        o
    }

    fn ask(need: &Need, count: u32) -> Ask<'_> {
        Ask {
            need,
            group: "service:web",
            constraints: &[],
            strategies: &[],
            count,
        }
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey::new(Kind::Task, Some("shop"), name)
    }

    #[test]
    fn reservations_count_where_they_are_placed_until_forgotten() {
        let mut l = Ledger::default();
        assert!(l.observe_instance(&instance("a", "shop", false, true)));
        assert!(
            !l.observe_instance(&instance("a", "shop", false, true)),
            "no change"
        );
        l.observe_instance(&instance("b", "shop", true, true));
        l.observe_instance(&instance("c", "shop", false, false));
        let need = Need {
            cpu: 0,
            memory: 400,
            ports: Default::default(),
        };
        let mut rng = || 0;
        let keys = [key("t1"), key("t2"), key("t3")];
        let placed = l.place("shop", None, &ask(&need, 3), Some(&keys), &mut rng);
        // Only a takes tasks (b drains, c has no agent): two of 400 MiB fit in 1000.
        assert_eq!(placed.chosen, ["a", "a"], "{:?}", placed.reason);
        let why = placed.reason.unwrap();
        assert!(why.contains("insufficient memory"), "{why}");
        let a = &l.nodes("shop", None)[0];
        assert_eq!((a.id.as_str(), a.used_memory, a.tasks), ("a", 800, 2));
        assert_eq!(a.group_count("service:web"), 2);
        // Placing a placed task again keeps its place.
        let again = l.place("shop", None, &ask(&need, 1), Some(&keys[..1]), &mut rng);
        assert_eq!(again.chosen, ["a"]);
        l.forget(&keys[0]);
        let a = &l.nodes("shop", None)[0];
        assert_eq!((a.used_memory, a.tasks), (400, 1));
        assert!(a.groups.get("service:web") == Some(&1));
        let unschedulable: Vec<_> = l
            .nodes("shop", None)
            .into_iter()
            .filter_map(|n| n.schedulable.err())
            .collect();
        assert_eq!(unschedulable, ["is DRAINING", "has no connected agent"]);
    }

    #[test]
    fn a_cluster_without_instances_uses_the_servers_own_with_its_declared_share() {
        let mut l = Ledger::with_local("local");
        l.observe_instance(&instance("local", "default", false, true));
        l.observe_instance(&instance("a", "shop", false, true));
        assert_eq!(l.nodes("shop", None)[0].id, "a", "shop has its own");
        let need = Need {
            cpu: 0,
            memory: 300,
            ports: Default::default(),
        };
        let mut rng = || 0;
        let dev = |n: &str| ObjectKey::new(Kind::Task, Some("dev"), n);
        let share = Capacity {
            cpu: 1024,
            memory: 500,
        };
        let placed = l.place(
            "dev",
            Some(share),
            &ask(&need, 2),
            Some(&[dev("x"), dev("y")]),
            &mut rng,
        );
        assert_eq!(
            placed.chosen,
            ["local"],
            "500 MiB declared: one task of 300"
        );
        // The share counts only its own cluster's tasks; the whole instance counts all.
        assert_eq!(l.nodes("other", Some(share))[0].used_memory, 0);
        assert_eq!(l.nodes("default", None)[0].used_memory, 300);
        assert!(Ledger::default().nodes("dev", None).is_empty());
    }
}
