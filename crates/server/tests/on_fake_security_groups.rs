//! Security groups through the fully wired server on a `FakeRuntime`: a service's tasks are in
//! the groups of its networkConfiguration, each with its namespace's filter loaded, and a
//! change of the groups rolls the tasks, as ECS does. What the kernel does with the filters is
//! the Docker tier's (crates/ecsctl/tests/security_groups.rs).
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use runtime::{FakeRuntime, labels};
use serde_json::{Value, json};
use support::Server;

fn objects(groups: &[&str]) -> Vec<Value> {
    vec![
        json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
            "spec": {"networkMode": "awsvpc", "containerDefinitions": [
                {"name": "app", "image": "busybox", "memory": 64, "stopTimeout": 1}]}}),
        json!({"apiVersion": "ecs/v1", "kind": "SecurityGroup", "metadata": {"name": "api"},
            "spec": {"ingress": [{"protocol": "tcp", "fromPort": 80, "toPort": 80,
                                  "source": {"securityGroup": "web"}}]}}),
        json!({"apiVersion": "ecs/v1", "kind": "SecurityGroup", "metadata": {"name": "web"},
            "spec": {}}),
        json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"taskDefinition": "web", "desiredCount": 2, "networkConfiguration":
                {"awsvpcConfiguration": {"subnets": ["s-1"], "securityGroups": groups}}}}),
    ]
}

/// The groups of the service's tasks that are not asked to stop.
async fn groups_of_tasks(server: &Server) -> Vec<Value> {
    let (_, list) = server.call(Method::GET, "/v1/objects/tasks", None).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["spec"]["desiredStatus"] != "STOPPED")
        .map(|t| t["spec"]["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_tasks_are_in_its_groups_and_a_change_of_groups_rolls_them() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let (status, body) = server.apply(objects(&["api"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server
        .wait_for("/v1/objects/services/web", "2 running", |v| {
            v["status"]["runningCount"] == 2
        })
        .await;
    assert_eq!(
        groups_of_tasks(&server).await,
        [json!(["api"]), json!(["api"])]
    );
    // Each task's namespace holds its filter: api's rule, no member of web yet.
    let holders: Vec<_> = fake
        .containers()
        .into_iter()
        .filter(|c| c.labels.contains_key(labels::NETNS) && c.state.is_alive())
        .collect();
    assert_eq!(holders.len(), 2);
    for h in &holders {
        let f = fake.packet_filter(&h.id.0).expect("a filter");
        assert!(f.ingress.is_empty() && !f.egress.is_empty(), "{f:?}");
    }

    // Groups changed: a new deployment replaces the tasks with tasks in the new groups.
    server.apply(objects(&["api", "web"])).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let g = groups_of_tasks(&server).await;
        if g.len() == 2 && g.iter().all(|g| *g == json!(["api", "web"])) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not rolled: {g:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.stop().await;
}
