//! The contract on etcd (each test in a prefix of its own).

pub(crate) use super::{key, svc, td};
use crate::fixture::{Fixture, Store};

pub(crate) fn open() -> (Fixture, Store) {
    Fixture::etcd()
}

#[path = "labels.rs"]
mod labels;
#[path = "objects.rs"]
mod objects;
#[path = "secrets.rs"]
mod secrets;
#[path = "watch.rs"]
mod watch;
