//! What only the etcd backend does, on real etcd clusters from `etcd-harness`: several
//! servers (stores) on one state, concurrent writers, compaction of etcd's history, the loss
//! of a member, the leader election and its fence, etcd's limits on one transaction, how
//! a bad `--store` or an unreachable etcd fails, and TLS to etcd (certificates, refusals,
//! unusable files). The generic `Store` behaviour is the
//! contract suite's (`tests/store/`), which runs on etcd too.
//!
//! Each test starts its own cluster and opens its stores under a prefix of its own. The
//! tests are in `etcd/`, by subject; this file holds what they share.
#![cfg(feature = "etcd-tests")]
#![allow(clippy::unwrap_used)]

#[path = "etcd/compaction.rs"]
mod compaction;
#[path = "etcd/election.rs"]
mod election;
#[path = "etcd/failover.rs"]
mod failover;
#[path = "etcd/limits.rs"]
mod limits;
#[path = "etcd/sharing.rs"]
mod sharing;
#[path = "etcd/tls.rs"]
mod tls;

use api::{Kind, Object, ObjectKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ecsctl_store::{
    EtcdOptions, EtcdStore, ListQuery, Store, StoreError, Watch, WatchEvent, WatchEventType,
};
use etcd_harness::EtcdCluster;
use serde_json::json;
use std::time::{Duration, Instant};

/// How long one step (a call, the next watch event) may take before the test calls it stuck.
const STEP: Duration = Duration::from_secs(10);

/// How long a watch that yielded everything must then stay quiet (no duplicate, no extra).
const QUIET: Duration = Duration::from_millis(300);

fn unique_prefix() -> String {
    format!("/etcd-test-{}", uuid::Uuid::new_v4().simple())
}

fn options(cluster: &EtcdCluster, prefix: &str) -> EtcdOptions {
    let mut options = EtcdOptions::from_url(&cluster.store_url()).unwrap();
    options.prefix = prefix.to_string();
    options
}

/// A store on every member of `cluster`, under `prefix`: one ecsctl server's connection.
fn connect(cluster: &EtcdCluster, prefix: &str) -> EtcdStore {
    EtcdStore::connect(options(cluster, prefix)).unwrap()
}

fn svc(name: &str, desired: u64) -> Object {
    Object::new(
        Kind::Service,
        name,
        json!({"taskDefinition": "web", "desiredCount": desired}),
    )
}

fn service(name: &str) -> ObjectKey {
    ObjectKey::new(Kind::Service, None, name)
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

/// The next event of `watch`, which must come within [`STEP`].
async fn next_event(watch: &mut Watch) -> WatchEvent {
    tokio::time::timeout(STEP, watch.next())
        .await
        .expect("the watch stalled")
        .expect("the watch ended")
        .expect("the watch failed")
}

/// Every event up to store revision `last`; then the watch must stay quiet.
async fn events_through(watch: &mut Watch, last: u64) -> Vec<WatchEvent> {
    let mut events = Vec::new();
    while events.last().is_none_or(|e: &WatchEvent| e.revision < last) {
        events.push(next_event(watch).await);
    }
    if let Ok(extra) = tokio::time::timeout(QUIET, watch.next()).await {
        panic!("the watch yielded more than revision {last}: {extra:?}");
    }
    events
}

fn revisions(events: &[WatchEvent]) -> Vec<u64> {
    events.iter().map(|e| e.revision).collect()
}

/// (revision, type, name) of each event: what two watches must agree on.
fn summary(events: &[WatchEvent]) -> Vec<(u64, WatchEventType, String)> {
    events
        .iter()
        .map(|e| (e.revision, e.event_type, e.object.metadata.name.clone()))
        .collect()
}
