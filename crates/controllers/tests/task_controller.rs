//! The task controller on a FakeRuntime and a real (temporary) sled store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::task::{ContainerPhase, StopCode, TaskPhase, TaskStatus};
use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::task::reconciler::reconcile_task;
use runtime::{FakeRuntime, Op};
use serde_json::{Value, json};
use std::sync::Arc;
use store::{SledStore, Store};

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
    let ctx = Context {
        store: store::AsyncStore::new(store.clone()),
        runtime: fake.clone(),
        now: Arc::new(|| time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap()),
        new_id: Arc::new(uuid::Uuid::new_v4),
        instance: "test".to_string(),
        publish_address: "127.0.0.1".to_string(),
        keep_stopped_tasks: 10,
        task_stopped: Arc::default(),
        service_backoff_cap: std::time::Duration::from_secs(60),
        traffic: Arc::new(ecsctl_controllers::NoTraffic),
        ledger: Arc::default(),
        metrics: ecsctl_controllers::metrics::Metrics::new(
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(3600),
        ),
        secrets: ecsctl_controllers::task::secrets::SecretReader {
            sources: Default::default(),
            env: Arc::new(|_: &str| None),
            by_server: false,
        },
        protected_host_paths: Vec::new(),
        packet_filters: Arc::default(),
        roles: Arc::new(ecsctl_controllers::task::roles::LocalRoles {
            store: store.clone(),
            secrets: ecsctl_controllers::task::secrets::SecretReader::new(Default::default()),
        }),
        task_endpoint: None,
    };
    World {
        _dir: dir,
        store,
        fake,
        ctx,
    }
}

impl World {
    /// Applies an object; a Task is placed on this instance ("test"), as the scheduler would.
    fn apply(&self, kind: Kind, name: &str, mut spec: Value) {
        if kind == Kind::Task {
            spec["containerInstance"] = json!("test");
        }
        self.store.apply(Object::new(kind, name, spec)).unwrap();
    }
    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey::new(Kind::Task, None, name)
    }
    fn status(&self, name: &str) -> TaskStatus {
        self.store
            .get(&self.key(name))
            .unwrap()
            .unwrap()
            .status_as()
            .unwrap()
    }
    async fn reconcile(&self, name: &str) {
        reconcile_task(&self.ctx, &self.key(name)).await.unwrap();
    }
    /// Reconciles until the task reaches `phase` (or gives up).
    async fn until(&self, name: &str, phase: TaskPhase) -> TaskStatus {
        for _ in 0..10 {
            self.reconcile(name).await;
            let s = self.status(name);
            if s.last_status == phase {
                return s;
            }
        }
        panic!(
            "task {name} never reached {phase:?}: {:#?}",
            self.status(name)
        );
    }
}

fn web_td(image: &str) -> Value {
    json!({"containerDefinitions": [
        {"name": "init", "image": image, "memory": 64, "essential": false},
        {"name": "app", "image": image, "memory": 64, "dependsOn": [{"containerName": "init", "condition": "START"}],
         "portMappings": [{"containerPort": 80}]}
    ]})
}

#[tokio::test]
async fn runs_a_task_and_then_does_nothing() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", web_td("img"));
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "web"}));
    let s = w.until("t1", TaskPhase::Running).await;
    assert_eq!(s.task_definition, "web:1");
    assert!(s.started_at.is_some());
    let app = s.containers.iter().find(|c| c.name == "app").unwrap();
    assert_eq!(app.last_status, ContainerPhase::Running);
    assert_eq!(
        app.network_bindings.len(),
        1,
        "an ephemeral host port is reported"
    );
    let info = w.fake.container("ecsctl-test.default.t1.app").unwrap();
    for (k, v) in [
        ("ecsctl.managed", "true"),
        ("ecsctl.cluster", "default"),
        ("ecsctl.task", "t1"),
        ("ecsctl.container", "app"),
        ("ecsctl.taskdef", "web:1"),
    ] {
        assert_eq!(info.labels.get(k).map(String::as_str), Some(v), "{k}");
    }

    // Steady state: reconciling a converged task calls nothing that changes the engine and
    // writes nothing to the store.
    w.fake.clear_calls();
    let rev = w.store.revision();
    w.reconcile("t1").await;
    w.reconcile("t1").await;
    assert_eq!(w.fake.mutating_call_count(), 0, "{:?}", w.fake.calls());
    assert_eq!(w.store.revision(), rev);
}

