//! The fully wired server (API, controllers, load balancer, logs, metrics, GitOps) on a
//! `FakeRuntime`: the behaviour a user sees through the API, without Docker. The Docker tier
//! (crates/ecsctl/tests) checks what only a real engine shows.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use runtime::{ContainerState, FakeRuntime, labels};
use serde_json::{Value, json};
use support::{Server, svc};

fn td(env: &str) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
        "spec": {"containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64,
            "stopTimeout": 1, "environment": [{"name": "V", "value": env}]}]}})
}

/// The fake's running containers of service `name`, by task definition.
fn running(fake: &FakeRuntime, service: &str) -> Vec<String> {
    fake.containers()
        .into_iter()
        .filter(|c| {
            c.state == ContainerState::Running
                && c.labels.get(labels::SERVICE).map(String::as_str) == Some(service)
        })
        .map(|c| c.labels[labels::TASKDEF].clone())
        .collect()
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_runs_scales_rolls_out_and_goes() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let (status, body) = server.apply(vec![td("1"), svc("web", 2)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .wait_for("/v1/objects/services/web", "2 running", |v| {
            v["status"]["runningCount"] == 2
        })
        .await;
    assert_eq!(running(&fake, "web"), ["web:1", "web:1"]);

    // Scaled.
    server.apply(vec![svc("web", 3)]).await;
    wait_until("3 containers", || running(&fake, "web").len() == 3).await;

    // A new revision rolls out: every task replaced, the deployment COMPLETED.
    let (status, body) = server.apply(vec![td("2")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let done = server
        .wait_for("/v1/objects/services/web", "rolled out", |v| {
            let primary = v["status"]["deployments"]
                .as_array()
                .and_then(|d| d.iter().find(|d| d["status"] == "PRIMARY"));
            primary
                .is_some_and(|d| d["taskDefinition"] == "web:2" && d["rolloutState"] == "COMPLETED")
                && v["status"]["runningCount"] == 3
        })
        .await;
    let deployments = done["status"]["deployments"].as_array().unwrap();
    assert!(
        deployments
            .iter()
            .all(|d| d["status"] == "PRIMARY" || d["status"] == "INACTIVE"),
        "{done}"
    );
    wait_until("only web:2 runs", || running(&fake, "web") == ["web:2"; 3]).await;

    // A crash behind the service's back: replaced, and the stopped task says why.
    let victim = fake
        .containers()
        .into_iter()
        .find(|c| c.state == ContainerState::Running)
        .unwrap();
    fake.crash(&victim.id, 3).unwrap();
    let task = victim.labels[labels::TASK].clone();
    let stopped = server
        .wait_for(&format!("/v1/objects/tasks/{task}"), "stopped", |v| {
            v["status"]["lastStatus"] == "STOPPED"
        })
        .await;
    assert_eq!(stopped["status"]["stopCode"], "EssentialContainerExited");
    assert_eq!(stopped["status"]["containers"][0]["exitCode"], 3);
    wait_until("replaced", || running(&fake, "web").len() == 3).await;

    // Deleted: its containers go.
    let (status, _) = server
        .call(Method::DELETE, "/v1/objects/services/web", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    wait_until("no container left", || running(&fake, "web").is_empty()).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_stops_the_task_and_logs_are_served() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let mut missing = td("1");
    missing["metadata"]["name"] = json!("ghost");
    missing["spec"]["containerDefinitions"][0]["image"] = json!("nowhere:1");
    let task = |td: &str| {
        json!({"apiVersion": "ecs/v1", "kind": "Task", "metadata": {"name": format!("t-{td}")},
            "spec": {"taskDefinition": td}})
    };
    let (status, body) = server
        .apply(vec![missing, td("1"), task("ghost"), task("web")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ghost = server
        .wait_for("/v1/objects/tasks?labelSelector=", "ghost stopped", |v| {
            stopped_task(v, "ghost:1").is_some()
        })
        .await;
    let ghost = stopped_task(&ghost, "ghost:1").unwrap();
    assert_eq!(ghost["status"]["stopCode"], "TaskFailedToStart");
    assert!(
        ghost["status"]["stoppedReason"]
            .as_str()
            .unwrap()
            .contains("CannotPullContainerError"),
        "{ghost}"
    );

    wait_until("web's task runs", || {
        fake.containers()
            .iter()
            .any(|c| c.state == ContainerState::Running)
    })
    .await;
    let c = fake
        .containers()
        .into_iter()
        .find(|c| c.state == ContainerState::Running)
        .unwrap();
    fake.push_log(&c.id, runtime::LogStream::Stdout, "hello from the fake\n")
        .unwrap();
    let id = &c.labels[labels::TASK];
    let (status, body) = server
        .raw(
            Method::GET,
            &format!("/v1/tasks/{id}/logs"),
            bytes::Bytes::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.to_string().contains("hello from the fake"), "{body}");
    server.stop().await;
}

/// The stopped task of `taskdef` in a task list, if any.
fn stopped_task<'a>(list: &'a Value, taskdef: &str) -> Option<&'a Value> {
    list["items"].as_array()?.iter().find(|t| {
        t["status"]["taskDefinition"] == taskdef && t["status"]["lastStatus"] == "STOPPED"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_that_cannot_work_is_recorded_not_retried() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_with({
        let fake = fake.clone();
        move |c| {
            // Stored by hand (an older server, a bug): no admission stood in the way.
            let store = store::SledStore::open(c.data_dir.join("store")).unwrap();
            let bad = api::Object::new(
                api::Kind::Service,
                "broken",
                json!({"taskDefinition": 5, "desiredCount": "many"}),
            );
            store::Store::apply(&store, bad).unwrap();
            drop(store);
            c.runtime = Some(std::sync::Arc::new(fake));
        }
    })
    .await;
    let svc = server
        .wait_for("/v1/objects/services/broken", "reason recorded", |v| {
            v["status"]["events"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("cannot be reconciled"))
        })
        .await;
    let version = svc["metadata"]["resourceVersion"].clone();
    // Waiting for a change: no retry writes again, however long one waits.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, again) = server
        .call(Method::GET, "/v1/objects/services/broken", None)
        .await;
    assert_eq!(again["metadata"]["resourceVersion"], version, "{again:#}");
    assert_eq!(again["status"]["events"].as_array().unwrap().len(), 1);

    // Fixed by an apply: reconciled.
    let (status, body) = server.apply(vec![td("1"), svc_named("broken", 1)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .wait_for("/v1/objects/services/broken", "running", |v| {
            v["status"]["runningCount"] == 1
        })
        .await;
    server.stop().await;
}

fn svc_named(name: &str, count: u64) -> Value {
    let mut s = svc(name, count);
    s["metadata"]["name"] = json!(name);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_revision_trips_the_circuit_breaker_and_rolls_back() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_with({
        let fake = fake.clone();
        move |c| {
            c.runtime = Some(std::sync::Arc::new(fake));
            c.service_backoff_cap = Some(std::time::Duration::from_millis(50));
        }
    })
    .await;
    let mut service = svc("web", 2);
    service["spec"]["deploymentConfiguration"] =
        json!({"deploymentCircuitBreaker": {"enable": true, "rollback": true}});
    let (status, body) = server.apply(vec![td("1"), service]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The breaker rolls back to the last COMPLETED deployment (as ECS): wait for it.
    server
        .wait_for("/v1/objects/services/web", "web:1 completed", |v| {
            v["status"]["deployments"][0]["rolloutState"] == "COMPLETED"
        })
        .await;

    // Every container started from now on exits at once with 1.
    fake.set_default_behavior(runtime::FakeBehavior {
        exit_after: Some((std::time::Duration::ZERO, 1)),
        ..Default::default()
    });
    server.apply(vec![td("2")]).await;
    let rolled_back = server
        .wait_for("/v1/objects/services/web", "rolled back", |v| {
            let deployments = v["status"]["deployments"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            deployments
                .iter()
                .any(|d| d["taskDefinition"] == "web:2" && d["rolloutState"] == "FAILED")
                && deployments
                    .iter()
                    .any(|d| d["status"] == "PRIMARY" && d["taskDefinition"] == "web:1")
        })
        .await;
    assert!(
        rolled_back["status"]["deployments"]
            .to_string()
            .contains("ECS deployment circuit breaker"),
        "{rolled_back:#}"
    );
    assert_eq!(running(&fake, "web"), ["web:1"; 2], "the old tasks survive");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_update_keeps_ecs_bounds() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let mut service = svc("web", 4);
    service["spec"]["deploymentConfiguration"] =
        json!({"minimumHealthyPercent": 50, "maximumPercent": 100});
    server.apply(vec![td("1"), service]).await;
    wait_until("4 run", || running(&fake, "web") == ["web:1"; 4]).await;

    server.apply(vec![td("2")]).await;
    // Sampled all along the rollout: never more than 4 (100%), never fewer than 2 (50%).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let now = running(&fake, "web");
        assert!((2..=4).contains(&now.len()), "out of bounds: {now:?}");
        if now == ["web:2"; 4] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not rolled: {now:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_directory_runs_and_prunes_its_service() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let watched = tempfile::tempdir().unwrap();
    let dir = watched.path().canonicalize().unwrap();
    std::fs::write(
        dir.join("web.yaml"),
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n  containerDefinitions:\n    - {name: app, image: busybox, memory: 32, stopTimeout: 1}\n---\napiVersion: ecs/v1\nkind: Service\nmetadata: {name: web}\nspec: {taskDefinition: web, desiredCount: 2}\n",
    )
    .unwrap();
    let server = Server::start_with({
        let (fake, dir) = (fake.clone(), dir.clone());
        move |c| {
            c.runtime = Some(std::sync::Arc::new(fake));
            c.watch = vec![dir];
            c.sync.debounce = std::time::Duration::from_millis(50);
        }
    })
    .await;
    wait_until("synced and running", || running(&fake, "web").len() == 2).await;
    std::fs::remove_file(dir.join("web.yaml")).unwrap();
    wait_until("pruned: its containers stop", || {
        running(&fake, "web").is_empty()
    })
    .await;
    let (status, _) = server
        .call(Method::GET, "/v1/objects/services/web", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}
