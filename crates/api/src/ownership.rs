//! Field ownership between writers: when an Autoscaler scales a service, the service's
//! desiredCount belongs to the autoscaler (as ECS's scaling target owns it). Whoever applies
//! a Service (`ecsctl apply`, a GitOps sync) keeps the live count and says so.

use crate::kind::Kind;
use crate::object::Object;
use serde_json::Value;

/// Sets each applied Service's desiredCount to its live value when an Autoscaler (among the
/// applied or the live objects) targets it; returns one warning per kept count.
pub fn keep_autoscaled_counts(objects: &mut [Object], live: &[Object]) -> Vec<String> {
    let scalers: Vec<Object> = objects
        .iter()
        .chain(live.iter())
        .filter(|o| o.kind == Kind::Autoscaler)
        .cloned()
        .collect();
    let mut warnings = Vec::new();
    for o in objects.iter_mut().filter(|o| o.kind == Kind::Service) {
        let cluster = o.metadata.cluster_or_default().to_string();
        let name = o.metadata.name.clone();
        let Some(owner) = scalers.iter().find(|a| {
            a.metadata.cluster_or_default() == cluster
                && a.spec.get("service").and_then(Value::as_str) == Some(&name)
        }) else {
            continue;
        };
        let key = o.key();
        let Some(count) = live
            .iter()
            .find(|l| l.key() == key)
            .and_then(|l| l.spec.get("desiredCount").cloned())
        else {
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
    warnings
}
