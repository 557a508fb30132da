//! The store's contract: every behaviour of the `Store` trait, run against each backend
//! (sled always; etcd with the `etcd-tests` feature, on a real etcd), as the runtime crate's
//! contract suite runs against Docker and the fake.
#![allow(clippy::unwrap_used)]
// Each backend's module includes the same contract files (`on_sled.rs`, `on_etcd.rs`): one
// text of the contract, compiled once per backend with that backend's `open`.
#![allow(clippy::duplicate_mod)]

mod fixture;

use api::{Kind, Object, ObjectKey};
use serde_json::json;

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

mod on_sled;

#[cfg(feature = "etcd-tests")]
mod on_etcd;
