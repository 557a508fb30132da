//! apply, get, list, update_status and delete.

use super::{key, open, svc, td};
use api::{Kind, Object, ObjectKey};
use ecsctl_store::{ApplyAction, ListQuery, StoreError, Write};
use serde_json::json;

#[test]
fn apply_sets_system_fields_and_reports_actions() {
    let (_d, store) = open();
    let r = store.apply(svc("web", 1)).unwrap();
    assert_eq!(r.action, ApplyAction::Created);
    let m = &r.object.metadata;
    assert_eq!(m.resource_version, Some(1));
    assert_eq!(m.generation, Some(1));
    assert_eq!(m.cluster.as_deref(), Some("default"));
    assert!(uuid_like(m.uid.as_deref().unwrap()));
    let ts = m.creation_timestamp.as_deref().unwrap();
    time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).unwrap();

    let again = store.apply(svc("web", 1)).unwrap();
    assert_eq!(again.action, ApplyAction::Unchanged);
    assert_eq!(again.object, r.object);
    assert_eq!(store.revision(), 1, "an unchanged apply writes nothing");

    let changed = store.apply(svc("web", 3)).unwrap();
    assert_eq!(changed.action, ApplyAction::Configured);
    assert_eq!(changed.object.metadata.generation, Some(2));
    assert_eq!(changed.object.metadata.resource_version, Some(2));
    assert_eq!(changed.object.metadata.uid, r.object.metadata.uid);
    assert_eq!(
        changed.object.metadata.creation_timestamp,
        r.object.metadata.creation_timestamp
    );
    assert_eq!(
        store.get(&key(Kind::Service, "web")).unwrap().unwrap(),
        changed.object
    );
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[test]
fn generation_moves_only_with_the_spec() {
    let (_d, store) = open();
    store.apply(svc("web", 1)).unwrap();
    let mut labelled = svc("web", 1);
    labelled
        .metadata
        .labels
        .insert("team".into(), "shop".into());
    let r = store.apply(labelled.clone()).unwrap();
    assert_eq!(r.action, ApplyAction::Configured);
    assert_eq!(
        r.object.metadata.generation,
        Some(1),
        "labels-only change keeps the generation"
    );
    assert_eq!(r.object.metadata.resource_version, Some(2));

    let mut annotated = labelled.clone();
    annotated
        .metadata
        .annotations
        .insert("note".into(), "x".into());
    let r = store.apply(annotated).unwrap();
    assert_eq!(r.action, ApplyAction::Configured);
    assert_eq!(r.object.metadata.generation, Some(1));

    // System fields and status in the input are ignored.
    let mut noisy = r.object.clone();
    noisy.metadata.resource_version = None;
    noisy.metadata.generation = Some(99);
    noisy.metadata.uid = Some("forged".into());
    noisy.status = json!({"runningCount": 5});
    let r2 = store.apply(noisy).unwrap();
    assert_eq!(r2.action, ApplyAction::Unchanged);
    assert_eq!(r2.object.metadata.uid, r.object.metadata.uid);
    assert!(r2.object.status.is_null());
}

#[test]
fn status_is_separate_from_spec() {
    let (_d, store) = open();
    let created = store.apply(svc("web", 1)).unwrap().object;
    let k = key(Kind::Service, "web");
    let o = store
        .update_status(&k, json!({"runningCount": 1}), Some(1))
        .unwrap();
    assert_eq!(o.status, json!({"runningCount": 1}));
    assert_eq!(o.spec, created.spec);
    assert_eq!(o.metadata.generation, Some(1));
    assert_eq!(o.metadata.resource_version, Some(2));

    // Same status again: nothing written.
    let same = store
        .update_status(&k, json!({"runningCount": 1}), None)
        .unwrap();
    assert_eq!(same.metadata.resource_version, Some(2));
    assert_eq!(store.revision(), 2);

    // Stale expected version.
    let err = store
        .update_status(&k, json!({"runningCount": 2}), Some(1))
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 1,
                actual: Some(2),
                ..
            }
        ),
        "{err}"
    );

    // Applies keep the status.
    let r = store.apply(svc("web", 2)).unwrap();
    assert_eq!(r.object.status, json!({"runningCount": 1}));

    let missing = store
        .update_status(&key(Kind::Service, "nope"), json!({}), None)
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)));
}

