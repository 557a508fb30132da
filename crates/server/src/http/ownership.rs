//! Field ownership on apply: when an Autoscaler scales a service, the service's desiredCount
//! belongs to the autoscaler (as ECS's scaling target owns it), so an apply of the Service
//! leaves the live value alone and says so, instead of fighting the autoscaler.

use api::{Kind, Object, ObjectKey};
use serde_json::Value;
use store::{ListQuery, Store, StoreError};

/// Keeps the live desiredCount of services an Autoscaler owns; returns the warnings.
pub(crate) fn keep_autoscaled_counts(
    store: &dyn Store,
    objects: &mut [Object],
) -> Result<Vec<String>, StoreError> {
    let mut warnings = Vec::new();
    let in_batch: Vec<Object> = objects
        .iter()
        .filter(|o| o.kind == Kind::Autoscaler)
        .cloned()
        .collect();
    for o in objects.iter_mut().filter(|o| o.kind == Kind::Service) {
        let cluster = o.metadata.cluster_or_default().to_string();
        let name = o.metadata.name.clone();
        let targets_it = |a: &Object| {
            a.metadata.cluster_or_default() == cluster
                && a.spec.get("service").and_then(Value::as_str) == Some(&name)
        };
        let stored_scalers = store
            .list(&ListQuery::new(Kind::Autoscaler).in_cluster(cluster.clone()))?
            .items;
        let Some(owner) = in_batch
            .iter()
            .chain(stored_scalers.iter())
            .find(|a| targets_it(a))
        else {
            continue;
        };
        let Some(live) = store.get(&ObjectKey::new(Kind::Service, Some(&cluster), &name))? else {
            continue;
        };
        let Some(count) = live.spec.get("desiredCount").cloned() else {
            continue;
        };
        if o.spec.get("desiredCount") != Some(&count) {
            warnings.push(format!(
                "service/{name}: spec.desiredCount is owned by autoscaler/{}; left at {count}",
                owner.metadata.name
            ));
            o.spec["desiredCount"] = count;
        }
    }
    Ok(warnings)
}
