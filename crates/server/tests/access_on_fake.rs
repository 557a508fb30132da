//! Identities and roles on the fully wired server (FakeRuntime): logs, metrics and Secrets
//! stay in their cluster, and a task named like another cluster's leaves it alone.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use runtime::{ContainerState, FakeRuntime, labels};
use serde_json::{Value, json};
use std::time::Duration;
use support::tcp::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_secrets_stay_in_their_cluster() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Tcp::start(Some(&fake)).await;
    let mut with_secret = td("web");
    with_secret["spec"]["containerDefinitions"][0]["secrets"] =
        json!([{"name": "DB", "valueFrom": "db"}]);
    let task = |cluster: &str, name: &str| {
        object(
            "Task",
            Some(cluster),
            name,
            json!({"taskDefinition": "web"}),
        )
    };
    let (status, body) = server
        .apply(
            ADMIN,
            vec![
                object("Cluster", None, "shop", json!({})),
                with_secret,
                object("Secret", None, "db", json!({"value": "default-s3cret"})),
                task("default", "t-default"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The deployer's task in shop names default's Secret: it cannot start.
    let (status, body) = server.apply(DEPLOYER, vec![task("shop", "t-shop")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let stopped = loop {
        let (_, list) = server.get(DEPLOYER, "/v1/objects/tasks?cluster=shop").await;
        if let Some(t) = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["status"]["lastStatus"] == "STOPPED")
        {
            break t.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "shop's task did not stop: {list}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(stopped["status"]["stopCode"], "TaskFailedToStart");
    let reason = stopped["status"]["stoppedReason"].as_str().unwrap();
    assert!(
        reason.starts_with("ResourceInitializationError")
            && reason.contains("does not exist in cluster shop"),
        "{reason}"
    );

    // default's task got its own cluster's Secret.
    let container = loop {
        if let Some(c) = fake
            .containers()
            .into_iter()
            .find(|c| c.state == ContainerState::Running)
        {
            break c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "default's task did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(container.labels[labels::CLUSTER], "default");
    let spec = fake.spec_of(&container.id.0).unwrap();
    assert!(
        spec.env
            .iter()
            .any(|(k, v)| k == "DB" && v == "default-s3cret"),
        "{:?}",
        spec.env.len()
    );
    fake.push_log(&container.id, runtime::LogStream::Stdout, "from default\n")
        .unwrap();
    let id = &container.labels[labels::TASK];
    let (status, body) = server
        .get(DEPLOYER, &format!("/v1/tasks/{id}/logs?cluster=default"))
        .await;
    forbidden(status, &body, "deployer", "cluster-scope");
    let (status, body) = server
        .get(ADMIN, &format!("/v1/tasks/{id}/logs?cluster=default"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.to_string().contains("from default"), "{body}");
    // Measurements are read like the objects: default's task is the admin's to see.
    let (status, body) = server
        .get(DEPLOYER, "/v1/metrics/tasks?cluster=default")
        .await;
    forbidden(status, &body, "deployer", "cluster-scope");
    let clusters = |body: Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["cluster"].as_str().unwrap().to_string())
            .collect()
    };
    let start = time::OffsetDateTime::now_utc();
    for n in 0i64.. {
        // A reading with more CPU each time: the sampler needs two to measure.
        let stats = runtime::Stats {
            cpu_total_ns: n as u64 * 1_000_000_000,
            memory_bytes: 1 << 20,
            memory_limit_bytes: 64 << 20,
            at: start + time::Duration::seconds(n),
        };
        fake.set_stats(&container.id, stats).unwrap();
        let (status, body) = server.get(ADMIN, "/v1/metrics/tasks").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if clusters(body).iter().any(|c| c == "default") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "default's task was never measured"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = server.get(DEPLOYER, "/v1/metrics/tasks").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(clusters(body).iter().all(|c| c == "shop"));
    server.stop().await;
}

/// Task names are the user's, unique only within a cluster: a deployer's task named like
/// another cluster's never takes over, stops or removes that task's containers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_named_like_another_clusters_task_leaves_it_alone() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Tcp::start(Some(&fake)).await;
    let task = |cluster: &str| object("Task", Some(cluster), "t", json!({"taskDefinition": "web"}));
    let (status, body) = server
        .apply(
            ADMIN,
            vec![
                object("Cluster", None, "shop", json!({})),
                td("web"),
                task("default"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let running = || {
        fake.containers()
            .into_iter()
            .filter(|c| {
                c.state == ContainerState::Running && c.labels[labels::CLUSTER] == "default"
            })
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while running() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "default's task did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = server.apply(DEPLOYER, vec![task("shop")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Its containers are its own (names hold the cluster): it runs beside default's.
    loop {
        let (_, t) = server
            .get(DEPLOYER, "/v1/objects/tasks/t?cluster=shop")
            .await;
        if t["status"]["lastStatus"] == "RUNNING" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "shop's task did not start: {t}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(running(), 1, "default's container still runs");
    let (status, body) = server
        .call(
            DEPLOYER,
            Method::DELETE,
            "/v1/objects/tasks/t?cluster=shop",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(running(), 1, "default's container still runs");
    let (_, t) = server
        .get(ADMIN, "/v1/objects/tasks/t?cluster=default")
        .await;
    assert_eq!(t["status"]["lastStatus"], "RUNNING", "{t}");
    assert_eq!(t["status"]["desiredStatus"], "RUNNING", "{t}");
    server.stop().await;
}
