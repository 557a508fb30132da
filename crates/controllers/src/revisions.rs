//! Garbage collection of TaskDefinition revisions. Every apply of a changed task definition
//! registers a revision and ECS keeps them all (INACTIVE ones too); on one machine that is
//! a store that grows without bound. Kept: each family's latest revision, the newest `keep`
//! older ones, and every revision a Service, Deployment or Task (running or stopped) names.

use api::{Kind, Object, ObjectKey};
use std::collections::{BTreeMap, BTreeSet};
use store::{ListQuery, Store, StoreError};

/// Older revisions kept per family by default, besides the latest and those in use: enough
/// to roll back by hand to any of the last ten changes.
pub const DEFAULT_KEEP_REVISIONS: usize = 10;

/// The revisions to delete (`family:N`): of each family's revisions (in any order), all but
/// the latest, the `keep` newest before it, and those in `in_use` (`family:N` names).
pub fn plan(revisions: &[(String, u64)], in_use: &BTreeSet<String>, keep: usize) -> Vec<String> {
    let mut by_family: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (family, n) in revisions {
        by_family.entry(family.as_str()).or_default().push(*n);
    }
    let mut out = Vec::new();
    for (family, mut ns) in by_family {
        ns.sort_unstable_by(|a, b| b.cmp(a));
        for n in ns.into_iter().skip(1 + keep) {
            let name = format!("{family}:{n}");
            if !in_use.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// Every `family:N` the object names: a Service's or Task's `spec.taskDefinition`, the
/// revision a task runs (`status.taskDefinition`), a Service's deployments and last failed
/// revision, a Deployment's.
pub fn references(o: &Object) -> Vec<String> {
    let mut out = Vec::new();
    let mut take = |v: Option<&serde_json::Value>| {
        if let Some(s) = v.and_then(|v| v.as_str())
            && s.contains(':')
        {
            out.push(s.to_string());
        }
    };
    take(o.spec.get("taskDefinition"));
    take(o.status.get("taskDefinition"));
    take(o.status.get("failedTaskDefinition"));
    let deployments = o.status.get("deployments").and_then(|d| d.as_array());
    for d in deployments.into_iter().flatten() {
        take(d.get("taskDefinition"));
    }
    out
}

/// Deletes the revisions [`plan`] selects; returns their names. Blocking (it reads and
/// writes the store).
pub fn collect(store: &dyn Store, keep: usize) -> Result<Vec<String>, StoreError> {
    let revisions: Vec<(String, u64)> = store
        .list(&ListQuery::new(Kind::TaskDefinition))?
        .items
        .iter()
        .filter_map(|o| Some((o.metadata.name.clone(), o.metadata.revision?)))
        .collect();
    let families: BTreeSet<&str> = revisions.iter().map(|(f, _)| f.as_str()).collect();
    let crowded = families
        .iter()
        .any(|f| revisions.iter().filter(|(x, _)| x == f).count() > keep + 1);
    if !crowded {
        return Ok(Vec::new());
    }
    let mut in_use = BTreeSet::new();
    for kind in [Kind::Service, Kind::Deployment, Kind::Task] {
        for o in store.list(&ListQuery::new(kind))?.items {
            in_use.extend(references(&o));
        }
    }
    let doomed = plan(&revisions, &in_use, keep);
    for name in &doomed {
        match store.delete(&ObjectKey::new(Kind::TaskDefinition, None, name)) {
            Ok(_) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if !doomed.is_empty() {
        tracing::info!(count = doomed.len(), revisions = ?doomed, "deleted unused task definition revisions");
    }
    Ok(doomed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_latest_the_newest_and_the_used() {
        let revisions: Vec<(String, u64)> = (1..=6)
            .map(|n| ("web".to_string(), n))
            .chain([("db".to_string(), 1)])
            .collect();
        let in_use = BTreeSet::from(["web:1".to_string()]);
        assert_eq!(plan(&revisions, &in_use, 2), ["web:3", "web:2"]);
        assert_eq!(
            plan(&revisions, &BTreeSet::new(), 0),
            ["web:5", "web:4", "web:3", "web:2", "web:1"]
        );
        assert!(plan(&revisions, &BTreeSet::new(), 5).is_empty());
    }

    #[test]
    fn references_come_from_specs_and_statuses() {
        let mut svc = Object::new(Kind::Service, "s", json!({"taskDefinition": "web:4"}));
        svc.status = json!({"deployments": [{"taskDefinition": "web:2"}, {"taskDefinition": "web:3"}],
            "failedTaskDefinition": "web:1"});
        assert_eq!(references(&svc), ["web:4", "web:1", "web:2", "web:3"]);
        let mut task = Object::new(Kind::Task, "t", json!({"taskDefinition": "web"}));
        task.status = json!({"taskDefinition": "web:7"});
        assert_eq!(
            references(&task),
            ["web:7"],
            "a family alone names the latest, always kept"
        );
    }
}
