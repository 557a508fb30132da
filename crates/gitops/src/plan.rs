//! What one sync does: apply every object of the directory, prune what the directory owned
//! and no longer holds.

use crate::SOURCE_ANNOTATION;
use crate::scan::Snapshot;
use api::{Kind, Object, ObjectKey};
use std::collections::{BTreeMap, BTreeSet};

/// The writes of one sync.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncPlan {
    /// Every object of the directory (the store tells which ones change).
    pub apply: Vec<Object>,
    /// Objects this directory applied and no longer holds. TaskDefinitions are named by
    /// family (every revision goes).
    pub prune: Vec<ObjectKey>,
}

/// Whether `obj` was applied from the directory `source`.
pub fn owned_by(obj: &Object, source: &str) -> bool {
    obj.metadata
        .annotations
        .get(SOURCE_ANNOTATION)
        .is_some_and(|s| s == source)
}

/// Plans a sync of `snapshot` over the `live` objects (every kind, every cluster; for
/// TaskDefinitions every revision). Only objects carrying `ecsctl.dev/source` equal to the
/// snapshot's directory are ever pruned; Deployments never; a TaskDefinition family only when
/// its latest revision is owned here and no document of the directory names the family.
pub fn plan_sync(snapshot: &Snapshot, live: &[Object]) -> SyncPlan {
    let wanted: BTreeSet<ObjectKey> = snapshot.objects.iter().map(Object::key).collect();
    let mut prune = Vec::new();
    // Latest revision of each family.
    let mut latest: BTreeMap<&str, &Object> = BTreeMap::new();
    for o in live.iter().filter(|o| o.kind == Kind::TaskDefinition) {
        let e = latest.entry(o.metadata.name.as_str()).or_insert(o);
        if o.metadata.revision > e.metadata.revision {
            *e = o;
        }
    }
    for td in latest.values() {
        let key = ObjectKey::new(Kind::TaskDefinition, None, &td.metadata.name);
        if owned_by(td, &snapshot.source) && !wanted.contains(&key) {
            prune.push(key);
        }
    }
    for o in live {
        if matches!(o.kind, Kind::TaskDefinition | Kind::Deployment) {
            continue;
        }
        let key = o.key();
        if owned_by(o, &snapshot.source) && !wanted.contains(&key) {
            prune.push(key);
        }
    }
    // Dependents first: services before the task definitions they run, clusters last.
    prune.sort_by_key(|k| match k.kind {
        Kind::Autoscaler => 0,
        Kind::Service | Kind::Task | Kind::LoadBalancer => 1,
        Kind::Cluster => 3,
        _ => 2,
    });
    SyncPlan {
        apply: snapshot.objects.clone(),
        prune,
    }
}
