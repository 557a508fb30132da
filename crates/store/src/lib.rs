//! ecsctl's object store: the [`Store`] trait every other crate programs against, and
//! its two backends: [`SledStore`] (embedded, one server) and [`EtcdStore`] (etcd, several
//! servers sharing one state, with [`Election`] choosing the one whose controllers act).
//!
//! The store keeps objects in their untyped envelope ([`api::Object`]), assigns the
//! system-owned metadata (uid, resourceVersion, generation, revision, creationTimestamp),
//! keeps immutable TaskDefinition revisions, and records every write in a bounded event log
//! that [`Store::watch`] replays before it streams live events.
//!
//! Async code reaches the store through [`AsyncStore`], which runs writes (they flush to
//! disk) without holding up the other tasks of a tokio worker.
//!
//! Only this crate names sled and etcd; everything else it exposes is backend-neutral.
#![forbid(unsafe_code)]

mod async_store;
mod error;
mod etcd_store;
mod keys;
mod plan;
mod sled_store;
mod typed;
mod types;
mod watch;

pub use async_store::AsyncStore;
pub use error::StoreError;
pub use etcd_store::{
    DEFAULT_PREFIX, Election, EtcdOptions, EtcdStore, EtcdTls, LeaderInfo, Leadership,
};
pub use sled_store::{SledStore, StoreOptions};
pub use typed::StoreExt;
pub use types::{ApplyAction, ApplyResult, ListQuery, ObjectList, Store, Write};
pub use watch::{Watch, WatchEvent, WatchEventType};
