//! What placement needs to know, kept in memory so that placing a task reads nothing from
//! the store: the container instances (resources, attributes, whether they take tasks) and
//! what each task placed on them reserves. Fed by the service controller's watch (rebuilt
//! on every full pass) and told at once about every task placed, so that two services (or
//! a service and a run-task) placing at the same moment cannot both take the last free
//! memory of an instance.

use crate::placement::{self, Ask, Node, Placement};
use crate::service::placement::{Capacity, Need, need};
use api::instance::{ContainerInstanceSpec, ContainerInstanceStatus};
use api::task::{TaskSpec, TaskStatus};
use api::taskdef::TaskDefinitionSpec;
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

/// The instances and the reservations of the tasks placed on them (not STOPPED).
#[derive(Debug, Default)]
pub struct Ledger {
    /// By instance id (ids are unique: an agent's is random, kept in its data directory).
    instances: BTreeMap<String, Instance>,
    tasks: HashMap<ObjectKey, Reservation>,
    /// What each task definition revision reserves (cached: revisions are immutable).
    needs: HashMap<String, Option<Need>>,
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
        self.needs
            .entry(td.to_string())
            .or_insert_with(|| {
                let o = store
                    .get(&ObjectKey::new(Kind::TaskDefinition, None, td))
                    .ok()
                    .flatten()?;
                o.spec_as::<TaskDefinitionSpec>().ok().map(|s| need(&s))
            })
            .clone()
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
            self.tasks.remove(&key);
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
            self.tasks.insert(key, reservation);
        }
    }

    /// Forgets a deleted task.
    pub fn forget(&mut self, key: &ObjectKey) {
        self.tasks.remove(key);
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
        for t in &tasks.items {
            self.observe(store, t);
        }
    }

    /// The instances `cluster`'s tasks may go to, as placement sees them: the cluster's own,
    /// else the server's instance (with the cluster's declared capacity, if any, as what
    /// it offers the cluster, and only the cluster's tasks counted against it).
    pub fn nodes(&self, cluster: &str, declared: Option<Capacity>) -> Vec<Node> {
        let own: Vec<(&String, &Instance)> = self
            .instances
            .iter()
            .filter(|(_, i)| i.cluster == cluster)
            .filter(|(id, _)| self.local.as_ref() != Some(*id) || declared.is_none())
            .collect();
        if !own.is_empty() {
            return own
                .into_iter()
                .map(|(id, i)| self.node(id, i, None))
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
        vec![self.node(id, local, declared.map(|c| (c, cluster)))]
    }

    /// One instance as a placement node; `share`: the capacity a cluster declared on the
    /// server's instance, against which only that cluster's tasks count.
    fn node(&self, id: &str, i: &Instance, share: Option<(Capacity, &str)>) -> Node {
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
        for r in self.tasks.values().filter(|r| r.instance == id) {
            if share.is_some_and(|(_, c)| c != r.cluster) {
                continue;
            }
            node.used_cpu += r.need.cpu;
            node.used_memory += r.need.memory;
            node.ports.extend(r.need.ports.iter().copied());
            *node.groups.entry(r.group.clone()).or_default() += 1;
            node.tasks += 1;
        }
        node
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
        let mut nodes = self.nodes(cluster, declared);
        if nodes.is_empty() {
            return Placement {
                chosen: Vec::new(),
                reason: Some(placement::NO_INSTANCES.to_string()),
            };
        }
        let placed = placement::place(&mut nodes, ask, rng);
        for (key, instance) in keys.unwrap_or_default().iter().zip(&placed.chosen) {
            self.tasks.insert(
                key.clone(),
                Reservation {
                    cluster: cluster.to_string(),
                    instance: instance.clone(),
                    group: ask.group.to_string(),
                    need: ask.need.clone(),
                },
            );
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
