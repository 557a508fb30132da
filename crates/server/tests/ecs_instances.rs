//! The ECS API's container instance operations on the fully wired server on a
//! `FakeRuntime`: the server's own instance listed (status filter, pages) and described in
//! ECS's shape, MISSING failures, DescribeTasks naming it, DescribeClusters counting it, and
//! a deployer kept to its cluster.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::StatusCode;
use runtime::{FakeRuntime, MachineInfo};
use serde_json::{Value, json};
use std::time::Duration;
use support::ecs::{ACCOUNT, DEPLOYER_KEY, DEPLOYER_SECRET, Ecs, REGION, Signing};

async fn start() -> (FakeRuntime, Ecs) {
    let fake = FakeRuntime::with_images(["busybox"]);
    fake.set_machine(MachineInfo {
        cpus: 4,
        memory_bytes: 8192 * 1024 * 1024,
    });
    let f = fake.clone();
    let ecs = Ecs::start_with(move |c| {
        c.runtime = Some(std::sync::Arc::new(f));
        c.heartbeat_interval = Some(Duration::from_millis(100));
    })
    .await;
    (fake, ecs)
}

/// The instance's ARNs, once ListContainerInstances gives `n` of them.
async fn listed(ecs: &Ecs, body: Value, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = ecs.ok("ListContainerInstances", body.clone()).await;
        let arns: Vec<String> = out["containerInstanceArns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        if arns.len() == n {
            return arns;
        }
        assert!(tokio::time::Instant::now() < deadline, "{out}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn resource<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_instance_is_listed_and_described_in_ecs_shape() {
    let (_fake, ecs) = start().await;
    let id = std::fs::read_to_string(ecs.server.data_dir.join("instance-id"))
        .unwrap()
        .trim()
        .to_string();
    let arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/default/{id}");
    assert_eq!(listed(&ecs, json!({}), 1).await, vec![arn.clone()]);
    assert_eq!(
        listed(&ecs, json!({"cluster": "default", "status": "ACTIVE"}), 1).await,
        vec![arn.clone()]
    );
    assert!(
        listed(&ecs, json!({"status": "DRAINING"}), 0)
            .await
            .is_empty()
    );
    // A page of one has no next page.
    let out = ecs
        .ok("ListContainerInstances", json!({"maxResults": 1}))
        .await;
    assert!(out.get("nextToken").is_none(), "{out}");
    ecs.fails(
        "ListContainerInstances",
        json!({"status": "SLEEPY"}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "ListContainerInstances",
        json!({"filter": "attribute:ecs.os-type == linux"}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "ListContainerInstances",
        json!({"cluster": "nope"}),
        "ClusterNotFoundException",
    )
    .await;

    // By id and by ARN; an unknown one is MISSING.
    let out = ecs
        .ok(
            "DescribeContainerInstances",
            json!({"containerInstances": [id, arn, "ghost"]}),
        )
        .await;
    let found = out["containerInstances"].as_array().unwrap();
    assert_eq!(found.len(), 2, "{out}");
    let ci = &found[0];
    assert_eq!(ci["containerInstanceArn"], arn.as_str());
    assert_eq!(ci["ec2InstanceId"], id.as_str());
    assert_eq!(ci["status"], "ACTIVE");
    assert_eq!(ci["agentConnected"], true);
    let cpu = resource(&ci["registeredResources"], "CPU");
    assert_eq!(
        (cpu["type"].clone(), cpu["integerValue"].clone()),
        (json!("INTEGER"), json!(4096))
    );
    assert_eq!(
        resource(&ci["registeredResources"], "MEMORY")["integerValue"],
        8192
    );
    assert_eq!(
        resource(&ci["remainingResources"], "PORTS")["type"],
        "STRINGSET"
    );
    let attrs = ci["attributes"].as_array().unwrap();
    assert!(
        attrs.contains(&json!({"name": "ecs.os-type", "value": "linux"})),
        "{attrs:?}"
    );
    assert!(ci["registeredAt"].is_number(), "{ci}");
    assert!(ci["versionInfo"]["agentVersion"].is_string(), "{ci}");
    assert_eq!(
        out["failures"],
        json!([{"arn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/default/ghost"),
                "reason": "MISSING"}])
    );

    let cl = ecs
        .ok("DescribeClusters", json!({"clusters": ["default"]}))
        .await;
    assert_eq!(
        cl["clusters"][0]["registeredContainerInstancesCount"], 1,
        "{cl}"
    );

    // A task names it, and the instance counts it.
    let (s, out) = ecs
        .server
        .apply(vec![
            json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition",
            "metadata": {"name": "web"},
            "spec": {"cpu": "1024", "memory": "512",
                "containerDefinitions": [{"name": "app", "image": "busybox"}]}}),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let run = ecs.ok("RunTask", json!({"taskDefinition": "web"})).await;
    let task_arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = ecs
            .ok(
                "DescribeContainerInstances",
                json!({"containerInstances": [id]}),
            )
            .await;
        let ci = &out["containerInstances"][0];
        if ci["runningTasksCount"] == 1 {
            assert_eq!(
                resource(&ci["remainingResources"], "CPU")["integerValue"],
                3072
            );
            assert_eq!(
                resource(&ci["remainingResources"], "MEMORY")["integerValue"],
                8192 - 512
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{out}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = ecs.ok("DescribeTasks", json!({"tasks": [task_arn]})).await;
    assert_eq!(
        out["tasks"][0]["containerInstanceArn"],
        arn.as_str(),
        "{out}"
    );
    // ListTasks finds it by its instance (id or ARN), and nothing on another.
    for instance in [id.as_str(), arn.as_str()] {
        let out = ecs
            .ok("ListTasks", json!({"containerInstance": instance}))
            .await;
        assert_eq!(out["taskArns"], json!([task_arn]), "{out}");
    }
    let out = ecs
        .ok("ListTasks", json!({"containerInstance": "0123456789ab"}))
        .await;
    assert_eq!(out["taskArns"], json!([]), "{out}");

    // A deployer of `shop` does not read the default cluster's instances.
    let (status, out) = ecs
        .call_as(
            Signing::Key(DEPLOYER_KEY, DEPLOYER_SECRET),
            "ListContainerInstances",
            json!({}),
        )
        .await;
    assert_ne!(status, StatusCode::OK, "{out}");
    assert_eq!(out["__type"], "AccessDeniedException", "{out}");
    ecs.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_container_instances_state_drains_and_makes_active_again() {
    let (_fake, ecs) = start().await;
    let id = std::fs::read_to_string(ecs.server.data_dir.join("instance-id"))
        .unwrap()
        .trim()
        .to_string();
    let arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/default/{id}");
    listed(&ecs, json!({}), 1).await;

    // By id, with one unknown id and one ARN of another cluster: those are MISSING.
    let other = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/shop/{id}");
    let out = ecs
        .ok(
            "UpdateContainerInstancesState",
            json!({"containerInstances": [id, "ghost", other], "status": "DRAINING"}),
        )
        .await;
    let done = out["containerInstances"].as_array().unwrap();
    assert_eq!(done.len(), 1, "{out}");
    assert_eq!(done[0]["containerInstanceArn"], arn.as_str());
    assert_eq!(done[0]["status"], "DRAINING", "at once, before a heartbeat");
    assert!(done[0]["registeredResources"].is_array(), "{out}");
    assert_eq!(
        out["failures"],
        json!([
            {"arn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/default/ghost"),
             "reason": "MISSING"},
            {"arn": other, "reason": "MISSING"},
        ])
    );
    assert_eq!(
        listed(&ecs, json!({"status": "DRAINING"}), 1).await,
        vec![arn.clone()]
    );
    assert!(
        listed(&ecs, json!({"status": "ACTIVE"}), 0)
            .await
            .is_empty()
    );
    let out = ecs
        .ok(
            "DescribeContainerInstances",
            json!({"containerInstances": [id]}),
        )
        .await;
    assert_eq!(out["containerInstances"][0]["status"], "DRAINING", "{out}");

    // By ARN, back to ACTIVE; the same again changes nothing and fails nothing.
    for _ in 0..2 {
        let out = ecs
            .ok(
                "UpdateContainerInstancesState",
                json!({"cluster": "default", "containerInstances": [arn], "status": "ACTIVE"}),
            )
            .await;
        assert_eq!(out["containerInstances"][0]["status"], "ACTIVE", "{out}");
        assert_eq!(out["failures"], json!([]), "{out}");
    }
    assert_eq!(
        listed(&ecs, json!({"status": "ACTIVE"}), 1).await,
        vec![arn.clone()]
    );

    // What ECS refuses.
    for (body, error) in [
        (
            json!({"containerInstances": [id], "status": "REGISTERING"}),
            "InvalidParameterException",
        ),
        (
            json!({"containerInstances": [id], "status": "SLEEPY"}),
            "InvalidParameterException",
        ),
        (
            json!({"containerInstances": [], "status": "DRAINING"}),
            "InvalidParameterException",
        ),
        (
            json!({"containerInstances": vec![id.clone(); 11], "status": "DRAINING"}),
            "InvalidParameterException",
        ),
        (
            json!({"containerInstances": [id]}),
            "SerializationException",
        ),
        (
            json!({"cluster": "nope", "containerInstances": [id], "status": "DRAINING"}),
            "ClusterNotFoundException",
        ),
    ] {
        ecs.fails("UpdateContainerInstancesState", body, error)
            .await;
    }
    // A deployer may not, even in its own cluster.
    for cluster in ["default", "shop"] {
        let (status, out) = ecs
            .call_as(
                Signing::Key(DEPLOYER_KEY, DEPLOYER_SECRET),
                "UpdateContainerInstancesState",
                json!({"cluster": cluster, "containerInstances": [id], "status": "DRAINING"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
        assert_eq!(out["__type"], "AccessDeniedException", "{out}");
        assert!(
            out["message"]
                .as_str()
                .unwrap()
                .contains("rule: admin-only"),
            "{out}"
        );
    }
    let out = ecs
        .ok(
            "DescribeContainerInstances",
            json!({"containerInstances": [id]}),
        )
        .await;
    assert_eq!(out["containerInstances"][0]["status"], "ACTIVE", "{out}");
    ecs.server.stop().await;
}
