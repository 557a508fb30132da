//! Draining a container instance with the loops a server and its agents run, on one store:
//! the service controller (as the server runs it) and two in-process "agents", each a
//! heartbeat and a task controller with its own `FakeRuntime` and instance id. Two services
//! spread over both instances; one instance is drained: their tasks move to the other while
//! the running healthy count never drops below minimumHealthyPercent (nor the tasks above
//! maximumPercent); a standalone task stays; undrained, the instance takes new tasks again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::instance::{ContainerInstanceStatus, InstanceStatus};
use api::task::{TaskPhase, TaskSpec, TaskStatus};
use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::instance::InstanceIdentity;
use ecsctl_controllers::placement::Capacity;
use runtime::{FakeRuntime, MachineInfo};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use store::{ListQuery, SledStore, Store, StoreError};
use tokio::sync::watch;

const A: &str = "0000000000aa";
const B: &str = "0000000000bb";
const HEARTBEAT: Duration = Duration::from_millis(100);
const SAMPLE: Duration = Duration::from_millis(50);

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SledStore>,
    stop: watch::Sender<bool>,
    loops: Vec<tokio::task::JoinHandle<()>>,
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

impl World {
    /// The server's service controller, and an agent for each of `A` and `B`.
    async fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
        let (stop, rx) = watch::channel(false);
        let mut loops = Vec::new();
        // The server: its own instance has no object here, so only the agents' take tasks.
        let server = Context::new(store.clone(), Arc::new(FakeRuntime::new()), "server");
        loops.push(tokio::spawn(ecsctl_controllers::service::run(
            server,
            stopped(rx.clone()),
        )));
        for id in [A, B] {
            let fake = FakeRuntime::with_images(["busybox"]);
            fake.set_machine(MachineInfo {
                cpus: 4,
                memory_bytes: 4096 << 20,
            });
            let agent = Context::new(store.clone(), Arc::new(fake), id);
            let identity = InstanceIdentity {
                capacity: Some(Capacity {
                    cpu: 4096,
                    memory: 4096,
                }),
                ..InstanceIdentity::this_machine(id)
            };
            ecsctl_controllers::instance::register_local(&agent, &identity)
                .await
                .unwrap();
            loops.push(tokio::spawn(ecsctl_controllers::instance::run(
                agent.clone(),
                identity,
                HEARTBEAT,
                stopped(rx.clone()),
            )));
            loops.push(tokio::spawn(ecsctl_controllers::task::run(
                agent,
                stopped(rx.clone()),
            )));
        }
        World {
            _dir: dir,
            store,
            stop,
            loops,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        for l in self.loops {
            tokio::time::timeout(Duration::from_secs(10), l)
                .await
                .unwrap()
                .unwrap();
        }
    }

    fn apply(&self, kind: Kind, cluster: Option<&str>, name: &str, spec: Value) {
        let mut o = Object::new(kind, name, spec);
        o.metadata.cluster = cluster.map(str::to_string);
        self.store.apply(o).unwrap();
    }

    fn instance(&self, id: &str) -> ContainerInstanceStatus {
        self.store
            .get(&ObjectKey::new(
                Kind::ContainerInstance,
                Some("default"),
                id,
            ))
            .unwrap()
            .unwrap()
            .status_as()
            .unwrap_or_default()
    }

    /// What `ecsctl drain` writes: `spec.draining`, compare-and-swap against heartbeats.
    fn set_draining(&self, id: &str, draining: bool) {
        let key = ObjectKey::new(Kind::ContainerInstance, Some("default"), id);
        loop {
            let o = self.store.get(&key).unwrap().unwrap();
            let mut request = o.cas_request();
            request
                .merge_spec(&json!({"draining": if draining { json!(true) } else { Value::Null }}))
                .unwrap();
            match self.store.apply(request) {
                Ok(_) => return,
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// Tasks not STOPPED: (service or "", instance, running and not asked to stop).
    fn tasks(&self) -> Vec<(String, String, bool)> {
        self.store
            .list(&ListQuery::new(Kind::Task))
            .unwrap()
            .items
            .iter()
            .filter_map(|t| {
                let spec: TaskSpec = t.spec_as().ok()?;
                let status: TaskStatus = t.status_as().unwrap_or_default();
                if status.last_status.is_terminal() {
                    return None;
                }
                let service = t
                    .metadata
                    .labels
                    .get(runtime::labels::SERVICE)
                    .cloned()
                    .unwrap_or_default();
                let healthy = healthy(&spec, &status);
                Some((
                    service,
                    spec.bound_instance(&status).unwrap_or("").to_string(),
                    healthy,
                ))
            })
            .collect()
    }

    /// Healthy tasks of `service` on each instance.
    fn healthy_by_instance(&self, service: &str) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (svc, instance, healthy) in self.tasks() {
            if svc == service && healthy {
                *out.entry(instance).or_default() += 1;
            }
        }
        out
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&World) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !done(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.tasks()
            );
            tokio::time::sleep(SAMPLE).await;
        }
    }
}

/// As the service scheduler counts a task of a task definition with a health check: RUNNING,
/// HEALTHY, and not asked to stop.
fn healthy(spec: &TaskSpec, status: &TaskStatus) -> bool {
    status.last_status == TaskPhase::Running
        && status.health_status.is_healthy()
        && !spec.stop_requested()
        && !status.desired_status.is_stopped()
}