#[test]
fn resource_version_is_compare_and_swap() {
    let (_d, store) = open();
    let v1 = store.apply(svc("web", 1)).unwrap().object;
    store.apply(svc("web", 2)).unwrap();

    let mut stale = v1.clone();
    stale.spec = json!({"taskDefinition": "web", "desiredCount": 5});
    let err = store.apply(stale.clone()).unwrap_err();
    match &err {
        StoreError::Conflict {
            expected, actual, ..
        } => {
            assert_eq!((*expected, *actual), (1, Some(2)));
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert_eq!(
        err.to_string(),
        "service \"web\" in cluster default was modified (resourceVersion 2, you sent 1): get it again and re-apply"
    );

    stale.metadata.resource_version = Some(2);
    assert_eq!(store.apply(stale).unwrap().action, ApplyAction::Configured);

    let mut ghost = svc("ghost", 1);
    ghost.metadata.resource_version = Some(4);
    let err = store.apply(ghost).unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { actual: None, .. }),
        "{err}"
    );
}

#[test]
fn task_definition_revisions() {
    let (_d, store) = open();
    let r1 = store.apply(td("web", "nginx:1")).unwrap();
    assert_eq!(r1.action, ApplyAction::Created);
    assert_eq!(r1.object.metadata.revision, Some(1));
    assert_eq!(r1.object.display_name(), "web:1");
    assert_eq!(
        store.apply(td("web", "nginx:1")).unwrap().action,
        ApplyAction::Unchanged
    );

    let r2 = store.apply(td("web", "nginx:2")).unwrap();
    assert_eq!(r2.action, ApplyAction::Configured);
    assert_eq!(r2.object.metadata.revision, Some(2));
    assert_eq!(r2.object.metadata.generation, Some(1));
    assert_ne!(r2.object.metadata.uid, r1.object.metadata.uid);

    // Going back to an older spec is a new revision: revisions are immutable history.
    let r3 = store.apply(td("web", "nginx:1")).unwrap();
    assert_eq!(r3.object.metadata.revision, Some(3));

    assert_eq!(
        store
            .get(&key(Kind::TaskDefinition, "web"))
            .unwrap()
            .unwrap(),
        r3.object
    );
    assert_eq!(
        store
            .get(&key(Kind::TaskDefinition, "web:1"))
            .unwrap()
            .unwrap(),
        r1.object
    );
    assert_eq!(
        store.get(&key(Kind::TaskDefinition, "web:9")).unwrap(),
        None
    );

    store.apply(td("api", "api:1")).unwrap();
    let names: Vec<String> = store
        .list(&ListQuery::new(Kind::TaskDefinition))
        .unwrap()
        .items
        .iter()
        .map(|o| o.display_name())
        .collect();
    assert_eq!(names, ["api:1", "web:1", "web:2", "web:3"]);

    // Deleting the latest revision does not free its number.
    let gone = store.delete(&key(Kind::TaskDefinition, "web:3")).unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!(
        store
            .get(&key(Kind::TaskDefinition, "web"))
            .unwrap()
            .unwrap(),
        r2.object
    );
    let r4 = store.apply(td("web", "nginx:4")).unwrap();
    assert_eq!(r4.object.metadata.revision, Some(4));

    // Deleting the family removes every revision; numbering still goes on.
    let gone = store.delete(&key(Kind::TaskDefinition, "web")).unwrap();
    assert_eq!(gone.len(), 3);
    assert_eq!(store.get(&key(Kind::TaskDefinition, "web")).unwrap(), None);
    let r5 = store.apply(td("web", "nginx:1")).unwrap();
    assert_eq!(r5.action, ApplyAction::Created);
    assert_eq!(r5.object.metadata.revision, Some(5));
}

