//! What the tasks on the container instance reserve, kept in memory so that placing a task
//! does not read every task in the store. Fed by the service controller's watch (and rebuilt
//! on every full pass), and told at once about the tasks the controller itself starts, so
//! two services placing at the same moment cannot both take the last free memory.
//!
//! A standalone task (run-task, kind Task) is counted once the task controller placed it
//! ([`Ledger::place`]) or once it left PROVISIONING, so that two standalone tasks waiting to
//! be placed do not each see the other and both give up.

use super::placement::{Need, need};
use api::task::{TaskSpec, TaskStatus};
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, Object, ObjectKey};
use std::collections::{HashMap, HashSet};
use store::{ListQuery, Store};

/// Reservations of the tasks that are not STOPPED, by task key.
#[derive(Debug, Default)]
pub struct Ledger {
    tasks: HashMap<ObjectKey, (String, Need)>,
    needs: HashMap<String, Option<Need>>,
    /// Standalone tasks placed while still PROVISIONING.
    placed: HashSet<ObjectKey>,
}

impl Ledger {
    /// The reservation of a task definition revision (cached: revisions are immutable).
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

    /// Records (or forgets, once STOPPED) one task.
    pub fn observe(&mut self, store: &dyn Store, task: &Object) {
        let key = task.key();
        let status = task.status_as::<TaskStatus>().ok();
        let stopped = status.as_ref().is_some_and(|s| s.last_status.is_terminal());
        let provisioning = status
            .as_ref()
            .is_none_or(|s| s.last_status == api::task::TaskPhase::Provisioning);
        let standalone = !task.metadata.labels.contains_key(runtime::labels::SERVICE);
        if standalone && provisioning && !stopped && !self.placed.contains(&key) {
            return; // not placed yet: the task controller places it
        }
        // The revision the task runs once resolved, else what its spec names.
        let td = status
            .map(|s| s.task_definition)
            .filter(|s| !s.is_empty())
            .or_else(|| task.spec_as::<TaskSpec>().ok().map(|s| s.task_definition));
        match (stopped, td) {
            (false, Some(td)) => {
                if let Some(n) = self.need_of(store, &td) {
                    self.tasks
                        .insert(key, (task.metadata.cluster_or_default().to_string(), n));
                }
            }
            _ => {
                self.tasks.remove(&key);
                self.placed.remove(&key);
            }
        }
    }

    /// Forgets a deleted task.
    pub fn forget(&mut self, key: &ObjectKey) {
        self.tasks.remove(key);
        self.placed.remove(key);
    }

    /// Places a standalone task: counts it if it fits next to what is placed (in its
    /// cluster when the cluster declares its capacity, else on the whole instance), or says
    /// why not. Placing a placed task again changes nothing.
    pub fn place(
        &mut self,
        key: &ObjectKey,
        cluster: &str,
        capacity: super::placement::Capacity,
        per_cluster: bool,
        task_need: &Need,
    ) -> Result<(), String> {
        if self.placed.contains(key) || self.tasks.contains_key(key) {
            return Ok(());
        }
        let used = self.used(per_cluster.then_some(cluster));
        match super::placement::placeable(capacity, &used, task_need, 1) {
            (1.., _) => {
                self.placed.insert(key.clone());
                self.tasks
                    .insert(key.clone(), (cluster.to_string(), task_need.clone()));
                Ok(())
            }
            (_, why) => Err(why.unwrap_or_else(|| "no room on the container instance".into())),
        }
    }

    /// Rebuilds from every task in the store.
    pub fn rebuild(&mut self, store: &dyn Store) {
        let Ok(list) = store.list(&ListQuery::new(Kind::Task)) else {
            return;
        };
        self.tasks.clear();
        let live: HashSet<ObjectKey> = list.items.iter().map(Object::key).collect();
        self.placed.retain(|k| live.contains(k));
        for t in &list.items {
            self.observe(store, t);
        }
    }

    /// The reservations in a cluster, or on the whole instance.
    pub fn used(&self, cluster: Option<&str>) -> Vec<Need> {
        self.tasks
            .values()
            .filter(|(c, _)| cluster.is_none_or(|x| x == c))
            .map(|(_, n)| n.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::placement::Capacity;

    #[test]
    fn standalone_tasks_are_placed_once_and_only_where_they_fit() {
        let mut ledger = Ledger::default();
        let capacity = Capacity {
            cpu: 1024,
            memory: 100,
        };
        let need = Need {
            cpu: 0,
            memory: 64,
            ports: Default::default(),
        };
        let a = ObjectKey::new(Kind::Task, Some("default"), "a");
        let b = ObjectKey::new(Kind::Task, Some("default"), "b");
        assert_eq!(ledger.place(&a, "default", capacity, true, &need), Ok(()));
        assert_eq!(
            ledger.place(&a, "default", capacity, true, &need),
            Ok(()),
            "placing again changes nothing"
        );
        let why = ledger
            .place(&b, "default", capacity, true, &need)
            .unwrap_err();
        assert!(why.contains("insufficient memory"), "{why}");
        assert_eq!(ledger.used(Some("default")).len(), 1);
        ledger.forget(&a);
        assert_eq!(ledger.place(&b, "default", capacity, true, &need), Ok(()));
    }
}
