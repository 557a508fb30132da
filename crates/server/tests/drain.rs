//! `PUT /v1/instances/{id}/state` (`ecsctl drain` / `undrain`) through the real HTTP API:
//! admins only (403 naming the rule for every other role), 404 naming the instance and
//! cluster, 409 for an INACTIVE instance, 400 for another word; the spec alone changes (the
//! agent that owns the instance stays its owner). On the fully wired server: a drained
//! instance takes no new tasks (a service short of room says why, its tasks keep running;
//! run-task stops with the reason), its heartbeat says DRAINING, and undrained it takes
//! tasks again.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use runtime::{FakeRuntime, MachineInfo};
use serde_json::{Value, json};
use std::time::Duration;
use support::Server;
use support::tcp::*;

fn state(status: &str) -> Option<Value> {
    Some(json!({ "status": status }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_drains_and_the_answers_say_what_is_wrong() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Tcp::start(Some(&fake)).await;
    let (s, out) = server
        .apply(ADMIN, vec![object("Cluster", None, "shop", json!({}))])
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let (s, registered) = server
        .call(
            AGENT,
            Method::POST,
            "/v1/instances",
            Some(json!({"id": "i-a", "cluster": "shop"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{registered}");
    let owner = registered["spec"]["agent"].clone();
    assert!(owner.is_string(), "{registered}");
    let path = "/v1/instances/i-a/state?cluster=shop";

    for (token, role) in [(DEPLOYER, "deployer"), (VIEWER, "viewer"), (AGENT, "agent")] {
        let (s, out) = server
            .call(token, Method::PUT, path, state("DRAINING"))
            .await;
        let e = forbidden(s, &out, role, "admin-only");
        assert!(
            e.contains("may not drain or undrain container instances in cluster shop"),
            "{e}"
        );
    }
    let (_, ci) = server
        .get(ADMIN, "/v1/objects/containerinstances/i-a?cluster=shop")
        .await;
    assert!(
        ci["spec"].get("draining").is_none(),
        "refused: unchanged {ci}"
    );

    let (s, out) = server
        .call(ADMIN, Method::PUT, path, state("DRAINING"))
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["changed"], true, "{out}");
    assert_eq!(out["instance"]["spec"]["draining"], true, "{out}");
    assert_eq!(out["instance"]["spec"]["agent"], owner, "the owner stays");
    let (s, out) = server
        .call(ADMIN, Method::PUT, path, state("DRAINING"))
        .await;
    assert_eq!(
        (s, &out["changed"]),
        (StatusCode::OK, &json!(false)),
        "{out}"
    );

    let (s, out) = server.call(ADMIN, Method::PUT, path, state("ACTIVE")).await;
    assert_eq!(
        (s, &out["changed"]),
        (StatusCode::OK, &json!(true)),
        "{out}"
    );
    assert!(out["instance"]["spec"].get("draining").is_none(), "{out}");
    assert_eq!(out["instance"]["spec"]["agent"], owner);

    // Missing: the instance and the cluster are named.
    for missing in [
        "/v1/instances/ghost/state?cluster=shop",
        "/v1/instances/i-a/state",
    ] {
        let (s, out) = server
            .call(ADMIN, Method::PUT, missing, state("DRAINING"))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{out}");
        let e = out["error"].as_str().unwrap();
        let (id, cluster) = if missing.contains("ghost") {
            ("ghost", "shop")
        } else {
            ("i-a", "default")
        };
        assert!(
            e.contains(&format!(
                "container instance {id} not found in cluster {cluster}"
            )),
            "{e}"
        );
    }
    // ACTIVE and DRAINING only.
    for word in ["INACTIVE", "SLEEPY"] {
        let (s, out) = server.call(ADMIN, Method::PUT, path, state(word)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{word}: {out}");
        assert!(
            out["error"]
                .as_str()
                .unwrap()
                .contains("is set to ACTIVE or DRAINING only"),
            "{out}"
        );
    }
    let (s, out) = server
        .call(ADMIN, Method::PUT, path, Some(json!({"state": "DRAINING"})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{out}");

    // An INACTIVE (deregistered) instance is neither drained nor made ACTIVE.
    let (s, out) = server
        .call(
            AGENT,
            Method::PUT,
            "/v1/objects/containerinstances/i-a/status?cluster=shop",
            Some(
                json!({"status": {"status": "INACTIVE", "agentConnected": false,
                "registeredResources": {"cpu": 0, "memory": 0},
                "remainingResources": {"cpu": 0, "memory": 0}}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    for word in ["DRAINING", "ACTIVE"] {
        let (s, out) = server.call(ADMIN, Method::PUT, path, state(word)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{word}: {out}");
        assert!(
            out["error"].as_str().unwrap().contains("is INACTIVE"),
            "{out}"
        );
    }
    server.stop().await;
}

async fn start(fake: &FakeRuntime) -> Server {
    let fake = fake.clone();
    Server::start_with(move |c| {
        c.runtime = Some(std::sync::Arc::new(fake));
        c.heartbeat_interval = Some(Duration::from_millis(100));
    })
    .await
}

fn task_ids(list: &Value, running: bool) -> Vec<String> {
    let mut ids: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !running || t["status"]["lastStatus"] == "RUNNING")
        .map(|t| t["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_instance_takes_no_new_tasks_until_it_is_undrained() {
    let fake = FakeRuntime::with_images(["busybox"]);
    fake.set_machine(MachineInfo {
        cpus: 2,
        memory_bytes: 4096 << 20,
    });
    let server = start(&fake).await;
    let id = std::fs::read_to_string(server.data_dir.join("instance-id"))
        .unwrap()
        .trim()
        .to_string();
    let (s, out) = server
        .apply(vec![
            support::td("busybox"),
            json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"taskDefinition": "web", "desiredCount": 2}}),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let running = server
        .wait_for("/v1/objects/tasks", "two running", |v| {
            task_ids(v, true).len() == 2
        })
        .await;
    let before = task_ids(&running, true);

    let path = format!("/v1/instances/{id}/state");
    let (s, out) = server.call(Method::PUT, &path, state("DRAINING")).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    server
        .wait_for(
            &format!("/v1/objects/containerinstances/{id}"),
            "the heartbeat says DRAINING",
            |v| v["status"]["status"] == "DRAINING",
        )
        .await;
    // The only instance drains: replacements have nowhere to go, so (minimumHealthyPercent
    // 100) the tasks keep running and the service says why.
    server
        .wait_for("/v1/objects/services/web", "the service says why", |v| {
            v["status"]["events"].as_array().is_some_and(|e| {
                e.iter().any(|e| {
                    e["message"].as_str().is_some_and(|m| {
                        m.contains("was unable to place a task") && m.contains("DRAINING")
                    })
                })
            })
        })
        .await;
    let (_, tasks) = server.call(Method::GET, "/v1/objects/tasks", None).await;
    assert_eq!(task_ids(&tasks, true), before, "nothing stopped: {tasks:#}");
    assert_eq!(
        task_ids(&tasks, false),
        before,
        "nothing started: {tasks:#}"
    );
    // run-task: it fits nowhere, so it stops with the reason.
    let (s, out) = server
        .apply(vec![json!({"apiVersion": "ecs/v1", "kind": "Task",
            "metadata": {"name": "once"}, "spec": {"taskDefinition": "web"}})])
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let once = server
        .wait_for("/v1/objects/tasks/once", "run-task refused", |v| {
            v["status"]["lastStatus"] == "STOPPED"
        })
        .await;
    assert!(
        once["status"]["stoppedReason"]
            .as_str()
            .is_some_and(|r| r.contains("DRAINING")),
        "{once:#}"
    );

    // Undrained: the service grows onto it again, and a new task runs there.
    let (s, out) = server.call(Method::PUT, &path, state("ACTIVE")).await;
    assert_eq!(
        (s, &out["changed"]),
        (StatusCode::OK, &json!(true)),
        "{out}"
    );
    server
        .wait_for(
            &format!("/v1/objects/containerinstances/{id}"),
            "the heartbeat says ACTIVE",
            |v| v["status"]["status"] == "ACTIVE",
        )
        .await;
    let (s, out) = server
        .apply(vec![
            json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"taskDefinition": "web", "desiredCount": 3}}),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let tasks = server
        .wait_for("/v1/objects/tasks", "three running", |v| {
            task_ids(v, true).len() == 3
        })
        .await;
    for t in tasks["items"].as_array().unwrap() {
        if t["status"]["lastStatus"] == "RUNNING" {
            assert_eq!(t["status"]["containerInstance"], id.as_str(), "{t:#}");
        }
    }
    server.stop().await;
}
