//! The task controller of an agent whose instance was lost while it was away: the control
//! plane stopped its tasks (`instance::monitor`), so a task recorded STOPPED never runs
//! again, its containers are stopped and removed, and a status write that lost the race to
//! the control plane's (or that the server refuses with 409) is read again, not retried in
//! an error loop and never written over the STOPPED.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::task::{StopCode, TaskPhase, TaskStatus};
use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::instance::monitor::stopped_by_loss;
use ecsctl_controllers::task::reconciler::reconcile_task;
use runtime::{ContainerRuntime, FakeRuntime};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use store::{ApplyResult, ListQuery, ObjectList, SledStore, Store, StoreError, Watch};

const NOW: i64 = 1_767_225_600;

/// The server's store as an agent meets it: a task status that would take a STOPPED task
/// back is counted (`refused`) and, with `refuses`, refused as the server's `PUT .../status`
/// does (409, a conflict to the agent; in process nothing refuses it); when asked, the
/// control plane's STOPPED lands right before the agent's next task status write.
struct AsAgentSeesIt {
    inner: SledStore,
    refuses: bool,
    control_plane_first: AtomicBool,
    refused: AtomicUsize,
}

impl Store for AsAgentSeesIt {
    fn get(&self, key: &ObjectKey) -> Result<Option<Object>, StoreError> {
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
        if key.kind == Kind::Task {
            if self.control_plane_first.swap(false, Ordering::SeqCst) {
                let now = "2026-01-01T00:00:31Z";
                let current: TaskStatus = self.inner.get(key)?.unwrap().status_as().unwrap();
                let lost = stopped_by_loss(&current, "test", Duration::from_secs(31), now);
                self.inner
                    .update_status(key, serde_json::to_value(lost).unwrap(), None)?;
            }
            let stored: TaskStatus = self.inner.get(key)?.unwrap().status_as().unwrap();
            let next: TaskStatus = serde_json::from_value(status.clone()).unwrap();
            if stored.last_status.is_terminal() && !next.last_status.is_terminal() {
                if !self.refuses {
                    self.refused.fetch_add(1, Ordering::SeqCst);
                    return self
                        .inner
                        .update_status(key, status, expected_resource_version);
                }
                self.refused.fetch_add(1, Ordering::SeqCst);
                return Err(StoreError::Conflict {
                    key: key.clone(),
                    expected: expected_resource_version.unwrap_or(0),
                    actual: None,
                });
            }
        }
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
        self.inner.secret_value(key)
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<AsAgentSeesIt>,
    fake: Arc<FakeRuntime>,
    ctx: Context,
}

fn world(refuses: bool) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(AsAgentSeesIt {
        inner: SledStore::open(dir.path().join("store")).unwrap(),
        refuses,
        control_plane_first: AtomicBool::new(false),
        refused: AtomicUsize::new(0),
    });
    let fake = Arc::new(FakeRuntime::with_images(["img"]));
    let mut ctx = Context::new(store.clone(), fake.clone(), "test");
    ctx.now = Arc::new(|| time::OffsetDateTime::from_unix_timestamp(NOW).unwrap());
    let td = json!({"containerDefinitions": [
        {"name": "db", "image": "img", "memory": 64},
        {"name": "app", "image": "img", "memory": 64,
         "dependsOn": [{"containerName": "db", "condition": "START"}]}
    ]});
    store
        .apply(Object::new(Kind::TaskDefinition, "web", td))
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
        fake,
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
    /// Reconciles until nothing is left to do; fails on an error.
    async fn settle(&self) {
        for _ in 0..10 {
            let next = reconcile_task(&self.ctx, &self.key()).await.unwrap();
            if next.is_await_change() {
                return;
            }
        }
        panic!("task t1 never settled: {:#?}", self.status());
    }
    async fn containers(&self) -> usize {
        self.fake
            .list(&self.ctx.owned(&[]), true)
            .await
            .unwrap()
            .len()
    }
}

#[tokio::test]
async fn a_task_stopped_while_its_agent_was_away_is_stopped_and_removed() {
    let w = world(true);
    w.settle().await;
    assert_eq!(w.status().last_status, TaskPhase::Running);
    assert_eq!(w.containers().await, 2);
    // The control plane stopped it while the agent was silent; its containers still run.
    let lost = stopped_by_loss(
        &w.status(),
        "test",
        Duration::from_secs(31),
        "2026-01-01T00:00:31Z",
    );
    w.store
        .update_status(&w.key(), serde_json::to_value(&lost).unwrap(), None)
        .unwrap();

    w.settle().await;
    assert_eq!(w.containers().await, 0, "stopped and removed");
    let s = w.status();
    assert_eq!(s.last_status, TaskPhase::Stopped);
    assert_eq!(s.stop_code, Some(StopCode::TerminationNotice));
    assert_eq!(s.stopped_reason, lost.stopped_reason);
    assert_eq!(
        w.store.refused.load(Ordering::SeqCst),
        0,
        "never asked to start it again"
    );
    // Converged: another reconcile changes nothing.
    let rv = w
        .store
        .get(&w.key())
        .unwrap()
        .unwrap()
        .metadata
        .resource_version;
    w.settle().await;
    assert_eq!(
        w.store
            .get(&w.key())
            .unwrap()
            .unwrap()
            .metadata
            .resource_version,
        rv
    );
}

#[tokio::test]
async fn a_status_planned_before_the_control_plane_stopped_the_task_is_not_written() {
    // In process (the write's compare and swap protects the STOPPED), and through the
    // server (which also refuses it with 409).
    for refuses in [false, true] {
        let w = world(refuses);
        // The task's first pass creates and starts its containers; the control plane's
        // STOPPED lands just before the pass records RUNNING.
        w.store.control_plane_first.store(true, Ordering::SeqCst);
        let next = reconcile_task(&w.ctx, &w.key()).await.unwrap();
        assert!(
            next.requeue_after().is_some(),
            "read again soon, not an error: {next:?}"
        );
        let s = w.status();
        assert_eq!(s.last_status, TaskPhase::Stopped, "the STOPPED stands");
        assert_eq!(s.stop_code, Some(StopCode::TerminationNotice));
        assert_eq!(w.containers().await, 2, "started before the news");

        w.settle().await;
        assert_eq!(w.containers().await, 0);
        assert_eq!(w.status().last_status, TaskPhase::Stopped);
        assert_eq!(
            w.store.refused.load(Ordering::SeqCst),
            1,
            "only the racing write (planned before the STOPPED) would have taken it back"
        );
    }
}
