//! The service controller with the task controller, on a FakeRuntime and a real store:
//! reconciles are driven by hand until the world settles.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::service::ServiceStatus;
use api::task::TaskStatus;
use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::service::reconciler::reconcile_service;
use ecsctl_controllers::task::reconciler::reconcile_task;
use runtime::FakeRuntime;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use store::{ListQuery, SledStore, Store};

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SledStore>,
    fake: Arc<FakeRuntime>,
    ctx: Context,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
    let fake = Arc::new(FakeRuntime::with_images(["img"]));
    let mut ctx = Context::new(store.clone(), fake.clone(), "test");
    ctx.service_backoff_cap = Duration::from_secs(60);
    World {
        _dir: dir,
        store,
        fake,
        ctx,
    }
}

impl World {
    fn apply(&self, kind: Kind, name: &str, spec: Value) {
        self.store.apply(Object::new(kind, name, spec)).unwrap();
    }
    fn svc(&self) -> ServiceStatus {
        self.store
            .get(&ObjectKey::new(Kind::Service, None, "web"))
            .unwrap()
            .unwrap()
            .status_as()
            .unwrap()
    }
    fn tasks(&self) -> Vec<Object> {
        self.store.list(&ListQuery::new(Kind::Task)).unwrap().items
    }
    /// One round: the service, then every task.
    async fn round(&self) {
        reconcile_service(&self.ctx, &ObjectKey::new(Kind::Service, None, "web"))
            .await
            .unwrap();
        for t in self.tasks() {
            reconcile_task(&self.ctx, &t.key()).await.unwrap();
        }
    }
    async fn settle(&self) {
        for _ in 0..15 {
            self.round().await;
        }
    }
    fn running(&self) -> usize {
        self.tasks()
            .iter()
            .filter(|t| {
                t.status_as::<TaskStatus>().unwrap().last_status == api::task::TaskPhase::Running
            })
            .count()
    }
}

fn td(cmd: &str) -> Value {
    json!({"containerDefinitions": [{"name": "app", "image": "img", "memory": 64, "command": ["sh", "-c", cmd]}]})
}

#[tokio::test]
async fn keeps_desired_count_and_rolls_out_a_new_revision() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", td("v1"));
    w.apply(
        Kind::Service,
        "web",
        json!({"taskDefinition": "web", "desiredCount": 3,
               "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}}),
    );
    w.settle().await;
    assert_eq!(w.running(), 3);
    let st = w.svc();
    assert_eq!((st.desired_count, st.running_count), (3, 3));
    assert_eq!(
        st.events[0].message,
        "(service web) has reached a steady state."
    );
    assert!(st.events.iter().any(|e| {
        e.message
            .starts_with("(service web) has started 3 tasks: (task ")
    }));
    assert_eq!(w.fake.containers().len(), 3);

    // A task dies: it is replaced.
    let victim = w.fake.containers()[0].id.clone();
    w.fake.crash(&victim, 1).unwrap();
    w.settle().await;
    assert_eq!(w.running(), 3);

    // A new revision rolls out.
    w.apply(Kind::TaskDefinition, "web", td("v2"));
    w.settle().await;
    let st = w.svc();
    let primary = st
        .deployments
        .iter()
        .find(|d| d.status.is_primary())
        .unwrap();
    assert_eq!(
        (
            primary.task_definition.as_str(),
            primary.rollout_state.as_str()
        ),
        ("web:2", "COMPLETED")
    );
    let running_defs: Vec<String> = w
        .tasks()
        .iter()
        .map(|t| t.status_as::<TaskStatus>().unwrap())
        .filter(|s| s.last_status == api::task::TaskPhase::Running)
        .map(|s| s.task_definition)
        .collect();
    assert_eq!(running_defs, vec!["web:2"; 3]);

    // Deployments are also objects of their own (system-owned).
    let deps = w
        .store
        .list(&ListQuery::new(Kind::Deployment))
        .unwrap()
        .items;
    assert_eq!(deps.len(), st.deployments.len());
    assert!(deps.iter().any(|d| d.spec["taskDefinition"] == "web:2" && d.status["rolloutState"] == "COMPLETED"));

    // Steady state: another round changes nothing.
    w.fake.clear_calls();
    let rev = w.store.revision();
    w.round().await;
    assert_eq!(w.fake.mutating_call_count(), 0);
    assert_eq!(w.store.revision(), rev);

    // Deleting the service stops its tasks.
    w.store
        .delete(&ObjectKey::new(Kind::Service, None, "web"))
        .unwrap();
    for _ in 0..3 {
        reconcile_service(&w.ctx, &ObjectKey::new(Kind::Service, None, "web"))
            .await
            .unwrap();
        for t in w.tasks() {
            reconcile_task(&w.ctx, &t.key()).await.unwrap();
        }
    }
    assert_eq!(w.running(), 0);
    assert!(
        w.store
            .list(&ListQuery::new(Kind::Deployment))
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn failing_revision_trips_the_breaker_and_rolls_back() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", td("v1"));
    w.apply(
        Kind::Service,
        "web",
        json!({"taskDefinition": "web", "desiredCount": 2,
               "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}}),
    );
    w.settle().await;
    // Revision 2 uses an image that does not exist: every task fails to start.
    w.apply(
        Kind::TaskDefinition,
        "web",
        json!({"containerDefinitions": [{"name": "app", "image": "ghost", "memory": 64}]}),
    );
    w.settle().await;
    let st = w.svc();
    let failed = st
        .deployments
        .iter()
        .find(|d| d.task_definition == "web:2")
        .unwrap();
    assert_eq!(failed.rollout_state, "FAILED", "{st:#?}");
    let primary = st
        .deployments
        .iter()
        .find(|d| d.status.is_primary())
        .unwrap();
    assert_eq!(primary.task_definition, "web:1");
    assert_eq!(w.running(), 2);
}

#[tokio::test]
async fn a_service_that_does_not_fit_says_so_instead_of_overcommitting() {
    let w = world();
    w.apply(
        Kind::Cluster,
        "default",
        json!({"capacity": {"memory": 150}}),
    );
    w.apply(Kind::TaskDefinition, "web", td("v1"));
    w.apply(
        Kind::Service,
        "web",
        json!({"taskDefinition": "web", "desiredCount": 3}),
    );
    w.settle().await;
    assert_eq!(
        w.running(),
        2,
        "two 64 MiB tasks fit in 150 MiB, the third does not"
    );
    let st = w.svc();
    assert!(
        st.events.iter().any(|e| e.message.starts_with(
            "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance"
        )),
        "{:#?}",
        st.events
    );
}