#[test]
fn task_definition_labels_change_in_place() {
    let (_d, store) = open();
    store.apply(td("web", "nginx:1")).unwrap();
    let mut labelled = td("web", "nginx:1");
    labelled
        .metadata
        .labels
        .insert("team".into(), "shop".into());
    let r = store.apply(labelled).unwrap();
    assert_eq!(r.action, ApplyAction::Configured);
    assert_eq!(r.object.metadata.revision, Some(1));
    assert_eq!(
        store
            .list(&ListQuery::new(Kind::TaskDefinition))
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn list_filters_by_cluster_and_labels() {
    let (_d, store) = open();
    let mut a = svc("a", 1);
    a.metadata.labels.insert("team".into(), "shop".into());
    a.metadata.labels.insert("tier".into(), "web".into());
    let mut b = svc("b", 1);
    b.metadata.labels.insert("team".into(), "shop".into());
    let mut c = svc("c", 1);
    c.metadata.cluster = Some("default-2".into());
    c.metadata.labels.insert("team".into(), "shop".into());
    let mut d = svc("d", 1);
    d.metadata.labels.insert("team".into(), "ops".into());
    store.apply_all(vec![d, c, b, a], false).unwrap();
    store
        .apply(Object::new(Kind::Cluster, "default", json!({})))
        .unwrap();

    // What `list` returns, and `names` says the same names.
    let names = |q: ListQuery| -> Vec<String> {
        let listed: Vec<String> = store
            .list(&q)
            .unwrap()
            .items
            .into_iter()
            .map(|o| o.metadata.name)
            .collect();
        assert_eq!(
            sorted(store.names(&q).unwrap()),
            sorted(listed.clone()),
            "{q:?}"
        );
        listed
    };
    assert_eq!(names(ListQuery::new(Kind::Service)), ["a", "b", "d", "c"]);
    assert_eq!(
        names(ListQuery::new(Kind::Service).in_cluster("default")),
        ["a", "b", "d"]
    );
    assert_eq!(
        names(ListQuery::new(Kind::Service).with_label("team", "shop")),
        ["a", "b", "c"]
    );
    assert_eq!(
        names(
            ListQuery::new(Kind::Service)
                .with_label("team", "shop")
                .with_label("tier", "web")
        ),
        ["a"]
    );
    assert_eq!(
        names(ListQuery::new(Kind::Service).in_cluster("nowhere")),
        Vec::<String>::new()
    );
    // Cluster filters do not apply to kinds without clusters.
    assert_eq!(
        names(ListQuery::new(Kind::Cluster).in_cluster("x")),
        ["default"]
    );
    assert_eq!(
        store.list(&ListQuery::new(Kind::Service)).unwrap().revision,
        5
    );
}

#[test]
fn apply_all_is_all_or_nothing() {
    let (_d, store) = open();
    store.apply(svc("existing", 1)).unwrap();
    let mut stale = svc("existing", 2);
    stale.metadata.resource_version = Some(42);
    let err = store
        .apply_all(vec![svc("new", 1), td("web", "nginx"), stale], false)
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(store.revision(), 1);
    assert_eq!(store.get(&key(Kind::Service, "new")).unwrap(), None);
    assert_eq!(store.get(&key(Kind::TaskDefinition, "web")).unwrap(), None);

    let results = store
        .apply_all(vec![svc("new", 1), td("web", "a"), td("web", "b")], false)
        .unwrap();
    let actions: Vec<_> = results.iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [
            ApplyAction::Created,
            ApplyAction::Created,
            ApplyAction::Configured
        ]
    );
    assert_eq!(results[2].object.metadata.revision, Some(2));
    assert_eq!(store.revision(), 4);
}

#[test]
fn dry_run_writes_nothing() {
    let (_d, store) = open();
    let results = store
        .apply_all(vec![svc("web", 1), td("web", "nginx")], true)
        .unwrap();
    assert_eq!(results[0].action, ApplyAction::Created);
    assert_eq!(results[1].object.metadata.revision, Some(1));
    assert_eq!(store.revision(), 0);
    assert_eq!(store.get(&key(Kind::Service, "web")).unwrap(), None);
    assert_eq!(store.get(&key(Kind::TaskDefinition, "web")).unwrap(), None);
}

#[test]
fn delete_reports_what_it_removed() {
    let (_d, store) = open();
    store.apply(svc("web", 1)).unwrap();
    let gone = store.delete(&key(Kind::Service, "web")).unwrap();
    assert_eq!(gone[0].metadata.name, "web");
    assert_eq!(store.get(&key(Kind::Service, "web")).unwrap(), None);
    let err = store.delete(&key(Kind::Service, "web")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "service \"web\" not found in cluster default"
    );
    let err = store
        .delete(&key(Kind::TaskDefinition, "nope"))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
}

#[test]
fn names_the_key_layout_cannot_hold_are_invalid() {
    let (_d, store) = open();
    for name in ["", "a/b", "web:3"] {
        let err = store.apply(svc(name, 1)).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{name}: {err}");
    }
}

#[test]
fn data_survives_reopen() {
    let (fixture, store) = open();
    store.apply(svc("web", 1)).unwrap();
    store.apply(td("web", "a")).unwrap();
    store.apply(td("web", "b")).unwrap();
    store.delete(&key(Kind::TaskDefinition, "web:2")).unwrap();
    drop(store);
    let store = fixture.reopen(None);
    assert_eq!(store.revision(), 4);
    assert_eq!(
        store
            .get(&key(Kind::Service, "web"))
            .unwrap()
            .unwrap()
            .metadata
            .resource_version,
        Some(1)
    );
    let r = store.apply(td("web", "c")).unwrap();
    assert_eq!(
        r.object.metadata.revision,
        Some(3),
        "the family counter survives a restart"
    );
    assert_eq!(r.object.metadata.resource_version, Some(5));
}

#[test]
fn a_bare_family_names_its_latest_active_revision_and_register_always_adds_one() {
    let (_d, store) = open();
    store.apply(td("web", "nginx:1")).unwrap();
    // RegisterTaskDefinition's semantics: a new revision even for the same spec, with the
    // status it carries.
    let mut again = td("web", "nginx:1");
    again.status = json!({"status": "ACTIVE", "registeredBy": "ci"});
    let r2 = store.register(again).unwrap();
    assert_eq!(r2.object.metadata.revision, Some(2));
    assert_eq!(r2.object.status["registeredBy"], "ci");
    assert_eq!(
        store.apply(td("web", "nginx:1")).unwrap().action,
        ApplyAction::Unchanged,
        "apply still answers unchanged"
    );
    // Deregistered: `web` now names web:1, and the same spec applied again is a new
    // revision rather than the deregistered one.
    store
        .update_status(
            &key(Kind::TaskDefinition, "web:2"),
            json!({"status": "INACTIVE"}),
            None,
        )
        .unwrap();
    let latest = store
        .get(&key(Kind::TaskDefinition, "web"))
        .unwrap()
        .unwrap();
    assert_eq!(latest.display_name(), "web:1");
    store
        .update_status(
            &key(Kind::TaskDefinition, "web:1"),
            json!({"status": "DELETE_IN_PROGRESS"}),
            None,
        )
        .unwrap();
    assert_eq!(store.get(&key(Kind::TaskDefinition, "web")).unwrap(), None);
    let r3 = store.apply(td("web", "nginx:1")).unwrap();
    assert_eq!(r3.object.metadata.revision, Some(3));
    assert_eq!(r3.object.status, serde_json::Value::Null);
    assert!(
        store.register(svc("api", 1)).is_err(),
        "only task definitions are registered"
    );
}

#[test]
fn count_agrees_with_list_per_cluster_and_label() {
    let (_d, store) = open();
    for (name, cluster) in [
        ("a", "default"),
        ("b", "default"),
        ("c", "default-2"),
        ("d", "shop"),
    ] {
        let mut o = svc(name, 1);
        o.metadata.cluster = Some(cluster.into());
        if name == "b" {
            o.metadata.labels.insert("team".into(), "web".into());
        }
        store.apply(o).unwrap();
    }
    for query in [
        ListQuery::new(Kind::Service),
        ListQuery::new(Kind::Service).in_cluster("default"),
        ListQuery::new(Kind::Service).in_cluster("default-2"),
        ListQuery::new(Kind::Service).in_cluster("nope"),
        ListQuery::new(Kind::Service).with_label("team", "web"),
        ListQuery::new(Kind::Task),
    ] {
        assert_eq!(
            store.count(&query).unwrap(),
            store.list(&query).unwrap().items.len(),
            "{query:?}"
        );
    }
    assert_eq!(
        store
            .count(&ListQuery::new(Kind::Service).in_cluster("default"))
            .unwrap(),
        2
    );
}

#[test]
fn delete_all_removes_those_that_exist_in_one_write() {
    let (_d, store) = open();
    for name in ["a", "b", "c"] {
        store.apply(svc(name, 1)).unwrap();
    }
    let before = store.revision();
    let deleted = store
        .delete_all(&[
            key(Kind::Service, "a"),
            key(Kind::Service, "nope"),
            key(Kind::Service, "c"),
        ])
        .unwrap();
    let names: Vec<&str> = deleted.iter().map(|o| o.metadata.name.as_str()).collect();
    assert_eq!(names, ["a", "c"]);
    let left: Vec<String> = store
        .list(&ListQuery::new(Kind::Service))
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.metadata.name)
        .collect();
    assert_eq!(left, ["b"]);
    // One event per deleted object, as separate deletes would give.
    assert_eq!(store.revision(), before + 2);
    assert!(store.delete_all(&[]).unwrap().is_empty());
}

