//! Host loss on `FakeRuntime`: a server (`--instance-timeout 2s`) and two agents in this
//! process, each with its own fake engine, container instance and loops (heartbeat and task
//! controller) over the server's store. One agent stops; its tasks are STOPPED naming its
//! instance and the service runs them again on the other; it comes back with the same
//! engine, removes the containers of the replaced tasks, runs nothing twice and takes new
//! tasks.
#![allow(clippy::unwrap_used)]

mod support;

use api::instance::ContainerInstanceSpec;
use api::{Kind, Object};
use controllers::instance::InstanceIdentity;
use ecsctl_server::OpenStore;
use hyper::StatusCode;
use runtime::{ContainerState, FakeRuntime, MachineInfo, labels};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use support::Server;

const MIB: u64 = 1024 * 1024;
const CLUSTER: &str = "hosts";
const HEARTBEAT: Duration = Duration::from_millis(500);

fn engine() -> FakeRuntime {
    let fake = FakeRuntime::with_images(["busybox"]);
    fake.set_machine(MachineInfo {
        cpus: 2,
        memory_bytes: 4096 * MIB,
    });
    fake
}

/// One agent's loops, running until [`Agent::stop`].
struct Agent {
    stop: tokio::sync::watch::Sender<bool>,
    loops: Vec<tokio::task::JoinHandle<()>>,
}

impl Agent {
    /// Starts the heartbeat and the task controller of instance `id` on `fake`.
    fn start(store: &Arc<dyn Store>, fake: &FakeRuntime, id: &str) -> Agent {
        let ctx = controllers::Context::new(store.clone(), Arc::new(fake.clone()), id);
        let identity = InstanceIdentity {
            cluster: CLUSTER.to_string(),
            any_cluster: false,
            ..InstanceIdentity::this_machine(id)
        };
        let (stop, rx) = tokio::sync::watch::channel(false);
        let stopped = move || {
            let mut rx = rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        let loops = vec![
            tokio::spawn(controllers::instance::run(
                ctx.clone(),
                identity,
                HEARTBEAT,
                stopped(),
            )),
            tokio::spawn(controllers::task::run(ctx, stopped())),
        ];
        Agent { stop, loops }
    }

    /// Its loops end; its containers keep running in its engine.
    async fn stop(self) {
        let _ = self.stop.send(true);
        for l in self.loops {
            tokio::time::timeout(Duration::from_secs(10), l)
                .await
                .expect("the agent's loops end")
                .unwrap();
        }
    }
}

/// Registers a container instance as `POST /v1/instances` does (no agent identity: in
/// process).
fn register(store: &Arc<dyn Store>, id: &str) {
    let mut o = Object::with_spec(
        Kind::ContainerInstance,
        id,
        &ContainerInstanceSpec::default(),
    )
    .unwrap();
    o.metadata.cluster = Some(CLUSTER.to_string());
    store.apply(o).unwrap();
}

fn service(desired: u64) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "Service",
        "metadata": {"name": "web", "cluster": CLUSTER},
        "spec": {"taskDefinition": "web", "desiredCount": desired,
            "placementStrategy": [{"type": "spread", "field": "instanceId"}]}})
}

/// The ids of the tasks whose containers run in `fake`.
fn running_in(fake: &FakeRuntime) -> BTreeSet<String> {
    fake.containers()
        .into_iter()
        .filter(|c| c.state == ContainerState::Running)
        .filter_map(|c| c.labels.get(labels::TASK).cloned())
        .collect()
}

/// Task id -> (lastStatus, instance) of the service's tasks.
async fn tasks(server: &Server) -> BTreeMap<String, (String, String)> {
    let (s, list) = server
        .call(
            hyper::Method::GET,
            &format!("/v1/objects/tasks?cluster={CLUSTER}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["metadata"]["name"].as_str().unwrap().to_string(),
                (
                    t["status"]["lastStatus"].as_str().unwrap_or("").to_string(),
                    t["spec"]["containerInstance"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                ),
            )
        })
        .collect()
}

/// The RUNNING tasks on `instance`.
fn running_on(all: &BTreeMap<String, (String, String)>, instance: &str) -> BTreeSet<String> {
    all.iter()
        .filter(|(_, (phase, on))| phase == "RUNNING" && on == instance)
        .map(|(id, _)| id.clone())
        .collect()
}