#[tokio::test]
async fn a_task_role_needs_the_role_and_an_endpoint() {
    let mut w = world();
    let td = json!({"taskRoleArn": "arn:aws:iam::1:role/app",
        "containerDefinitions": [{"name": "app", "image": "img", "memory": 64}]});
    w.apply(Kind::TaskDefinition, "web", td);
    // No such Role in the task's cluster: it fails to start, naming the Role.
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "web"}));
    let s = w.until("t1", TaskPhase::Stopped).await;
    assert_eq!(s.stop_code, Some(StopCode::TaskFailedToStart));
    let why = s.stopped_reason.unwrap();
    assert!(
        why.starts_with("ResourceInitializationError: taskRoleArn arn:aws:iam::1:role/app: Role app does not exist in cluster default"),
        "{why}"
    );
    assert!(w.fake.container("ecsctl-test.default.t1.app").is_none());

    // The Role exists, but this instance serves no endpoint to fetch it from.
    w.apply(Kind::Secret, "k", json!({"value": "v"}));
    w.apply(
        Kind::Role,
        "app",
        json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": {"secret": "k"}}),
    );
    w.apply(Kind::Task, "t2", json!({"taskDefinition": "web"}));
    let s = w.until("t2", TaskPhase::Stopped).await;
    let why = s.stopped_reason.unwrap();
    assert!(why.contains("serves no task credentials endpoint"), "{why}");

    // With both: the container gets the endpoint's variables.
    let ep =
        ecsctl_controllers::task::endpoint::TaskEndpoint::new("http://169.254.170.2:4000", b"k");
    w.ctx.task_endpoint = Some(ep.clone());
    w.apply(Kind::Task, "t3", json!({"taskDefinition": "web"}));
    w.until("t3", TaskPhase::Running).await;
    let spec = w.fake.spec_of("ecsctl-test.default.t3.app").unwrap();
    let get = |k: &str| {
        spec.env
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        get("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        Some(ep.token("default", "t3"))
    );
    assert_eq!(
        get("ECS_CONTAINER_METADATA_URI_V4"),
        Some(format!(
            "http://169.254.170.2:4000/v4/{}",
            ep.metadata_id("default", "t3", "app")
        ))
    );
}

#[tokio::test]
async fn essential_exit_stops_the_task_with_the_exit_code() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", web_td("img"));
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "web"}));
    w.until("t1", TaskPhase::Running).await;
    let app = w.fake.container("ecsctl-test.default.t1.app").unwrap();
    w.fake.crash(&app.id, 3).unwrap();
    let s = w.until("t1", TaskPhase::Stopped).await;
    assert_eq!(s.stop_code, Some(StopCode::EssentialContainerExited));
    assert!(s.stopped_reason.unwrap().contains("app exited with code 3"));
    assert_eq!(
        s.containers
            .iter()
            .find(|c| c.name == "app")
            .unwrap()
            .exit_code,
        Some(3)
    );
    assert!(
        w.fake
            .container("ecsctl-test.default.t1.init")
            .unwrap()
            .state
            != runtime::ContainerState::Running
    );
}

#[tokio::test]
async fn non_essential_exit_keeps_the_task_running() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", web_td("img"));
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "web"}));
    w.until("t1", TaskPhase::Running).await;
    let init = w.fake.container("ecsctl-test.default.t1.init").unwrap();
    w.fake.crash(&init.id, 1).unwrap();
    w.reconcile("t1").await;
    let s = w.status("t1");
    assert_eq!(s.last_status, TaskPhase::Running);
    assert_eq!(
        s.containers
            .iter()
            .find(|c| c.name == "init")
            .unwrap()
            .exit_code,
        Some(1)
    );
}

#[tokio::test]
async fn missing_image_fails_fast_naming_it() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", web_td("ghost:1"));
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "web"}));
    w.reconcile("t1").await;
    let s = w.status("t1");
    let first = s.clone();
    assert_eq!(s.last_status, TaskPhase::Stopped);
    assert_eq!(s.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(s.stopped_reason.unwrap().contains("\"ghost:1\""));
    let init = s.containers.iter().find(|c| c.name == "init").unwrap();
    assert_eq!(init.last_status, ContainerPhase::Stopped);
    assert!(
        init.reason
            .as_deref()
            .unwrap()
            .starts_with("CannotPullContainerError"),
        "{init:?}"
    );
    // It stays so on later reconciles.
    w.reconcile("t1").await;
    assert_eq!(w.status("t1"), first);
}