#[test]
fn write_all_commits_applies_statuses_and_deletes_together_or_nothing() {
    let (_d, store) = open();
    let old = Object::new(Kind::Service, "old", json!({"taskDefinition": "web"}));
    store.apply(old.clone()).unwrap();
    let svc = Object::new(Kind::Service, "web", json!({"taskDefinition": "web"}));
    let key = svc.key();
    let before = store.revision();
    store
        .write_all(vec![
            Write::Apply(Box::new(svc)),
            Write::Status {
                key: key.clone(),
                status: json!({"runningCount": 2}),
                expected_resource_version: None,
            },
            Write::Delete(old.key()),
            Write::Delete(ObjectKey::new(Kind::Service, None, "never-was")),
        ])
        .unwrap();
    assert_eq!(store.revision(), before + 3, "one revision per write");
    assert_eq!(store.get(&key).unwrap().unwrap().status["runningCount"], 2);
    assert!(store.get(&old.key()).unwrap().is_none());
    // A failing write (a stale resourceVersion) writes nothing of the batch.
    let rev = store.revision();
    let err = store
        .write_all(vec![
            Write::Apply(Box::new(Object::new(
                Kind::Service,
                "new",
                json!({"taskDefinition": "x"}),
            ))),
            Write::Status {
                key: key.clone(),
                status: json!({"runningCount": 3}),
                expected_resource_version: Some(1),
            },
        ])
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(store.revision(), rev);
    assert!(
        store
            .get(&ObjectKey::new(Kind::Service, None, "new"))
            .unwrap()
            .is_none()
    );
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// `names` of TaskDefinitions: the family once per revision (what admission's DNS alias rule
/// reads), revisions of one family together.
#[test]
fn names_of_task_definitions_are_families_once_per_revision() {
    let (_d, store) = open();
    for (family, image) in [("web", "a"), ("web", "b"), ("web-x", "a"), ("api", "a")] {
        store.apply(td(family, image)).unwrap();
    }
    let names = store.names(&ListQuery::new(Kind::TaskDefinition)).unwrap();
    assert_eq!(sorted(names.clone()), ["api", "web", "web", "web-x"]);
    let mut together = names.clone();
    together.dedup();
    assert_eq!(together.len(), 3, "{names:?}");
}