/// Polls `check` until it answers, for at most `within`.
async fn eventually<T>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_agents_tasks_move_and_its_containers_go_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(store::SledStore::open(dir.path().join("store")).unwrap());
    let own = engine();
    let server = Server::start_with({
        let (store, own) = (store.clone(), own.clone());
        move |c| {
            c.runtime = Some(Arc::new(own));
            c.heartbeat_interval = Some(HEARTBEAT);
            c.instance_timeout = Some(Duration::from_secs(2));
            c.store = Some(OpenStore(store));
        }
    })
    .await;
    let (s, out) = server
        .apply(vec![
            json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": CLUSTER}, "spec": {}}),
            json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
                "spec": {"cpu": "256", "memory": "512",
                    "containerDefinitions": [{"name": "app", "image": "busybox"}]}}),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let (fake_a, fake_b) = (engine(), engine());
    register(&store, "agent-a");
    register(&store, "agent-b");
    let agent_a = Agent::start(&store, &fake_a, "agent-a");
    let agent_b = Agent::start(&store, &fake_b, "agent-b");
    // Both report their resources before the service places anything.
    server
        .wait_for(
            &format!("/v1/objects/containerinstances?cluster={CLUSTER}"),
            "both instances report",
            |v| {
                v["items"].as_array().is_some_and(|items| {
                    items.len() == 2
                        && items
                            .iter()
                            .all(|i| i["status"]["registeredResources"]["cpu"] == 2048)
                })
            },
        )
        .await;
    let (s, out) = server.apply(vec![service(4)]).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let before = eventually(
        "two tasks running on each agent",
        Duration::from_secs(20),
        async || {
            let all = tasks(&server).await;
            let (a, b) = (running_on(&all, "agent-a"), running_on(&all, "agent-b"));
            (a.len() == 2 && b.len() == 2 && running_in(&fake_a) == a && running_in(&fake_b) == b)
                .then_some(a)
        },
    )
    .await;

    // Agent a goes silent; its containers keep running in its engine.
    agent_a.stop().await;
    let silent_at = tokio::time::Instant::now();

    eventually(
        "agent a's tasks STOPPED",
        Duration::from_secs(12),
        async || {
            let all = tasks(&server).await;
            before.iter().all(|id| all[id].0 == "STOPPED").then_some(())
        },
    )
    .await;
    assert!(
        silent_at.elapsed() < Duration::from_secs(2 + 5),
        "stopped within the timeout and a few seconds: {:?}",
        silent_at.elapsed()
    );
    for id in &before {
        let (s, t) = server
            .call(
                hyper::Method::GET,
                &format!("/v1/objects/tasks/{id}?cluster={CLUSTER}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let st = &t["status"];
        assert_eq!(st["desiredStatus"], "STOPPED");
        assert_eq!(st["stopCode"], "TerminationNotice", "{st}");
        let reason = st["stoppedReason"].as_str().unwrap();
        assert!(
            reason.contains("container instance agent-a lost its agent"),
            "{reason}"
        );
    }
    let ci = server
        .wait_for(
            &format!("/v1/objects/containerinstances/agent-a?cluster={CLUSTER}"),
            "agent a disconnected",
            |v| v["status"]["agentConnected"] == false,
        )
        .await;
    assert_eq!(ci["status"]["runningTasksCount"], 0);
    assert_eq!(
        running_in(&fake_a),
        before,
        "nothing stops them while the agent is away"
    );
    // The service runs four again, all on agent b; no failure counted against its revision.
    let replaced = eventually(
        "four tasks on agent b",
        Duration::from_secs(20),
        async || {
            let all = tasks(&server).await;
            let b = running_on(&all, "agent-b");
            (b.len() == 4 && running_in(&fake_b) == b).then_some(b)
        },
    )
    .await;
    assert!(replaced.is_disjoint(&before));
    let svc = server
        .wait_for(
            &format!("/v1/objects/services/web?cluster={CLUSTER}"),
            "the service steady at 4",
            |v| v["status"]["runningCount"] == 4,
        )
        .await;
    let primary = &svc["status"]["deployments"][0];
    assert_eq!(primary["failedTasks"].as_u64().unwrap_or(0), 0, "{primary}");
    assert_ne!(primary["rolloutState"], "FAILED", "{primary}");

    // Agent a comes back on the same engine: the replaced tasks' containers go, none of them
    // runs again, and its instance is connected again.
    let mut writes = store.watch(store.revision()).unwrap();
    let agent_a = Agent::start(&store, &fake_a, "agent-a");
    eventually(
        "agent a removes its old containers",
        Duration::from_secs(15),
        async || {
            let left = fake_a.containers().into_iter().any(|c| {
                c.labels
                    .get(labels::TASK)
                    .is_some_and(|t| before.contains(t))
            });
            (!left).then_some(())
        },
    )
    .await;
    server
        .wait_for(
            &format!("/v1/objects/containerinstances/agent-a?cluster={CLUSTER}"),
            "agent a connected again",
            |v| v["status"]["agentConnected"] == true,
        )
        .await;
    // Every write of the replaced tasks since the agent came back says STOPPED.
    let mut seen = 0;
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(200), writes.next()).await {
        let ev = ev.unwrap();
        if ev.object.kind == Kind::Task && before.contains(&ev.object.metadata.name) {
            seen += 1;
            let st: api::task::TaskStatus = ev.object.status_as().unwrap();
            assert_eq!(st.last_status, api::task::TaskPhase::Stopped, "{st:?}");
            assert_eq!(st.stop_code, Some(api::task::StopCode::TerminationNotice));
        }
    }
    assert!(seen > 0, "the agent reports what it stopped and removed");
    assert!(
        running_in(&fake_a).is_disjoint(&running_in(&fake_b)),
        "no task runs on both hosts"
    );

    // It takes new tasks: two more go to the emptier instance.
    let (s, out) = server.apply(vec![service(6)]).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let new_on_a = eventually(
        "two new tasks on agent a",
        Duration::from_secs(20),
        async || {
            let all = tasks(&server).await;
            let a = running_on(&all, "agent-a");
            (a.len() == 2 && running_in(&fake_a) == a).then_some(a)
        },
    )
    .await;
    assert!(new_on_a.is_disjoint(&before));
    assert!(running_in(&fake_a).is_disjoint(&running_in(&fake_b)));

    agent_a.stop().await;
    agent_b.stop().await;
    server.stop().await;
}
