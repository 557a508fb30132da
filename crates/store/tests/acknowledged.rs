//! A store whose files lost acknowledged writes refuses to open, saying how to recover;
//! it never silently continues from an older revision.

#![allow(clippy::unwrap_used)]

use api::{Kind, Object};
use ecsctl_store::{SledStore, Store};
use serde_json::json;

#[test]
fn lost_acknowledged_writes_refuse_to_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        for i in 0..5 {
            store
                .apply(Object::new(Kind::Cluster, format!("c{i}"), json!({})))
                .unwrap();
        }
        assert_eq!(store.revision(), 5);
    }
    // Reopening an intact store is fine.
    drop(SledStore::open(dir.path()).unwrap());
    // Simulate sled recovering at an earlier revision: the mark says 9 were acknowledged.
    std::fs::write(dir.path().join("acknowledged-revision"), 9u64.to_be_bytes()).unwrap();
    let Err(err) = SledStore::open(dir.path()) else {
        panic!("a store that lost acknowledged writes opened")
    };
    let err = err.to_string();
    assert!(
        err.contains("recovered at revision 5, but revision 9 was acknowledged"),
        "{err}"
    );
    assert!(err.contains("Restore the directory from a backup"), "{err}");
    assert!(err.contains("delete"), "{err}");
    // The way out it names works.
    std::fs::remove_file(dir.path().join("acknowledged-revision")).unwrap();
    assert_eq!(SledStore::open(dir.path()).unwrap().revision(), 5);
}
