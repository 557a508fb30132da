//! The server's own container instance on a `FakeRuntime`: registered at start in the
//! `default` cluster with the machine's resources, reporting its tasks on every heartbeat,
//! named by the tasks it runs, kept across a restart, and not writable by users.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::StatusCode;
use runtime::{FakeRuntime, MachineInfo};
use serde_json::{Value, json};
use std::time::Duration;
use support::Server;

const MIB: u64 = 1024 * 1024;

async fn start(fake: &FakeRuntime) -> Server {
    let fake = fake.clone();
    Server::start_with(move |c| {
        c.runtime = Some(std::sync::Arc::new(fake));
        c.heartbeat_interval = Some(Duration::from_millis(100));
    })
    .await
}

/// The only container instance, once it is registered.
async fn the_instance(server: &Server, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let list = server
        .wait_for("/v1/objects/containerinstances", what, |v| {
            v["items"]
                .as_array()
                .is_some_and(|items| items.len() == 1 && pred(&items[0]))
        })
        .await;
    list["items"][0].clone()
}

fn td(name: &str, cpu: &str, memory: &str) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": name},
        "spec": {"cpu": cpu, "memory": memory,
            "containerDefinitions": [{"name": "app", "image": "busybox"}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_registers_its_machine_and_reports_its_tasks() {
    let fake = FakeRuntime::with_images(["busybox"]);
    fake.set_machine(MachineInfo {
        cpus: 2,
        memory_bytes: 4096 * MIB,
    });
    let server = start(&fake).await;
    let id = std::fs::read_to_string(server.data_dir.join("instance-id"))
        .unwrap()
        .trim()
        .to_string();
    let ci = the_instance(&server, "registered", |c| {
        c["status"]["registeredResources"]["cpu"] == 2048
    })
    .await;
    assert_eq!(ci["metadata"]["name"], id.as_str());
    assert_eq!(ci["metadata"]["cluster"], "default");
    let st = &ci["status"];
    assert_eq!(st["status"], "ACTIVE");
    assert_eq!(st["agentConnected"], true);
    assert_eq!(st["registeredResources"]["memory"], 4096);
    assert_eq!(st["remainingResources"]["cpu"], 2048);
    assert_eq!(st["attributes"]["ecs.os-type"], "linux");
    assert_eq!(st["attributes"]["ecs.instance-id"], id.as_str());
    let arch = st["attributes"]["ecs.cpu-architecture"].as_str().unwrap();
    assert!(["x86_64", "arm64"].contains(&arch), "{arch}");
    assert_eq!(st["runningTasksCount"], 0);
    let first_beat = st["lastHeartbeat"].as_str().unwrap().to_string();

    // A task in another cluster runs on it too: it takes its cpu and memory.
    let (s, out) = server
        .apply(vec![
            td("web", "512", "1024"),
            json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": "shop"}, "spec": {}}),
            json!({"apiVersion": "ecs/v1", "kind": "Task",
                "metadata": {"name": "t1", "cluster": "shop"}, "spec": {"taskDefinition": "web"}}),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let task = server
        .wait_for("/v1/objects/tasks/t1?cluster=shop", "running", |v| {
            v["status"]["lastStatus"] == "RUNNING"
        })
        .await;
    assert_eq!(task["status"]["containerInstance"], id.as_str());
    let ci = the_instance(&server, "counts the task", |c| {
        c["status"]["runningTasksCount"] == 1
    })
    .await;
    let st = &ci["status"];
    assert_eq!(st["remainingResources"]["cpu"], 2048 - 512);
    assert_eq!(st["remainingResources"]["memory"], 4096 - 1024);
    assert_eq!(st["pendingTasksCount"], 0);
    assert_ne!(st["lastHeartbeat"], first_beat.as_str(), "heartbeats move");
    let registered_at = st["registeredAt"].clone();

    // Stopped, it gives them back.
    let (s, out) = server
        .apply(vec![json!({"apiVersion": "ecs/v1", "kind": "Task",
            "metadata": {"name": "t1", "cluster": "shop"},
            "spec": {"taskDefinition": "web", "desiredStatus": "STOPPED"}})])
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let ci = the_instance(&server, "gives back", |c| {
        c["status"]["runningTasksCount"] == 0 && c["status"]["remainingResources"]["cpu"] == 2048
    })
    .await;
    assert_eq!(ci["status"]["registeredAt"], registered_at);

    // Users cannot write it.
    let mut forged = ci.clone();
    forged["metadata"] = json!({"name": "forged", "cluster": "default"});
    forged.as_object_mut().unwrap().remove("status");
    let (s, out) = server.apply(vec![forged]).await;
    assert!(s.is_client_error(), "{s} {out}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_keeps_its_instance() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let start_in = |data_dir: std::path::PathBuf| {
        let fake = fake.clone();
        async move {
            let socket = data_dir.join("ecsctl.sock");
            let mut config = support::api_only(&data_dir, ecsctl_server::Listen::Unix(socket));
            config.runtime = Some(std::sync::Arc::new(fake));
            config.heartbeat_interval = Some(Duration::from_millis(100));
            config
        }
    };
    let mut ids = Vec::new();
    let mut registered = Vec::new();
    for _ in 0..2 {
        let config = start_in(data_dir.clone()).await;
        let socket = data_dir.join("ecsctl.sock");
        let (stop, task) = support::spawn_config(config);
        support::wait_ready(&socket).await;
        let server = Server {
            _dir: tempfile::tempdir().unwrap(),
            data_dir: data_dir.clone(),
            socket,
            stop: Some(stop),
            task,
        };
        let ci = the_instance(&server, "registered", |c| {
            c["status"]["agentConnected"] == true
        })
        .await;
        ids.push(ci["metadata"]["name"].clone());
        registered.push(ci["status"]["registeredAt"].clone());
        server.stop().await;
    }
    assert_eq!(ids[0], ids[1], "one instance, not a new one per start");
    assert_eq!(registered[0], registered[1]);
}

/// `--no-local-agent`: a control plane only. No instance of its own, no container started
/// on its engine, and what has nowhere to go says so in ECS's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_plane_without_a_local_agent_places_nothing_on_its_machine() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let engine = fake.clone();
    let server = Server::start_with(move |c| {
        c.runtime = Some(std::sync::Arc::new(engine));
        c.heartbeat_interval = Some(Duration::from_millis(100));
        c.local_agent = false;
    })
    .await;
    let svc = json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"taskDefinition": "small", "desiredCount": 2}});
    let task = json!({"apiVersion": "ecs/v1", "kind": "Task", "metadata": {"name": "t1"},
        "spec": {"taskDefinition": "small"}});
    let (status, body) = server
        .apply(vec![td("small", "256", "512"), svc, task])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .wait_for("/v1/objects/services/web", "the no-instance event", |s| {
            s["status"]["events"].as_array().is_some_and(|e| {
                e.iter().any(|e| {
                    e["message"].as_str().is_some_and(|m| {
                        m.contains("was unable to place a task")
                            && m.contains("No Container Instances were found in your cluster")
                    })
                })
            })
        })
        .await;
    let t = server
        .wait_for("/v1/objects/tasks/t1", "the standalone task stopped", |t| {
            t["status"]["lastStatus"] == "STOPPED"
        })
        .await;
    let reason = t["status"]["stoppedReason"].as_str().unwrap();
    assert!(reason.contains("No Container Instances"), "{reason}");
    let (_, list) = server
        .call(hyper::Method::GET, "/v1/objects/containerinstances", None)
        .await;
    assert_eq!(list["items"], json!([]), "no instance of its own");
    let (_, tasks) = server
        .call(hyper::Method::GET, "/v1/objects/tasks", None)
        .await;
    assert_eq!(
        tasks["items"].as_array().unwrap().len(),
        1,
        "the service started none: {tasks}"
    );
    assert!(
        fake.containers().is_empty(),
        "nothing ran on the server's machine"
    );
    server.stop().await;
}
