//! Behaviour of the sled store through the public `Store` trait.
#![allow(clippy::unwrap_used)]

mod objects;
mod watch;

use api::{Kind, Object, ObjectKey};
use ecsctl_store::SledStore;
use serde_json::json;

pub(crate) fn open() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path().join("store")).unwrap();
    (dir, store)
}

pub(crate) fn svc(name: &str, desired: u64) -> Object {
    Object::new(
        Kind::Service,
        name,
        json!({"taskDefinition": "web", "desiredCount": desired}),
    )
}

pub(crate) fn td(family: &str, image: &str) -> Object {
    Object::new(
        Kind::TaskDefinition,
        family,
        json!({"family": family, "containerDefinitions": [{"name": "app", "image": image}]}),
    )
}

pub(crate) fn key(kind: Kind, name: &str) -> ObjectKey {
    ObjectKey::new(kind, None, name)
}
