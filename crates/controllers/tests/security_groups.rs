//! Security groups on a FakeRuntime and a real (temporary) sled store: each task's filter is
//! loaded before its app containers exist, a task that must be filtered never runs open, and
//! a cluster pass reloads only the filters whose plan changed (all of them after a restart).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::task::{StopCode, TaskPhase, TaskStatus};
use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::security_group::reconcile_cluster;
use ecsctl_controllers::task::reconciler::reconcile_task;
use runtime::{Direction, FakeRuntime, Op, Packet, RuntimeError};
use serde_json::{Value, json};
use std::net::Ipv4Addr;
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
    let ctx = Context::new(store.clone(), fake.clone(), "test");
    World {
        _dir: dir,
        store,
        fake,
        ctx,
    }
}

impl World {
    fn apply(&self, kind: Kind, name: &str, mut spec: Value) {
        if kind == Kind::Task {
            spec["containerInstance"] = json!("test");
        }
        self.store.apply(Object::new(kind, name, spec)).unwrap();
    }

    fn task(&self, name: &str, groups: &[&str]) {
        let mut spec = json!({"taskDefinition": "app"});
        if !groups.is_empty() {
            spec["networkConfiguration"] =
                json!({"awsvpcConfiguration": {"subnets": ["s"], "securityGroups": groups}});
        }
        self.apply(Kind::Task, name, spec);
    }

    fn status(&self, name: &str) -> TaskStatus {
        self.store
            .get(&ObjectKey::new(Kind::Task, None, name))
            .unwrap()
            .unwrap()
            .status_as()
            .unwrap()
    }

    async fn until(&self, name: &str, phase: TaskPhase) -> TaskStatus {
        for _ in 0..10 {
            reconcile_task(&self.ctx, &ObjectKey::new(Kind::Task, None, name))
                .await
                .unwrap();
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

    /// The namespace holder of a task.
    fn holder(&self, task: &str) -> String {
        self.fake
            .containers()
            .into_iter()
            .find(|c| {
                c.labels.get("ecsctl.task").map(String::as_str) == Some(task)
                    && c.labels.contains_key("ecsctl.netns")
            })
            .map(|c| c.id.0)
            .expect("a namespace holder")
    }

    fn address(&self, task: &str) -> Ipv4Addr {
        self.status(task).private_ip.unwrap().parse().unwrap()
    }

    fn loads(&self) -> usize {
        self.fake.call_count(Op::LoadPacketFilter)
    }
}

fn scene(w: &World) {
    w.apply(
        Kind::TaskDefinition,
        "app",
        json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "app", "image": "img", "memory": 64}]}),
    );
    w.apply(
        Kind::SecurityGroup,
        "api",
        json!({"ingress": [{"protocol": "tcp", "fromPort": 80, "toPort": 80, "source": {"securityGroup": "web"}}]}),
    );
    w.apply(Kind::SecurityGroup, "web", json!({}));
}

#[tokio::test]
async fn the_filter_comes_before_the_app_and_a_pass_reloads_only_what_changed() {
    let w = world();
    scene(&w);
    w.task("a1", &["api"]);
    w.until("a1", TaskPhase::Running).await;
    let holder = w.holder("a1");
    // Loaded into the namespace before the app container was created.
    let calls = w.fake.calls();
    let loaded = calls
        .iter()
        .position(|c| c.op == Op::LoadPacketFilter && c.target == holder)
        .expect("a load");
    let created = calls
        .iter()
        .position(|c| c.op == Op::Create && c.target.ends_with(".a1.app"))
        .expect("the app's create");
    assert!(loaded < created, "{calls:?}");

    w.task("w1", &["web"]);
    w.until("w1", TaskPhase::Running).await;
    let web = w.address("w1");
    // a1 started before w1 had an address: the cluster pass lets w1 in.
    let f = w.fake.packet_filter(&holder).unwrap();
    assert!(!f.allows(Direction::In, web, Packet::Tcp(80)));
    reconcile_cluster(&w.ctx, "default").await.unwrap();
    let f = w.fake.packet_filter(&holder).unwrap();
    assert!(f.allows(Direction::In, web, Packet::Tcp(80)));
    assert!(!f.allows(Direction::In, web, Packet::Tcp(81)));
    // The host's side of the network always comes in.
    assert!(!f.trusted.is_empty());

    // Converged: another pass loads nothing.
    let before = w.loads();
    reconcile_cluster(&w.ctx, "default").await.unwrap();
    assert_eq!(w.loads(), before, "{:?}", w.fake.calls());

    // A rule change reloads the filters it changes, and only those.
    w.apply(
        Kind::SecurityGroup,
        "web",
        json!({"ingress": [{"protocol": "udp", "fromPort": 53, "toPort": 53, "source": {"cidr": "10.0.0.0/8"}}]}),
    );
    reconcile_cluster(&w.ctx, "default").await.unwrap();
    assert_eq!(w.loads(), before + 1);
    let wf = w.fake.packet_filter(&w.holder("w1")).unwrap();
    assert!(wf.allows(Direction::In, Ipv4Addr::new(10, 1, 2, 3), Packet::Udp(53)));

    // A restarted agent knows of no filter: it loads every one again.
    let restarted = Context::new(w.store.clone(), w.fake.clone(), "test");
    reconcile_cluster(&restarted, "default").await.unwrap();
    assert_eq!(w.loads(), before + 3);
}

#[tokio::test]
async fn a_task_that_must_be_filtered_never_runs_open_and_a_default_one_runs_as_before() {
    let w = world();
    scene(&w);
    w.fake.fail_next(
        Op::LoadPacketFilter,
        RuntimeError::Unsupported("no iptables here".into()),
    );
    w.task("w1", &["web"]);
    let s = w.until("w1", TaskPhase::Stopped).await;
    assert_eq!(s.stop_code, Some(StopCode::TaskFailedToStart));
    let why = s.stopped_reason.unwrap();
    assert!(
        why.contains("security groups web cannot be enforced") && why.contains("no iptables here"),
        "{why}"
    );
    assert!(
        w.fake.container("ecsctl-test.default.w1.app").is_none(),
        "the app container was never made"
    );

    w.fake.fail_next(
        Op::LoadPacketFilter,
        RuntimeError::Unsupported("no iptables here".into()),
    );
    w.task("d1", &[]);
    w.until("d1", TaskPhase::Running).await;
}