/// Stopped tasks beyond the bound (10 here) go within seconds of stopping, not at the next
/// resync 30 s later: admission reads every task of a cluster on each write.
#[tokio::test]
async fn stopped_tasks_beyond_the_bound_go_soon_after_they_stop() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", web_td("ghost:1"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (stop_retention, retention_stopped) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(ecsctl_controllers::task::run(w.ctx.clone(), async {
        let _ = stopped.await;
    }));
    let retention = tokio::spawn(ecsctl_controllers::task::retention::run(
        w.ctx.clone(),
        async {
            let _ = retention_stopped.await;
        },
    ));
    for i in 0..25 {
        w.apply(
            Kind::Task,
            &format!("t{i}"),
            json!({"taskDefinition": "web"}),
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let tasks = w
            .store
            .list(&store::ListQuery::new(Kind::Task))
            .unwrap()
            .items;
        let all_stopped = tasks
            .iter()
            .all(ecsctl_controllers::task::retention::is_stopped);
        if all_stopped && tasks.len() == 10 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} tasks left, all stopped: {all_stopped}",
            tasks.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    let _ = stop_retention.send(());
    controller.await.unwrap();
    retention.await.unwrap();
}

#[tokio::test]
async fn stop_request_stops_dependents_first_with_user_initiated() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", web_td("img"));
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "web"}));
    w.until("t1", TaskPhase::Running).await;
    w.apply(
        Kind::Task,
        "t1",
        json!({"taskDefinition": "web", "desiredStatus": "STOPPED"}),
    );
    w.fake.clear_calls();
    let s = w.until("t1", TaskPhase::Stopped).await;
    assert_eq!(s.stop_code, Some(StopCode::UserInitiated));
    let stops: Vec<String> = w
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.op == Op::Stop)
        .map(|c| c.target)
        .collect();
    let app = w.fake.container("ecsctl-test.default.t1.app").unwrap().id.0;
    assert_eq!(
        stops.first(),
        Some(&app),
        "app depends on init, so it stops first: {stops:?}"
    );
}

#[tokio::test]
async fn deleted_task_leaves_no_containers() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", web_td("img"));
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "web"}));
    w.until("t1", TaskPhase::Running).await;
    w.store.delete(&w.key("t1")).unwrap();
    w.reconcile("t1").await;
    assert!(w.fake.containers().is_empty());
}

#[tokio::test]
async fn removed_container_is_noticed() {
    let w = world();
    w.apply(Kind::TaskDefinition, "web", web_td("img"));
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "web"}));
    w.until("t1", TaskPhase::Running).await;
    let app = w.fake.container("ecsctl-test.default.t1.app").unwrap();
    w.fake.remove_externally(&app.id).unwrap();
    let s = w.until("t1", TaskPhase::Stopped).await;
    assert!(s.stopped_reason.unwrap().contains("removed outside ecsctl"));
}

#[tokio::test]
async fn awsvpc_task_gets_a_namespace_holder() {
    let w = world();
    w.apply(
        Kind::TaskDefinition,
        "web",
        json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "app", "image": "img", "memory": 64,
            "portMappings": [{"containerPort": 8080}]}]}),
    );
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "web"}));
    let s = w.until("t1", TaskPhase::Running).await;
    assert!(
        w.fake.networks().contains_key("ecsctl-default-test"),
        "one network per server"
    );
    let ns = w.fake.container("ecsctl-netns-test.default.t1").unwrap();
    assert_eq!(ns.image, "ecsctl/pause:1");
    let app = s.containers.iter().find(|c| c.name == "app").unwrap();
    assert_eq!(app.network_bindings.len(), 1, "{app:?}");
    assert_eq!(app.network_bindings[0].container_port, 8080);
}

#[tokio::test]
async fn missing_task_definition_is_reported() {
    let w = world();
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "nope:4"}));
    w.reconcile("t1").await;
    let s = w.status("t1");
    assert_eq!(s.last_status, TaskPhase::Stopped);
    assert!(s.stopped_reason.unwrap().contains("\"nope:4\" not found"));
}

