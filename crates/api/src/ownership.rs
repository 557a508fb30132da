//! Field ownership between writers: when an Autoscaler scales a service, the service's
//! desiredCount belongs to the autoscaler (as ECS's scaling target owns it). Whoever applies
//! a Service (`ecsctl apply`, a GitOps sync) keeps the live count and says so. A placed
//! Task's `containerInstance` belongs to placement: applying the Task again keeps it, so the
//! task is never placed twice.

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

/// Sets each applied Task's `containerInstance` to the live one when the live Task is
/// placed: a placement, once made, is the task's for good.
pub fn keep_task_bindings(objects: &mut [Object], live: &[Object]) {
    for o in objects.iter_mut().filter(|o| o.kind == Kind::Task) {
        let placed = live
            .iter()
            .find(|l| l.key() == o.key())
            .and_then(|l| l.spec.get("containerInstance"))
            .filter(|v| v.is_string());
        if let (Some(instance), Value::Object(spec)) = (placed, &mut o.spec) {
            spec.insert("containerInstance".to_string(), instance.clone());
        }
    }
}

#[cfg(test)]
mod binding_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_placed_task_keeps_its_instance_when_applied_again() {
        let mut live = Object::new(
            Kind::Task,
            "t1",
            json!({"taskDefinition": "web", "containerInstance": "i-a"}),
        );
        live.metadata.cluster = Some("default".into());
        let mut applied = live.clone();
        applied.spec = json!({"taskDefinition": "web"});
        let mut other = applied.clone();
        other.metadata.name = "t2".into();
        let mut objects = [applied, other];
        keep_task_bindings(&mut objects, &[live]);
        assert_eq!(objects[0].spec["containerInstance"], "i-a");
        assert!(objects[1].spec.get("containerInstance").is_none());
    }
}
