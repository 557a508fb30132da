//! The contract on sled.

pub(crate) use super::{key, svc, td};
use crate::fixture::{Fixture, Store};

pub(crate) fn open() -> (Fixture, Store) {
    Fixture::sled()
}

#[path = "labels.rs"]
mod labels;
#[path = "objects.rs"]
mod objects;
#[path = "secrets.rs"]
mod secrets;
#[path = "watch.rs"]
mod watch;
