//! A sled store written without the label index gets it at open (that the index follows
//! label changes and deletes is the contract suite's, tests/store/labels.rs).

#![allow(clippy::unwrap_used)]

use api::{Kind, Object};
use ecsctl_store::{ListQuery, SledStore, Store};
use serde_json::json;

fn task(name: &str, svc: &str) -> Object {
    let mut o = Object::new(Kind::Task, name, json!({"taskDefinition": "web"}));
    o.metadata
        .labels
        .insert("ecsctl.service".into(), svc.into());
    o
}

fn names(store: &SledStore, svc: &str) -> Vec<String> {
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
fn index_is_built_for_a_store_that_lacks_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store
            .apply_all(vec![task("a", "web"), task("b", "web")], false)
            .unwrap();
    }
    {
        // Forget the index, as a store written by an older release would be.
        let db = raw_open(dir.path());
        db.open_tree("labels").unwrap().clear().unwrap();
        db.open_tree("meta")
            .unwrap()
            .remove("label-index-v1")
            .unwrap();
        db.flush().unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(names(&store, "web"), vec!["a", "b"]);
}

/// The sled database under a store, opened by hand. sled releases a dropped database's lock
/// from a background thread a moment later (SledStore::open waits for it; so must this, or
/// the test fails whenever that thread is slow, as on a loaded machine).
fn raw_open(path: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() < deadline => {
                assert!(e.to_string().contains("could not acquire lock"), "{e}");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("cannot open {}: {e}", path.display()),
        }
    }
}
