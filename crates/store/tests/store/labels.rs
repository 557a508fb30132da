//! Label selectors read through the label index: it follows label changes and deletes.

use super::open;
use crate::fixture::Store;
use api::{Kind, Object, ObjectKey};
use ecsctl_store::ListQuery;
use serde_json::json;

fn task(name: &str, svc: &str) -> Object {
    let mut o = Object::new(Kind::Task, name, json!({"taskDefinition": "web"}));
    o.metadata
        .labels
        .insert("ecsctl.service".into(), svc.into());
    o
}

fn names(store: &Store, svc: &str) -> Vec<String> {
    let q = ListQuery::new(Kind::Task).with_label("ecsctl.service", svc);
    store
        .list(&q)
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.metadata.name)
        .collect()
}

#[test]
fn index_follows_label_changes_and_deletes() {
    let (fixture, store) = open();
    store
        .apply_all(
            vec![task("a", "web"), task("b", "web"), task("c", "api")],
            false,
        )
        .unwrap();
    assert_eq!(names(&store, "web"), vec!["a", "b"]);
    store.apply(task("b", "api")).unwrap();
    assert_eq!(names(&store, "web"), vec!["a"]);
    assert_eq!(names(&store, "api"), vec!["b", "c"]);
    store
        .delete(&ObjectKey::new(Kind::Task, None, "c"))
        .unwrap();
    assert_eq!(names(&store, "api"), vec!["b"]);
    // A selector on two labels, and the cluster filter, still apply.
    let q = ListQuery::new(Kind::Task)
        .with_label("ecsctl.service", "api")
        .with_label("x", "y");
    assert!(store.list(&q).unwrap().items.is_empty());
    let q = ListQuery::new(Kind::Task)
        .in_cluster("other")
        .with_label("ecsctl.service", "api");
    assert!(store.list(&q).unwrap().items.is_empty());
    drop(store);
    // Reopened: the same answers.
    let store = fixture.reopen(None);
    assert_eq!(names(&store, "api"), vec!["b"]);
}
