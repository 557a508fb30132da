//! The load balancer controller on a real store and a recording balancer: what it hands the
//! balancer, that a converged load balancer makes no call, and how balancer errors are
//! retried or wait for a change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::balancer::{CertificatePem, LbConfig, Target};
use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::loadbalancer::reconciler::reconcile_load_balancer;
use ecsctl_controllers::loadbalancer::{Balancer, BalancerError, CERTIFICATE_REREAD, LbController};
use futures::future::BoxFuture;
use runtime::{FakeRuntime, labels};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use store::{SledStore, Store, WatchEvent, WatchEventType};

/// A call the controller made.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Upsert(Box<LbConfig>),
    Remove(String, String),
}

/// Records calls; answers upserts with the queued errors first.
#[derive(Debug, Default)]
struct Recorder {
    calls: Mutex<Vec<Call>>,
    errors: Mutex<Vec<BalancerError>>,
}

impl Recorder {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl Balancer for Recorder {
    fn upsert(&self, config: LbConfig) -> BoxFuture<'_, Result<(), BalancerError>> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Upsert(Box::new(config)));
        let error = self.errors.lock().unwrap().pop();
        Box::pin(async move { error.map_or(Ok(()), Err) })
    }
    fn remove<'a>(&'a self, cluster: &'a str, name: &'a str) -> BoxFuture<'a, ()> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Remove(cluster.into(), name.into()));
        Box::pin(async {})
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SledStore>,
    ctx: Context,
    recorder: Arc<Recorder>,
    lbs: LbController,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
    let ctx = Context::new(store.clone(), Arc::new(FakeRuntime::new()), "test");
    let recorder = Arc::new(Recorder::default());
    let lbs = LbController::new(recorder.clone());
    World {
        _dir: dir,
        store,
        ctx,
        recorder,
        lbs,
    }
}

fn front() -> ObjectKey {
    ObjectKey::new(Kind::LoadBalancer, None, "front")
}

impl World {
    fn apply(&self, kind: Kind, name: &str, spec: Value) {
        self.store.apply(Object::new(kind, name, spec)).unwrap();
    }
    fn task(&self, id: &str, phase: &str, desired: &str, ip: &str) {
        let mut t = Object::new(Kind::Task, id, json!({"taskDefinition": "web:1"}));
        t.metadata
            .labels
            .insert(labels::SERVICE.into(), "web".into());
        self.store.apply(t).unwrap();
        self.store
            .update_status(
                &ObjectKey::new(Kind::Task, None, id),
                json!({"taskDefinition": "web:1", "lastStatus": phase, "desiredStatus": desired,
                       "healthStatus": "UNKNOWN", "privateIp": ip, "containers": []}),
                None,
            )
            .unwrap();
    }
    /// A load balancer in front of service `web` (awsvpc tasks), with one task running.
    fn converging(&self) {
        self.apply(
            Kind::TaskDefinition,
            "web",
            json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "app", "image": "x",
                   "memory": 8, "portMappings": [{"containerPort": 80}]}]}),
        );
        self.apply(
            Kind::LoadBalancer,
            "front",
            json!({"listeners": [{"port": 8080, "protocol": "HTTP", "defaultService": "web"}]}),
        );
        self.apply(
            Kind::Service,
            "web",
            json!({"taskDefinition": "web", "desiredCount": 1, "loadBalancers":
                   [{"loadBalancerName": "front", "containerName": "app", "containerPort": 80}]}),
        );
        self.task("a", "RUNNING", "RUNNING", "172.20.0.2");
    }
    async fn reconcile(&self) -> reconcile::Action {
        reconcile_load_balancer(&self.ctx, &self.lbs, &front())
            .await
            .unwrap()
    }
    fn upserted(&self) -> Vec<LbConfig> {
        self.recorder
            .take()
            .into_iter()
            .map(|c| match c {
                Call::Upsert(c) => *c,
                other => panic!("expected an upsert, got {other:?}"),
            })
            .collect()
    }
}

fn target(id: &str, addr: &str) -> Target {
    Target {
        task_id: id.into(),
        addr: addr.parse().unwrap(),
    }
}

#[tokio::test]
async fn targets_follow_the_tasks_and_a_converged_lb_makes_no_call() {
    let w = world();
    w.converging();
    assert!(w.reconcile().await.is_await_change());
    let applied = w.upserted();
    assert_eq!(applied.len(), 1);
    assert_eq!(
        applied[0].targets["web"],
        vec![target("a", "172.20.0.2:80")]
    );

    // Steady state: nothing changed, nothing is handed to the balancer.
    w.reconcile().await;
    assert_eq!(w.recorder.take(), vec![]);

    // A rollout: the new task runs, the old one is asked to stop and drains.
    w.task("b", "RUNNING", "RUNNING", "172.20.0.3");
    w.task("a", "RUNNING", "STOPPED", "172.20.0.2");
    w.reconcile().await;
    let applied = w.upserted();
    assert_eq!(
        applied[0].targets["web"],
        vec![target("b", "172.20.0.3:80")]
    );
    assert_eq!(applied[0].draining, vec![target("a", "172.20.0.2:80")]);
    w.reconcile().await;
    assert_eq!(w.recorder.take(), vec![]);

    // Deleted: removed once, then nothing.
    w.store.delete(&front()).unwrap();
    w.reconcile().await;
    assert_eq!(
        w.recorder.take(),
        vec![Call::Remove("default".into(), "front".into())]
    );
    w.reconcile().await;
    assert_eq!(w.recorder.take(), vec![]);
}

