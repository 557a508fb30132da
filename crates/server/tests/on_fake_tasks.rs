//! Task lifecycle and autoscaling through the fully wired server on a `FakeRuntime`: what
//! happens when containers exit, get OOM-killed, turn healthy or burn CPU, as a user sees it
//! through the API. The Docker tier (crates/ecsctl/tests/task_lifecycle.rs, autoscaling.rs)
//! checks the same on a real engine, where exits, health checks and stats are Docker's own.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::StatusCode;
use runtime::{ContainerInfo, ContainerState, FakeRuntime, HealthStatus, Stats, labels};
use serde_json::{Value, json};
use std::time::Duration;
use support::Server;

fn td(name: &str, containers: Value) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": name},
        "spec": {"containerDefinitions": containers}})
}

fn task(name: &str, td: &str) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "Task", "metadata": {"name": name},
        "spec": {"taskDefinition": td}})
}

/// The fake's container `name` of task `task`, once it exists.
async fn container(fake: &FakeRuntime, task: &str, name: &str) -> ContainerInfo {
    let find = || {
        fake.containers().into_iter().find(|c| {
            c.labels.get(labels::TASK).map(String::as_str) == Some(task)
                && c.labels.get(labels::CONTAINER).map(String::as_str) == Some(name)
                && c.state == ContainerState::Running
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(c) = find() {
            return c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "container {name} of {task} never ran: {:?}",
            fake.containers()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The status of container `name` in a task's status.
fn container_status<'a>(task: &'a Value, name: &str) -> &'a Value {
    task["status"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_essential_exit_stops_the_task_and_a_non_essential_one_does_not() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let containers = json!([
        {"name": "side", "image": "busybox", "memory": 32, "essential": false},
        {"name": "main", "image": "busybox", "memory": 32, "stopTimeout": 1}]);
    let (status, body) = server
        .apply(vec![td("exits", containers), task("t-exit", "exits")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = "/v1/objects/tasks/t-exit";
    server
        .wait_for(path, "running", |t| t["status"]["lastStatus"] == "RUNNING")
        .await;

    let side = container(&fake, "t-exit", "side").await;
    fake.crash(&side.id, 1).unwrap();
    let t = server
        .wait_for(path, "side's exit recorded", |t| {
            container_status(t, "side")["exitCode"] == 1
        })
        .await;
    assert_eq!(t["status"]["lastStatus"], "RUNNING", "{t:#}");

    let main = container(&fake, "t-exit", "main").await;
    fake.crash(&main.id, 3).unwrap();
    let t = server
        .wait_for(path, "stopped", |t| t["status"]["lastStatus"] == "STOPPED")
        .await;
    assert_eq!(t["status"]["stopCode"], "EssentialContainerExited", "{t:#}");
    assert_eq!(container_status(&t, "main")["exitCode"], 3, "{t:#}");
    assert_eq!(
        t["status"]["stoppedReason"], "Essential container in task exited: main exited with code 3",
        "{t:#}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depends_on_healthy_waits_for_the_health_check() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let containers = json!([
        {"name": "db", "image": "busybox", "memory": 32, "stopTimeout": 1,
         "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5}},
        {"name": "app", "image": "busybox", "memory": 32, "stopTimeout": 1,
         "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]}]);
    server
        .apply(vec![td("healthy", containers), task("t-dep", "healthy")])
        .await;
    let path = "/v1/objects/tasks/t-dep";
    let db = container(&fake, "t-dep", "db").await;
    // However long db stays unhealthy, app is not started and the task is not RUNNING.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, t) = server.call(hyper::Method::GET, path, None).await;
    assert_eq!(
        container_status(&t, "app")["lastStatus"],
        "PENDING",
        "{t:#}"
    );
    assert_ne!(t["status"]["lastStatus"], "RUNNING", "{t:#}");
    assert!(
        !fake
            .containers()
            .iter()
            .any(
                |c| c.labels.get(labels::CONTAINER).map(String::as_str) == Some("app")
                    && c.state == ContainerState::Running
            ),
        "app started before db was healthy"
    );

    fake.set_health(&db.id, HealthStatus::Healthy).unwrap();
    let t = server
        .wait_for(path, "running", |t| t["status"]["lastStatus"] == "RUNNING")
        .await;
    assert_eq!(
        container_status(&t, "db")["healthStatus"],
        "HEALTHY",
        "{t:#}"
    );
    container(&fake, "t-dep", "app").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_killed_container_stops_the_task_saying_so() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let containers = json!([{"name": "hog", "image": "busybox", "memory": 8}]);
    server
        .apply(vec![td("hog", containers), task("t-oom", "hog")])
        .await;
    let hog = container(&fake, "t-oom", "hog").await;
    fake.oom_kill(&hog.id).unwrap();
    let t = server
        .wait_for("/v1/objects/tasks/t-oom", "stopped", |t| {
            t["status"]["lastStatus"] == "STOPPED"
        })
        .await;
    assert_eq!(t["status"]["stopCode"], "EssentialContainerExited", "{t:#}");
    let said = format!(
        "{} {}",
        t["status"]["stoppedReason"],
        container_status(&t, "hog")["reason"]
    );
    assert!(said.contains("OutOfMemoryError"), "{t:#}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_above_the_target_scales_out_and_back_in_within_bounds() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_with({
        let fake = fake.clone();
        move |c| {
            c.runtime = Some(std::sync::Arc::new(fake));
            c.metrics_interval = Some(Duration::from_millis(200));
        }
    })
    .await;
    let containers = json!([{"name": "main", "image": "busybox", "cpu": 256, "memory": 32,
        "stopTimeout": 1}]);
    let service = json!({"apiVersion": "ecs/v1", "kind": "Service",
        "metadata": {"name": "burner"}, "spec": {"taskDefinition": "burner", "desiredCount": 1}});
    let autoscaler = json!({"apiVersion": "ecs/v1", "kind": "Autoscaler",
        "metadata": {"name": "burner-cpu"}, "spec": {"service": "burner", "minCapacity": 1,
        "maxCapacity": 3, "targetTracking": [{"metric": "ECSServiceAverageCPUUtilization",
        "targetValue": 50, "scaleOutCooldown": 1, "scaleInCooldown": 1}]}});
    let (status, body) = server
        .apply(vec![td("burner", containers), service, autoscaler])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Every running container of the service burns a whole core (400% of its 256 units)
    // while `burn` is set; its CPU counter stands still otherwise.
    let burn = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let feeder = tokio::spawn({
        let (fake, burn) = (fake.clone(), burn.clone());
        async move {
            let mut cpu: std::collections::HashMap<String, u64> = Default::default();
            loop {
                let burning = burn.load(std::sync::atomic::Ordering::Relaxed);
                for c in fake.containers() {
                    if c.state != ContainerState::Running {
                        continue;
                    }
                    let used = cpu.entry(c.id.to_string()).or_default();
                    if burning {
                        *used += 50_000_000; // 50 ms of CPU per 50 ms: one core
                    }
                    let _ = fake.set_stats(
                        &c.id,
                        Stats {
                            cpu_total_ns: *used,
                            memory_bytes: 8 << 20,
                            memory_limit_bytes: 32 << 20,
                            at: time::OffsetDateTime::now_utc(),
                        },
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });

    // The autoscaler says why, in its status, each time it decides.
    let decided = |what: &'static str| move |a: &Value| a["status"].to_string().contains(what);
    let path = "/v1/objects/autoscalers/burner-cpu";
    let out = server
        .wait_for(path, "scaled out", decided("scaled from 1 to "))
        .await;
    assert!(
        out["status"].to_string().contains("> target 50%"),
        "{out:#}"
    );
    // The decision is recorded, then the service's desiredCount follows, within max.
    server
        .wait_for("/v1/objects/services/burner", "scaled out to 2 or 3", |s| {
            s["spec"]["desiredCount"]
                .as_u64()
                .is_some_and(|d| (2..=3).contains(&d))
        })
        .await;

    burn.store(false, std::sync::atomic::Ordering::Relaxed);
    server
        .wait_for("/v1/objects/services/burner", "back at 1", |s| {
            s["spec"]["desiredCount"] == 1
        })
        .await;
    feeder.abort();
    let (_, back) = server.call(hyper::Method::GET, path, None).await;
    assert!(
        back["status"]["lastDecision"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("< target 50%")),
        "the scale-in says why: {back:#}"
    );
    server.stop().await;
}
