//! The controllers reach the store through `store::AsyncStore`: a slow store write (a disk
//! flush) runs on the blocking pool and does not stall the tokio worker, which the built-in
//! proxy shares. And ids come from the context, so a test can predict them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::service::ServiceStatus;
use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::service::reconciler::reconcile_service;
use runtime::FakeRuntime;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use store::{ApplyResult, ListQuery, ObjectList, SledStore, Store, StoreError, Watch};

/// How long each write of [`SlowStore`] holds its thread, as a slow disk flush would.
const FLUSH: Duration = Duration::from_millis(150);

/// A store whose writes block their thread for [`FLUSH`] before they happen.
struct SlowStore(SledStore);

impl Store for SlowStore {
    fn get(&self, key: &ObjectKey) -> Result<Option<Object>, StoreError> {
        self.0.get(key)
    }
    fn list(&self, query: &ListQuery) -> Result<ObjectList, StoreError> {
        self.0.list(query)
    }
    fn apply(&self, obj: Object) -> Result<ApplyResult, StoreError> {
        std::thread::sleep(FLUSH);
        self.0.apply(obj)
    }
    fn apply_all(&self, objs: Vec<Object>, dry_run: bool) -> Result<Vec<ApplyResult>, StoreError> {
        std::thread::sleep(FLUSH);
        self.0.apply_all(objs, dry_run)
    }
    fn write_all(&self, writes: Vec<store::Write>) -> Result<(), StoreError> {
        std::thread::sleep(FLUSH);
        self.0.write_all(writes)
    }
    fn update_status(
        &self,
        key: &ObjectKey,
        status: Value,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError> {
        std::thread::sleep(FLUSH);
        self.0.update_status(key, status, expected_resource_version)
    }
    fn delete(&self, key: &ObjectKey) -> Result<Vec<Object>, StoreError> {
        std::thread::sleep(FLUSH);
        self.0.delete(key)
    }
    fn watch(&self, from_revision: u64) -> Result<Watch, StoreError> {
        self.0.watch(from_revision)
    }
    fn revision(&self) -> u64 {
        self.0.revision()
    }
    fn secret_value(&self, key: &ObjectKey) -> Result<Option<String>, StoreError> {
        self.0.secret_value(key)
    }
}

fn seed(store: &SledStore, desired: u32) {
    let td = json!({"containerDefinitions": [{"name": "app", "image": "img", "memory": 64}]});
    store
        .apply(Object::new(Kind::TaskDefinition, "web", td))
        .unwrap();
    let svc = json!({"taskDefinition": "web", "desiredCount": desired});
    store.apply(Object::new(Kind::Service, "web", svc)).unwrap();
}

// One worker thread: if a reconcile blocked it on a store write, the ticker spawned beside it
// could not run until the write returned. On a current-thread runtime the writes go to the
// blocking pool; on a multi-thread one they run in place and tokio moves the worker's other
// tasks (the ticker) to another thread meanwhile: both must keep the ticker going.
#[tokio::test(flavor = "current_thread")]
async fn a_slow_store_write_does_not_stall_the_worker() {
    reconcile_beside_a_ticker().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_slow_store_write_does_not_stall_the_only_worker_of_a_multi_thread_runtime() {
    reconcile_beside_a_ticker().await;
}

async fn reconcile_beside_a_ticker() {
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStore::open(dir.path().join("store")).unwrap();
    seed(&sled, 2);
    let store: Arc<dyn Store> = Arc::new(SlowStore(sled));
    let ctx = Context::new(store, Arc::new(FakeRuntime::with_images(["img"])), "test");

    let ticks = Arc::new(AtomicUsize::new(0));
    let ticker = tokio::spawn({
        let ticks = Arc::clone(&ticks);
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let started = std::time::Instant::now();
    reconcile_service(&ctx, &ObjectKey::new(Kind::Service, None, "web"))
        .await
        .unwrap();
    let took = started.elapsed();
    ticker.abort();

    // The reconcile wrote (tasks, deployment records and status, in one transaction).
    assert!(took >= FLUSH, "the reconcile wrote nothing: {took:?}");
    // A starved worker ticks only between writes; a free one about every 5 ms throughout.
    let ticks = ticks.load(Ordering::Relaxed);
    let expected = (took.as_millis() / 5 / 4) as usize;
    assert!(
        ticks >= expected,
        "the worker stalled during store writes: {ticks} ticks in {took:?} (want >= {expected})"
    );
}

#[tokio::test]
async fn task_and_deployment_ids_come_from_the_context() {
    let dir = tempfile::tempdir().unwrap();
    let sled = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
    seed(&sled, 2);
    let mut ctx = Context::new(
        sled.clone(),
        Arc::new(FakeRuntime::with_images(["img"])),
        "test",
    );
    let next = Arc::new(AtomicU64::new(0));
    ctx.new_id = Arc::new(move || {
        uuid::Uuid::from_u128(u128::from(next.fetch_add(1, Ordering::Relaxed) + 1))
    });

    reconcile_service(&ctx, &ObjectKey::new(Kind::Service, None, "web"))
        .await
        .unwrap();

    let status: ServiceStatus = sled
        .get(&ObjectKey::new(Kind::Service, None, "web"))
        .unwrap()
        .unwrap()
        .status_as()
        .unwrap();
    let ids: Vec<&str> = status.deployments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["ecs-svc/0000000000000000001"]);
    let tasks: BTreeSet<String> = sled
        .list(&ListQuery::new(Kind::Task))
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.metadata.name)
        .collect();
    let expected: BTreeSet<String> = [3u128, 4]
        .map(|n| uuid::Uuid::from_u128(n).simple().to_string())
        .into();
    assert_eq!(tasks, expected);
}
