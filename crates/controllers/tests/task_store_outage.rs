//! A task starting while its store cannot be reached (an agent whose servers are all gone,
//! a control plane whose etcd lost its quorum): reading its Secret fails with
//! `StoreError::Backend`. The task must wait (no container made meanwhile) and start once
//! the store answers, not be stopped as TaskFailedToStart. A Secret that is really missing
//! still stops it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::task::{StopCode, TaskPhase, TaskStatus};
use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::task::reconciler::reconcile_task;
use runtime::FakeRuntime;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use store::{ApplyResult, ListQuery, ObjectList, SledStore, Store, StoreError, Watch};

/// A store whose reads of Secrets fail while `down`, as an agent's store answers when no
/// server can be reached (the rest passes through, so that the task gets as far as
/// resolving its container's secrets).
struct Flaky {
    inner: SledStore,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self, kind: Kind) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) && kind == Kind::Secret {
            return Err(StoreError::Backend(
                "cannot reach any ecsctl server".to_string(),
            ));
        }
        Ok(())
    }
}

impl Store for Flaky {
    fn get(&self, key: &ObjectKey) -> Result<Option<Object>, StoreError> {
        self.check(key.kind)?;
        self.inner.get(key)
    }
    fn list(&self, query: &ListQuery) -> Result<ObjectList, StoreError> {
        self.inner.list(query)
    }
    fn apply(&self, obj: Object) -> Result<ApplyResult, StoreError> {
        self.inner.apply(obj)
    }
    fn apply_all(&self, objs: Vec<Object>, dry_run: bool) -> Result<Vec<ApplyResult>, StoreError> {
        self.inner.apply_all(objs, dry_run)
    }
    fn write_all(&self, writes: Vec<store::Write>) -> Result<(), StoreError> {
        self.inner.write_all(writes)
    }
    fn update_status(
        &self,
        key: &ObjectKey,
        status: Value,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError> {
        self.inner
            .update_status(key, status, expected_resource_version)
    }
    fn delete(&self, key: &ObjectKey) -> Result<Vec<Object>, StoreError> {
        self.inner.delete(key)
    }
    fn watch(&self, from_revision: u64) -> Result<Watch, StoreError> {
        self.inner.watch(from_revision)
    }
    fn revision(&self) -> u64 {
        self.inner.revision()
    }
    fn secret_value(&self, key: &ObjectKey) -> Result<Option<String>, StoreError> {
        self.check(Kind::Secret)?;
        self.inner.secret_value(key)
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<Flaky>,
    ctx: Context,
}

/// A task whose one container takes `DB_PASSWORD` from the Secret `secret`.
fn world(secret: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Flaky {
        inner: SledStore::open(dir.path().join("store")).unwrap(),
        down: AtomicBool::new(false),
    });
    let fake = Arc::new(FakeRuntime::with_images(["img"]));
    let ctx = Context::new(store.clone(), fake, "test");
    store
        .apply(Object::new(Kind::Secret, "db", json!({"value": "s3cret"})))
        .unwrap();
    store
        .apply(Object::new(
            Kind::TaskDefinition,
            "web",
            json!({"containerDefinitions": [{"name": "app", "image": "img", "memory": 64,
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": secret}]}]}),
        ))
        .unwrap();
    store
        .apply(Object::new(
            Kind::Task,
            "t1",
            json!({"taskDefinition": "web", "containerInstance": "test"}),
        ))
        .unwrap();
    World {
        _dir: dir,
        store,
        ctx,
    }
}

impl World {
    fn key(&self) -> ObjectKey {
        ObjectKey::new(Kind::Task, None, "t1")
    }
    fn status(&self) -> TaskStatus {
        self.store
            .get(&self.key())
            .unwrap()
            .unwrap()
            .status_as()
            .unwrap()
    }
    /// Reconciles until nothing is left to do; `Err` at the first reconcile that fails.
    async fn settle(&self) -> Result<(), String> {
        for _ in 0..10 {
            let next = reconcile_task(&self.ctx, &self.key())
                .await
                .map_err(|e| e.to_string())?;
            if next.is_await_change() {
                return Ok(());
            }
        }
        panic!("task t1 never settled: {:#?}", self.status());
    }
}

#[tokio::test]
async fn a_task_waits_for_an_unreachable_store_instead_of_failing_to_start() {
    let w = world("db");
    w.store.down.store(true, Ordering::SeqCst);
    let err = w
        .settle()
        .await
        .expect_err("the reconcile must fail and retry");
    assert!(err.contains("cannot reach any ecsctl server"), "{err}");
    let s = w.status();
    assert_ne!(s.last_status, TaskPhase::Stopped, "{s:#?}");
    assert_eq!(s.stop_code, None, "{s:#?}");
    assert!(
        s.containers.iter().all(|c| c.runtime_id.is_none()),
        "a container was made without its secret: {s:#?}"
    );

    w.store.down.store(false, Ordering::SeqCst);
    w.settle().await.unwrap();
    assert_eq!(w.status().last_status, TaskPhase::Running);
}

#[tokio::test]
async fn a_missing_secret_still_stops_the_task() {
    let w = world("absent");
    w.settle().await.unwrap();
    let s = w.status();
    assert_eq!(s.last_status, TaskPhase::Stopped);
    assert_eq!(s.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(
        s.stopped_reason
            .as_deref()
            .is_some_and(|r| r.contains("Secret absent does not exist")),
        "{s:#?}"
    );
}