fn service(desired: u32, min: u32, max: u32) -> Value {
    json!({"taskDefinition": "web", "desiredCount": desired,
        "deploymentConfiguration": {"minimumHealthyPercent": min, "maximumPercent": max},
        "placementStrategy": [{"type": "spread", "field": "instanceId"}]})
}

/// The fewest healthy tasks and the most tasks not stopped of each service, sampled every
/// [`SAMPLE`] until told to stop.
type Extremes = BTreeMap<String, (usize, usize)>;

fn sample(
    store: Arc<SledStore>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<(Extremes, usize)> {
    tokio::spawn(async move {
        let world_view = |store: &SledStore| {
            let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
            for t in store.list(&ListQuery::new(Kind::Task)).unwrap().items {
                let Some(svc) = t.metadata.labels.get(runtime::labels::SERVICE).cloned() else {
                    continue;
                };
                let spec: TaskSpec = t.spec_as().unwrap();
                let status: TaskStatus = t.status_as().unwrap_or_default();
                let e = counts.entry(svc).or_default();
                if !status.last_status.is_terminal() {
                    e.1 += 1;
                }
                if healthy(&spec, &status) {
                    e.0 += 1;
                }
            }
            counts
        };
        let mut extremes = Extremes::new();
        let mut samples = 0;
        loop {
            for (svc, (healthy, present)) in world_view(&store) {
                let e = extremes.entry(svc).or_insert((usize::MAX, 0));
                e.0 = e.0.min(healthy);
                e.1 = e.1.max(present);
            }
            samples += 1;
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return (extremes, samples),
                () = tokio::time::sleep(SAMPLE) => {}
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_moves_service_tasks_within_their_bounds_and_undraining_takes_tasks_again() {
    let world = World::start().await;
    world
        .wait_for("both instances to report", |w| {
            [A, B].iter().all(|id| {
                let st = w.instance(id);
                st.agent_connected && st.registered_resources.memory == 4096
            })
        })
        .await;
    world.apply(
        Kind::TaskDefinition,
        None,
        "web",
        // A health check (the fake passes it after one interval) keeps replacements
        // unhealthy for a while: long enough for the samples to see the bounds kept.
        json!({"containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64, "cpu": 64,
            "healthCheck": {"command": ["CMD", "true"], "interval": 5}}]}),
    );
    // Tasks on the drained instance may all stop at once (2 of 4 healthy is 50%)...
    world.apply(Kind::Service, None, "fast", service(4, 50, 200));
    // ...or only once their replacements run.
    world.apply(Kind::Service, None, "safe", service(4, 100, 200));
    // A task of no service, placed on A.
    world.apply(
        Kind::Task,
        None,
        "solo",
        json!({"taskDefinition": "web", "containerInstance": A}),
    );
    let spread = BTreeMap::from([(A.to_string(), 2), (B.to_string(), 2)]);
    world
        .wait_for("both services spread over both instances", |w| {
            w.healthy_by_instance("fast") == spread && w.healthy_by_instance("safe") == spread
        })
        .await;
    world
        .wait_for("the standalone task to run", |w| {
            w.healthy_by_instance("") == BTreeMap::from([(A.to_string(), 1)])
        })
        .await;

    let (stop_sampling, rx) = watch::channel(false);
    let sampler = sample(world.store.clone(), rx);
    world.set_draining(A, true);
    let moved = BTreeMap::from([(B.to_string(), 4)]);
    world
        .wait_for("every service task to move to B", |w| {
            w.healthy_by_instance("fast") == moved
                && w.healthy_by_instance("safe") == moved
                && !w
                    .tasks()
                    .iter()
                    .any(|(svc, i, _)| !svc.is_empty() && i == A)
        })
        .await;
    let _ = stop_sampling.send(true);
    let (extremes, samples) = sampler.await.unwrap();
    assert!(samples >= 40, "sampled {samples} times");
    let (fast_min, fast_max) = extremes["fast"];
    let (safe_min, safe_max) = extremes["safe"];
    assert!(fast_min >= 2, "fast (min 50%): {extremes:?}");
    assert!(safe_min >= 4, "safe (min 100%): {extremes:?}");
    assert!(fast_max <= 8 && safe_max <= 8, "max 200%: {extremes:?}");
    // And each used what its bounds allow: fast stopped both at once, safe started its
    // replacements before stopping anything.
    assert_eq!(fast_min, 2, "{extremes:?}");
    assert!(safe_max >= 6, "{extremes:?}");
    // The standalone task stays where it was.
    assert_eq!(
        world.healthy_by_instance(""),
        BTreeMap::from([(A.to_string(), 1)])
    );
    world
        .wait_for("A's heartbeat to say DRAINING", |w| {
            w.instance(A).status == InstanceStatus::Draining
        })
        .await;

    // Undrained, A takes new tasks again: a scale-out spreads onto it.
    world.set_draining(A, false);
    world
        .wait_for("A's heartbeat to say ACTIVE", |w| {
            w.instance(A).status == InstanceStatus::Active
        })
        .await;
    world.apply(Kind::Service, None, "fast", service(8, 50, 200));
    let spread = BTreeMap::from([(A.to_string(), 4), (B.to_string(), 4)]);
    world
        .wait_for("the scale-out to land on A", |w| {
            w.healthy_by_instance("fast") == spread
        })
        .await;
    assert_eq!(
        world.healthy_by_instance("safe"),
        BTreeMap::from([(B.to_string(), 4)]),
        "tasks that moved stay where they went"
    );
    world.stop().await;
}
