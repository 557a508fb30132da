//! What each load balancer's desired state was last computed from, so that a change in the
//! store enqueues only the load balancers it can matter to: a Service (or one of its Tasks)
//! that a load balancer targets or whose listeners name, a TaskDefinition family its tasks
//! run, a Secret holding one of its certificates.
//!
//! A Service that starts naming a load balancer is found from its own spec; one that stops
//! naming it is found here, since the event only carries the new spec.

use api::service::ServiceSpec;
use api::{Kind, ObjectKey};
use runtime::labels;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use store::WatchEvent;

/// What one load balancer depends on (besides itself). Services are of its own cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Services attached to it or named by its listeners and rules.
    pub services: BTreeSet<String>,
    /// Task definition families of those services and of their tasks.
    pub families: BTreeSet<String>,
    /// Secrets (of its own cluster) its HTTPS listeners name as certificates.
    pub secrets: BTreeSet<String>,
}

/// The [`Reach`] of every load balancer the controller has seen, by LoadBalancer key.
#[derive(Debug, Default)]
pub struct ReachIndex {
    by_lb: Mutex<BTreeMap<ObjectKey, Reach>>,
}

impl ReachIndex {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<ObjectKey, Reach>> {
        // A poisoned index is still usable: at worst a key is enqueued once too often.
        self.by_lb.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records what `lb` depends on now.
    pub fn set(&self, lb: &ObjectKey, reach: Reach) {
        self.lock().insert(lb.clone(), reach);
    }

    /// Adds task definition families to what `lb` depends on.
    pub fn add_families(&self, lb: &ObjectKey, families: impl IntoIterator<Item = String>) {
        self.lock()
            .entry(lb.clone())
            .or_default()
            .families
            .extend(families);
    }

    /// Forgets a load balancer that is gone; whether it was known.
    pub fn remove(&self, lb: &ObjectKey) -> bool {
        self.lock().remove(lb).is_some()
    }

    /// Every load balancer in the index (a deleted one among them is removed when it runs).
    pub fn keys(&self) -> Vec<ObjectKey> {
        self.lock().keys().cloned().collect()
    }

    /// The load balancers a store event can change.
    pub fn affected(&self, ev: &WatchEvent) -> Vec<ObjectKey> {
        let o = &ev.object;
        let cluster = o.metadata.cluster_or_default();
        let mut keys = match o.kind {
            Kind::LoadBalancer => return vec![o.key()],
            Kind::Service => {
                let mut keys = self.matching(|lb, r| {
                    lb.cluster.as_deref() == Some(cluster) && r.services.contains(&o.metadata.name)
                });
                // A service that names a load balancer it did not reach before.
                if let Ok(spec) = o.spec_as::<ServiceSpec>() {
                    keys.extend(
                        spec.load_balancers
                            .iter()
                            .filter_map(|a| a.load_balancer_name.as_deref())
                            .map(|name| ObjectKey::new(Kind::LoadBalancer, Some(cluster), name)),
                    );
                }
                keys
            }
            Kind::Task => match o.metadata.labels.get(labels::SERVICE) {
                Some(service) => self.matching(|lb, r| {
                    lb.cluster.as_deref() == Some(cluster) && r.services.contains(service)
                }),
                None => Vec::new(),
            },
            Kind::TaskDefinition => self.matching(|_, r| r.families.contains(&o.metadata.name)),
            // Certificates come from Secrets of the load balancer's own cluster.
            Kind::Secret => self.matching(|lb, r| {
                lb.cluster.as_deref() == Some(cluster) && r.secrets.contains(&o.metadata.name)
            }),
            _ => Vec::new(),
        };
        keys.sort();
        keys.dedup();
        keys
    }

    fn matching(&self, want: impl Fn(&ObjectKey, &Reach) -> bool) -> Vec<ObjectKey> {
        self.lock()
            .iter()
            .filter(|(lb, r)| want(lb, r))
            .map(|(lb, _)| lb.clone())
            .collect()
    }
}

/// The family of a task definition reference (`family`, `family:N`, or an ARN ending in
/// `task-definition/family:N`).
pub fn family(reference: &str) -> &str {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    last.split(':').next().unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Object;
    use serde_json::json;

    fn event(o: Object) -> WatchEvent {
        WatchEvent {
            revision: 1,
            event_type: store::WatchEventType::Modified,
            object: o,
        }
    }

    fn lb(cluster: &str, name: &str) -> ObjectKey {
        ObjectKey::new(Kind::LoadBalancer, Some(cluster), name)
    }

    fn index() -> ReachIndex {
        let index = ReachIndex::default();
        index.set(
            &lb("default", "front"),
            Reach {
                services: ["web".to_string()].into(),
                families: ["web".to_string()].into(),
                secrets: ["web-cert".to_string()].into(),
            },
        );
        index.set(&lb("default", "admin"), Reach::default());
        index.set(
            &lb("prod", "front"),
            Reach {
                services: ["web".to_string()].into(),
                ..Reach::default()
            },
        );
        index
    }

    #[test]
    fn events_reach_only_the_load_balancers_they_matter_to() {
        let index = index();
        let service = |spec| event(Object::new(Kind::Service, "web", spec));
        // A service it targets, even once the service stops naming it.
        assert_eq!(
            index.affected(&service(json!({"taskDefinition": "web"}))),
            vec![lb("default", "front")]
        );
        // A service that starts naming a load balancer.
        assert_eq!(
            index.affected(&service(json!({"taskDefinition": "web", "desiredCount": 1,
                "loadBalancers": [{"loadBalancerName": "admin", "containerName": "app", "containerPort": 80}]}))),
            vec![lb("default", "admin"), lb("default", "front")]
        );
        let mut task = Object::new(Kind::Task, "t1", json!({}));
        task.metadata.cluster = Some("prod".into());
        task.metadata
            .labels
            .insert(labels::SERVICE.into(), "web".into());
        assert_eq!(index.affected(&event(task)), vec![lb("prod", "front")]);
        let unrelated = Object::new(Kind::Task, "t2", json!({}));
        assert!(index.affected(&event(unrelated)).is_empty());
        let td = Object::new(Kind::TaskDefinition, "web", json!({}));
        assert_eq!(index.affected(&event(td)), vec![lb("default", "front")]);
        let secret = Object::new(Kind::Secret, "web-cert", json!({}));
        assert_eq!(index.affected(&event(secret)), vec![lb("default", "front")]);
        let other = Object::new(Kind::Secret, "db-password", json!({}));
        assert!(index.affected(&event(other)).is_empty());
        let itself = Object::new(Kind::LoadBalancer, "new", json!({}));
        assert_eq!(index.affected(&event(itself)), vec![lb("default", "new")]);
    }

    #[test]
    fn families_of_references() {
        assert_eq!(family("web"), "web");
        assert_eq!(family("web:3"), "web");
        assert_eq!(
            family("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"),
            "web"
        );
    }
}