#[tokio::test]
async fn store_events_reach_only_the_load_balancers_they_matter_to() {
    let w = world();
    w.converging();
    w.apply(
        Kind::LoadBalancer,
        "admin",
        json!({"listeners": [{"port": 8081, "protocol": "HTTP", "defaultService": "admin"}]}),
    );
    w.reconcile().await;
    reconcile_load_balancer(
        &w.ctx,
        &w.lbs,
        &ObjectKey::new(Kind::LoadBalancer, None, "admin"),
    )
    .await
    .unwrap();
    let event = |o: Object| WatchEvent {
        revision: 1,
        event_type: WatchEventType::Modified,
        object: o,
    };
    let task = w
        .store
        .get(&ObjectKey::new(Kind::Task, None, "a"))
        .unwrap()
        .unwrap();
    assert_eq!(w.lbs.reach.affected(&event(task)), vec![front()]);
    let td = w
        .store
        .get(&ObjectKey::new(Kind::TaskDefinition, None, "web:1"))
        .unwrap()
        .unwrap();
    assert_eq!(w.lbs.reach.affected(&event(td)), vec![front()]);
}

#[tokio::test]
async fn retryable_errors_are_retried_and_others_wait_for_a_change() {
    let w = world();
    w.converging();
    w.recorder.errors.lock().unwrap().push(BalancerError {
        message: "cannot listen on port 8080: address in use".into(),
        retry: true,
    });
    let err = reconcile_load_balancer(&w.ctx, &w.lbs, &front())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("address in use"), "{err}");
    // Not recorded as applied: the retry hands the same state again.
    w.reconcile().await;
    assert_eq!(w.upserted().len(), 2);

    w.apply(
        Kind::LoadBalancer,
        "front",
        json!({"listeners": [{"port": 8080, "protocol": "HTTP", "defaultService": "web"}],
               "healthCheck": {"matcher": "nope"}}),
    );
    w.recorder.errors.lock().unwrap().push(BalancerError {
        message: "invalid health check matcher".into(),
        retry: false,
    });
    assert!(w.reconcile().await.is_await_change());
    assert_eq!(w.upserted().len(), 1);
    // Applying it again would not help: nothing until something changes.
    w.reconcile().await;
    assert_eq!(w.recorder.take(), vec![]);
}

#[tokio::test]
async fn certificates_are_read_from_secrets_and_re_read_periodically() {
    let w = world();
    w.apply(
        Kind::LoadBalancer,
        "front",
        json!({"listeners": [{"port": 8443, "protocol": "HTTPS", "defaultService": "web",
               "certificates": [{"certificateArn": "web-cert"}]}]}),
    );
    let action = w.reconcile().await;
    assert_eq!(action.requeue_after(), Some(CERTIFICATE_REREAD));
    let applied = w.upserted();
    assert!(
        matches!(&applied[0].certificates["web-cert"], CertificatePem::Unavailable(why) if why.contains("does not exist")),
        "{:?}",
        applied[0].certificates
    );
    w.apply(Kind::Secret, "web-cert", json!({"value": "PEM TEXT"}));
    w.reconcile().await;
    let applied = w.upserted();
    assert_eq!(
        applied[0].certificates["web-cert"],
        CertificatePem::Pem("PEM TEXT".into())
    );
    w.reconcile().await;
    assert_eq!(w.recorder.take(), vec![]);
}

/// Waits (bounded) until the recorder holds a call that satisfies `want`.
async fn wait_for(recorder: &Recorder, what: &str, want: impl Fn(&Call) -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !recorder.calls.lock().unwrap().iter().any(&want) {
        assert!(tokio::time::Instant::now() < deadline, "no call: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

fn upsert_of(name: &str, targets: usize) -> impl Fn(&Call) -> bool + '_ {
    move |c| {
        matches!(c, Call::Upsert(cfg) if cfg.name == name
            && cfg.targets.values().map(Vec::len).sum::<usize>() == targets)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_change_wakes_only_the_load_balancer_in_front_of_its_service() {
    let w = world();
    w.apply(
        Kind::LoadBalancer,
        "admin",
        json!({"listeners": [{"port": 8081, "protocol": "HTTP", "defaultService": "admin"}]}),
    );
    w.converging();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(ecsctl_controllers::loadbalancer::run(
        w.ctx.clone(),
        w.recorder.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));
    wait_for(&w.recorder, "front with task a", upsert_of("front", 1)).await;
    wait_for(&w.recorder, "admin", upsert_of("admin", 0)).await;
    w.recorder.take();

    w.task("b", "RUNNING", "RUNNING", "172.20.0.3");
    wait_for(
        &w.recorder,
        "front with tasks a and b",
        upsert_of("front", 2),
    )
    .await;
    // Give a stray wake-up of admin the time to show.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let calls = w.recorder.take();
    assert!(
        calls
            .iter()
            .all(|c| matches!(c, Call::Upsert(cfg) if cfg.name == "front")),
        "{calls:?}"
    );

    w.store.delete(&front()).unwrap();
    wait_for(&w.recorder, "front removed", |c| {
        *c == Call::Remove("default".into(), "front".into())
    })
    .await;
    stop_tx.send(()).unwrap();
    running.await.unwrap();
}
