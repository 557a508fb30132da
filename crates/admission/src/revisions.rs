//! [`Rule::InactiveRevision`]: ECS's rule for deregistered task definitions. A revision that
//! is INACTIVE (or DELETE_IN_PROGRESS) keeps running wherever it runs, and a service already
//! on it may still scale, but no new Task, no new Service, and no Service moved to it, may
//! name it. A bare family names its latest ACTIVE revision (the store resolves it so); a
//! family whose revisions are all deregistered names none.

use crate::{Problem, Rule};
use api::taskdef::{RevisionState, revision_state};
use api::{Kind, Object, ObjectKey};
use store::{ListQuery, Store, StoreError};

/// The problems of the Services and Tasks of one write that name a deregistered revision.
pub fn check_objects(store: &dyn Store, objects: &[Object]) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for o in objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::Service | Kind::Task))
    {
        let Some(reference) = o.spec.get("taskDefinition").and_then(|v| v.as_str()) else {
            continue;
        };
        // A family this write registers a revision of: that revision is ACTIVE.
        let registered_here = objects
            .iter()
            .any(|x| x.kind == Kind::TaskDefinition && x.metadata.name == reference);
        if registered_here {
            continue;
        }
        // What already runs on it may go on (a service's desiredCount changes, a re-apply).
        let unchanged = store
            .get(&o.key())?
            .is_some_and(|cur| cur.spec.get("taskDefinition") == o.spec.get("taskDefinition"));
        if unchanged {
            continue;
        }
        if let Some(message) = refusal(store, reference)? {
            problems.push(Problem {
                object: o.key(),
                rule: Rule::InactiveRevision,
                message,
            });
        }
    }
    Ok(problems)
}

/// Why `reference` (`family` or `family:N`) cannot start anything new, if it cannot.
fn refusal(store: &dyn Store, reference: &str) -> Result<Option<String>, StoreError> {
    let key = ObjectKey::new(Kind::TaskDefinition, None, reference);
    if key.revision_parts().is_some() {
        let Some(td) = store.get(&key)? else {
            return Ok(None);
        };
        let state = revision_state(&td);
        return Ok((state != RevisionState::Active).then(|| {
            format!(
                "taskDefinition {reference} is {state}: no new task or service may start from a deregistered revision (name an ACTIVE revision, or register the definition again)"
            )
        }));
    }
    if store.get(&key)?.is_some() {
        return Ok(None);
    }
    let any = store
        .list(&ListQuery::new(Kind::TaskDefinition))?
        .items
        .iter()
        .any(|td| td.metadata.name == reference);
    Ok(any.then(|| {
        format!(
            "taskDefinition {reference}: every revision of the family is deregistered, so it names none (register the definition again)"
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use store::SledStore;

    fn td(image: &str) -> Object {
        Object::new(
            Kind::TaskDefinition,
            "web",
            json!({"containerDefinitions": [{"name": "app", "image": image, "memory": 64}]}),
        )
    }

    fn task(name: &str, reference: &str) -> Object {
        Object::new(Kind::Task, name, json!({"taskDefinition": reference}))
    }

    fn deregister(store: &SledStore, reference: &str, state: &str) {
        store
            .update_status(
                &ObjectKey::new(Kind::TaskDefinition, None, reference),
                json!({ "status": state }),
                None,
            )
            .unwrap();
    }

    #[test]
    fn deregistered_revisions_start_nothing_new() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        store.apply(td("nginx:1")).unwrap();
        store.apply(td("nginx:2")).unwrap();
        let svc = Object::new(
            Kind::Service,
            "web",
            json!({"taskDefinition": "web:2", "desiredCount": 1}),
        );
        store.apply(svc.clone()).unwrap();
        deregister(&store, "web:2", "INACTIVE");

        let problems = check_objects(&store, &[task("t1", "web:2")]).unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].rule, Rule::InactiveRevision);
        assert!(
            problems[0].message.contains("web:2 is INACTIVE"),
            "{}",
            problems[0].message
        );
        // The family names web:1, still ACTIVE.
        assert!(
            check_objects(&store, &[task("t1", "web")])
                .unwrap()
                .is_empty()
        );
        assert!(
            check_objects(&store, &[task("t1", "web:1")])
                .unwrap()
                .is_empty()
        );
        // The service already on web:2 may scale; another may not be created on it.
        let mut scaled = svc.clone();
        scaled.spec["desiredCount"] = json!(3);
        assert!(check_objects(&store, &[scaled]).unwrap().is_empty());
        let mut other = svc.clone();
        other.metadata.name = "web-2".into();
        assert_eq!(check_objects(&store, &[other]).unwrap().len(), 1);
        // Every revision deregistered (or being deleted): the family names none...
        deregister(&store, "web:1", "DELETE_IN_PROGRESS");
        let problems = check_objects(&store, &[task("t1", "web")]).unwrap();
        assert!(
            problems[0].message.contains("every revision"),
            "{}",
            problems[0].message
        );
        assert!(check_objects(&store, &[task("t1", "web:1")]).unwrap().len() == 1);
        // ...unless the same write registers a new one; unknown families are not this
        // rule's business.
        assert!(
            check_objects(&store, &[td("nginx:3"), task("t1", "web")])
                .unwrap()
                .is_empty()
        );
        assert!(
            check_objects(&store, &[task("t1", "api")])
                .unwrap()
                .is_empty()
        );
    }
}
