//! Field ownership (see `api::ownership`): the live objects the rule needs are read here.

use api::{Kind, Object, ObjectKey};
use store::{ListQuery, Store, StoreError};

/// Keeps the live `containerInstance` of every placed Task applied again.
pub(crate) fn keep_task_bindings(
    store: &dyn Store,
    objects: &mut [Object],
) -> Result<(), StoreError> {
    let mut live = Vec::new();
    for o in objects.iter().filter(|o| o.kind == Kind::Task) {
        live.extend(store.get(&o.key())?);
    }
    api::ownership::keep_task_bindings(objects, &live);
    Ok(())
}

/// Keeps the live desiredCount of services an Autoscaler owns; returns the warnings.
pub(crate) fn keep_autoscaled_counts(
    store: &dyn Store,
    objects: &mut [Object],
) -> Result<Vec<String>, StoreError> {
    let mut live = Vec::new();
    let services: Vec<ObjectKey> = objects
        .iter()
        .filter(|o| o.kind == Kind::Service)
        .map(Object::key)
        .collect();
    let mut clusters = std::collections::BTreeSet::new();
    for key in services {
        let cluster = key.cluster.clone().unwrap_or_default();
        if clusters.insert(cluster.clone()) {
            live.extend(
                store
                    .list(&ListQuery::new(Kind::Autoscaler).in_cluster(cluster))?
                    .items,
            );
        }
        live.extend(store.get(&key)?);
    }
    Ok(api::ownership::keep_autoscaled_counts(objects, &live))
}
