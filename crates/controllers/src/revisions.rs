//! Garbage collection of TaskDefinition revisions. Every apply of a changed task definition
//! registers a revision and ECS keeps them all (INACTIVE ones too); on one machine that is
//! a store that grows without bound. Kept: each family's latest revision, the newest `keep`
//! older ones, and every revision a Service, Deployment or Task (running or stopped) names.
//! A revision whose deletion was asked (DELETE_IN_PROGRESS) goes first, as soon as nothing
//! names it.

use api::taskdef::{RevisionState, revision_state};
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

/// Every `family:N` a Service, Deployment or Task (running or stopped) names: the
/// revisions that may not be deleted yet.
pub fn in_use(store: &dyn Store) -> Result<BTreeSet<String>, StoreError> {
    let mut in_use = BTreeSet::new();
    for kind in [Kind::Service, Kind::Deployment, Kind::Task] {
        for o in store.list(&ListQuery::new(kind))?.items {
            in_use.extend(references(&o));
        }
    }
    Ok(in_use)
}

/// Deletes, first, the revisions whose deletion was asked (DELETE_IN_PROGRESS, by ECS's
/// DeleteTaskDefinitions) that nothing uses any more, then those [`plan`] selects among the
/// others; returns their names. Blocking (it reads and writes the store).
pub fn collect(store: &dyn Store, keep: usize) -> Result<Vec<String>, StoreError> {
    let all = store.list(&ListQuery::new(Kind::TaskDefinition))?.items;
    let asked = |o: &Object| revision_state(o) == RevisionState::DeleteInProgress;
    let requested: Vec<String> = all
        .iter()
        .filter(|o| asked(o))
        .map(Object::display_name)
        .collect();
    let revisions: Vec<(String, u64)> = all
        .iter()
        .filter(|o| !asked(o))
        .filter_map(|o| Some((o.metadata.name.clone(), o.metadata.revision?)))
        .collect();
    let families: BTreeSet<&str> = revisions.iter().map(|(f, _)| f.as_str()).collect();
    let crowded = families
        .iter()
        .any(|f| revisions.iter().filter(|(x, _)| x == f).count() > keep + 1);
    if !crowded && requested.is_empty() {
        return Ok(Vec::new());
    }
    let in_use = in_use(store)?;
    let mut doomed: Vec<String> = requested
        .into_iter()
        .filter(|name| !in_use.contains(name))
        .collect();
    if crowded {
        doomed.extend(plan(&revisions, &in_use, keep));
    }
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

    #[test]
    fn revisions_asked_to_be_deleted_go_once_unused() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::SledStore::open(dir.path()).unwrap();
        for image in ["a", "b", "c"] {
            store
                .apply(Object::new(
                    Kind::TaskDefinition,
                    "web",
                    json!({"containerDefinitions": [{"name": "app", "image": image}]}),
                ))
                .unwrap();
        }
        let td = |n: &str| ObjectKey::new(Kind::TaskDefinition, None, n);
        for n in ["web:1", "web:2"] {
            store
                .update_status(&td(n), json!({"status": "DELETE_IN_PROGRESS"}), None)
                .unwrap();
        }
        let task = Object::new(Kind::Task, "t", json!({"taskDefinition": "web:2"}));
        store.apply(task.clone()).unwrap();
        // Nothing is crowded (keep 10), yet web:1 goes: its deletion was asked.
        assert_eq!(collect(&store, 10).unwrap(), ["web:1"]);
        assert!(store.get(&td("web:2")).unwrap().is_some(), "still in use");
        store.delete(&task.key()).unwrap();
        assert_eq!(collect(&store, 10).unwrap(), ["web:2"]);
        assert!(collect(&store, 10).unwrap().is_empty());
        assert!(store.get(&td("web:3")).unwrap().is_some());
    }
}
