//! Resources and sizes are bounded on the server (issue 14), through the HTTP API of the
//! fully wired server on a `FakeRuntime`: refusals name the field and who may change the
//! bound, and write nothing; what the fake receives carries memory and pids limits.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use runtime::{FakeRuntime, MachineInfo};
use serde_json::{Value, json};
use std::sync::Arc;
use support::{Server, svc};

/// The fake engine's machine in these tests: 4 CPUs, 8 GiB.
const MACHINE: MachineInfo = MachineInfo {
    cpus: 4,
    memory_bytes: 8 << 30,
};

async fn start(fake: &FakeRuntime, keep_revisions: usize) -> Server {
    fake.set_machine(MACHINE);
    let fake = fake.clone();
    Server::start_with(move |c| {
        c.runtime = Some(Arc::new(fake));
        c.keep_revisions = Some(keep_revisions);
    })
    .await
}

fn taskdef(name: &str, containers: Value) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": name},
        "spec": {"containerDefinitions": containers}})
}

fn task(name: &str, td: &str) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "Task", "metadata": {"name": name},
        "spec": {"taskDefinition": td}})
}

/// The refusal's text: headline and every detail line.
fn refusal(body: &Value) -> String {
    let details: Vec<&str> = body["details"]
        .as_array()
        .map(|d| d.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    format!(
        "{} | {}",
        body["error"].as_str().unwrap_or(""),
        details.join(" | ")
    )
}

async fn missing(server: &Server, path: &str) {
    let (status, body) = server.call(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{path} was written: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_oversubscribed_applies_are_refused_and_write_nothing() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = start(&fake, 10).await;
    let small = taskdef(
        "web",
        json!([{"name": "app", "image": "busybox", "memory": 64}]),
    );

    // 100,000 desired tasks.
    let (status, body) = server.apply(vec![small.clone(), svc("web", 100_000)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = refusal(&body);
    assert!(
        text.contains("spec.desiredCount: 100000") && text.contains("spec.policy.maxDesiredCount"),
        "{text}"
    );
    missing(&server, "/v1/objects/services/web").await;
    missing(&server, "/v1/objects/taskdefinitions/web").await;

    // 10 MB of environment.
    let env = json!([{"name": "BIG", "value": "x".repeat(10 << 20)}]);
    let big = taskdef(
        "big",
        json!([{"name": "app", "image": "busybox", "memory": 64, "environment": env}]),
    );
    let (status, body) = server.apply(vec![big]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = refusal(&body);
    assert!(
        text.contains("64 KiB") && text.contains("spec.containerDefinitions[0].environment[0]"),
        "{text}"
    );
    missing(&server, "/v1/objects/taskdefinitions/big").await;

    // 4 TiB of memory, on an 8 GiB machine.
    let huge = taskdef(
        "huge",
        json!([{"name": "app", "image": "busybox", "memory": "4096 GiB"}]),
    );
    let (status, body) = server.apply(vec![huge]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = refusal(&body);
    assert!(
        text.contains("spec.containerDefinitions[0].memory: 4194304 MiB")
            && text.contains("8192 MiB"),
        "{text}"
    );

    // No memory at all (neither the task nor the container), as ECS refuses it.
    let bare = taskdef("bare", json!([{"name": "app", "image": "busybox"}]));
    let (status, body) = server.apply(vec![bare]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        refusal(&body).contains("memory or memoryReservation"),
        "{body}"
    );
    missing(&server, "/v1/objects/taskdefinitions/bare").await;

    // 1,001 objects in one apply.
    let many: Vec<Value> = (0..1001).map(|i| task(&format!("t{i}"), "web")).collect();
    let (status, body) = server.apply(many).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = refusal(&body);
    assert!(
        text.contains("1001 objects") && text.contains("--max-objects-per-apply"),
        "{text}"
    );
    missing(&server, "/v1/objects/tasks/t0").await;

    // A Cluster cannot declare more than the machine has.
    let cluster = json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": "big"},
        "spec": {"capacity": {"cpu": 8192, "memory": "16 GiB"}}});
    let (status, body) = server.apply(vec![cluster]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let text = refusal(&body);
    assert!(
        text.contains("spec.capacity.cpu") && text.contains("spec.capacity.memory"),
        "{text}"
    );
    missing(&server, "/v1/objects/clusters/big").await;

    // The admin raises the cap: the same service is accepted.
    let raised = json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": "default"},
        "spec": {"policy": {"maxDesiredCount": 2000}}});
    let (status, body) = server.apply(vec![raised, small, svc("web", 1500)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_container_gets_memory_and_pids_limits() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = start(&fake, 10).await;
    let td = taskdef(
        "web",
        json!([
            {"name": "app", "image": "busybox", "memory": 64},
            {"name": "side", "image": "busybox", "memoryReservation": 32}
        ]),
    );
    let policy = json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": "default"},
        "spec": {"policy": {"pidsLimit": 300}}});
    let (status, body) = server.apply(vec![td, task("one", "web")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .wait_for("/v1/objects/tasks/one", "running", |v| {
            v["status"]["lastStatus"] == "RUNNING"
        })
        .await;
    let app = support::spec_of(&fake, "one", "app").unwrap();
    assert_eq!(app.memory_bytes, Some(64 << 20));
    assert_eq!(app.pids_limit, Some(1024), "the default pids limit");
    let side = support::spec_of(&fake, "one", "side").unwrap();
    assert_eq!(
        side.memory_bytes,
        Some(8 << 30),
        "a container with only a reservation is capped at the machine"
    );
    assert_eq!(side.memory_reservation_bytes, Some(32 << 20));

    let (status, body) = server.apply(vec![policy, task("two", "web")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .wait_for("/v1/objects/tasks/two", "running", |v| {
            v["status"]["lastStatus"] == "RUNNING"
        })
        .await;
    assert_eq!(
        support::spec_of(&fake, "two", "app").unwrap().pids_limit,
        Some(300)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_above_a_smaller_machine_is_refused_at_start() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = start(&fake, 10).await;
    let td = taskdef(
        "web",
        json!([{"name": "app", "image": "busybox", "memory": 4096}]),
    );
    let (status, body) = server.apply(vec![td, task("t", "web")]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "fits the machine known at apply: {body}"
    );
    // The machine the engine reports at start is smaller than the one known at apply (an
    // engine moved, or down when the server started): the task is refused then.
    fake.set_machine(MachineInfo {
        cpus: 1,
        memory_bytes: 1 << 30,
    });
    // The task may already be placed: only a task that starts after the change is checked.
    let (status, body) = server.apply(vec![task("u", "web")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stopped = server
        .wait_for("/v1/objects/tasks/u", "refused at start", |v| {
            v["status"]["lastStatus"] == "STOPPED"
        })
        .await;
    let reason = stopped["status"]["stoppedReason"].as_str().unwrap();
    assert!(
        reason.contains("spec.containerDefinitions[0].memory") && reason.contains("1024 MiB"),
        "{reason}"
    );
    assert!(
        support::spec_of(&fake, "u", "app").is_none(),
        "no container was made"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_tasks_are_placed_through_the_ledger() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = start(&fake, 10).await;
    let cluster = json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": "default"},
        "spec": {"capacity": {"memory": 100}}});
    let td = taskdef(
        "web",
        json!([{"name": "app", "image": "busybox", "memory": 64}]),
    );
    let (status, body) = server
        .apply(vec![cluster, td, task("a", "web"), task("b", "web")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let settled = server
        .wait_for("/v1/objects/tasks", "one runs, one is refused", |v| {
            let phases: Vec<&str> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["status"]["lastStatus"].as_str())
                .collect();
            phases.contains(&"RUNNING") && phases.contains(&"STOPPED")
        })
        .await;
    let refused = settled["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"]["lastStatus"] == "STOPPED")
        .unwrap();
    let reason = refused["status"]["stoppedReason"].as_str().unwrap();
    assert!(reason.contains("insufficient memory"), "{reason}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revision_gc_keeps_the_latest_the_newest_and_what_is_used() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = start(&fake, 1).await;
    let revision = |n: u32| {
        taskdef(
            "web",
            json!([{"name": "app", "image": "busybox", "memory": 64,
                "environment": [{"name": "N", "value": n.to_string()}]}]),
        )
    };
    let (status, body) = server.apply(vec![revision(1)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut pinned = svc("pinned", 1);
    pinned["spec"]["taskDefinition"] = json!("web:1");
    let (status, body) = server.apply(vec![pinned]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for n in 2..=5 {
        let (status, body) = server.apply(vec![revision(n)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let revisions = |list: &Value| -> Vec<u64> {
        let mut kept: Vec<u64> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["metadata"]["revision"].as_u64())
            .collect();
        kept.sort_unstable();
        kept
    };
    // Collected once the applies pause.
    let list = server
        .wait_for("/v1/objects/taskdefinitions", "collected", |v| {
            revisions(v).len() <= 3
        })
        .await;
    let kept = revisions(&list);
    assert_eq!(
        kept,
        [1, 4, 5],
        "web:1 is used, web:4 is the newest older one, web:5 the latest"
    );
    server.stop().await;
}