#[tokio::test]
async fn cluster_policy_refuses_privileged_tasks_until_allowed() {
    let w = world();
    w.apply(
        Kind::TaskDefinition,
        "priv",
        json!({"containerDefinitions": [{"name": "app", "image": "img", "memory": 64, "privileged": true}]}),
    );
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "priv"}));
    w.reconcile("t1").await;
    let s = w.status("t1");
    assert_eq!(s.last_status, TaskPhase::Stopped);
    assert_eq!(s.stop_code, Some(StopCode::TaskFailedToStart));
    assert!(
        s.stopped_reason
            .unwrap()
            .contains("spec.policy.allowPrivileged")
    );
    assert!(w.fake.containers().is_empty(), "nothing was created");

    w.apply(
        Kind::Cluster,
        "default",
        json!({"policy": {"allowPrivileged": true}}),
    );
    w.apply(Kind::Task, "t2", json!({"taskDefinition": "priv"}));
    w.until("t2", TaskPhase::Running).await;
}

#[tokio::test]
async fn secrets_reach_the_environment_and_a_missing_one_stops_the_task() {
    let w = world();
    w.apply(
        Kind::TaskDefinition,
        "app",
        json!({"containerDefinitions": [{"name": "app", "image": "img", "memory": 64,
            "environment": [{"name": "MODE", "value": "prod"}],
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:db-password"}]}]}),
    );
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "app"}));
    w.reconcile("t1").await;
    let s = w.status("t1");
    assert_eq!(s.last_status, TaskPhase::Stopped);
    let reason = s.stopped_reason.unwrap();
    assert!(
        reason.starts_with("ResourceInitializationError") && reason.contains("db-password"),
        "{reason}"
    );

    w.apply(Kind::Secret, "db-password", json!({"value": "s3cr3t"}));
    w.apply(Kind::Task, "t2", json!({"taskDefinition": "app"}));
    w.until("t2", TaskPhase::Running).await;
    let env = w.fake.spec_of("ecsctl-test.default.t2.app").unwrap().env;
    assert_eq!(
        env,
        [
            ("MODE".to_string(), "prod".to_string()),
            ("DB_PASSWORD".to_string(), "s3cr3t".to_string())
        ]
    );
    let stored = serde_json::to_string(&w.store.get(&w.key("t2")).unwrap().unwrap()).unwrap();
    assert!(!stored.contains("s3cr3t"), "the task object never holds it");
}

#[tokio::test]
async fn a_start_lists_once_and_inspects_only_after_its_own_steps() {
    let w = world();
    w.apply(
        Kind::TaskDefinition,
        "one",
        json!({"containerDefinitions": [{"name": "main", "image": "img", "memory": 16}]}),
    );
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "one"}));
    w.fake.clear_calls();
    w.reconcile("t1").await;
    assert_eq!(w.status("t1").last_status, TaskPhase::Running);
    // One list finds nothing; the created container is inspected before its start and the
    // started one after it (its state, ports and health), and nothing else is asked.
    for (op, n) in [
        (Op::List, 1),
        (Op::Create, 1),
        (Op::Start, 1),
        (Op::Inspect, 2),
    ] {
        assert_eq!(w.fake.call_count(op), n, "{op:?}: {:?}", w.fake.calls());
    }
}

#[tokio::test]
async fn a_task_waits_for_a_start_slot_and_its_own_write_wakes_nothing() {
    use ecsctl_controllers::task::pipeline::Pipeline;
    use ecsctl_controllers::task::reconciler::reconcile_task_in;
    let w = Arc::new(world());
    w.apply(
        Kind::TaskDefinition,
        "one",
        json!({"containerDefinitions": [{"name": "main", "image": "img", "memory": 16}]}),
    );
    w.apply(Kind::Task, "t1", json!({"taskDefinition": "one"}));
    let pipeline = Pipeline::new(1);
    let held = pipeline.start_slot().await;
    let run = tokio::spawn({
        let (w, pipeline) = (w.clone(), pipeline.clone());
        async move { reconcile_task_in(&w.ctx, &w.key("t1"), &pipeline).await }
    });
    // The task lists its containers, then waits for the slot: nothing is created meanwhile.
    let t0 = std::time::Instant::now();
    while w.fake.call_count(Op::List) == 0 {
        assert!(t0.elapsed().as_secs() < 5, "the task never looked");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(w.fake.call_count(Op::Create), 0, "created without a slot");
    assert!(!run.is_finished());
    drop(held);
    run.await.unwrap().unwrap();
    assert_eq!(w.status("t1").last_status, TaskPhase::Running);
    assert_eq!(pipeline.free_slots(), 1, "the slot is given back");
    // The RUNNING it wrote comes back from the store's watch as its own write.
    let stored = w.store.get(&w.key("t1")).unwrap().unwrap();
    assert!(pipeline.is_own_write(&stored, false));
}
