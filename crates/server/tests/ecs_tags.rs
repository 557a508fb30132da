//! The ECS API's tags on clusters, services, tasks and task definitions (TagResource,
//! UntagResource, ListTagsForResource, CreateCluster and RunTask `tags`, `include: TAGS`),
//! and UpdateCluster's containerInsights, on the fully wired server on a `FakeRuntime`: a
//! service's tags change without a deployment; a registered revision's tags are fixed.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use runtime::FakeRuntime;
use serde_json::{Value, json};
use std::time::Duration;
use support::ecs::{ACCOUNT, DEPLOYER_KEY, DEPLOYER_SECRET, Ecs, REGION, Signing};

fn arn(resource: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:{resource}")
}

async fn tags_of(ecs: &Ecs, resource_arn: &str) -> Value {
    ecs.ok("ListTagsForResource", json!({"resourceArn": resource_arn}))
        .await["tags"]
        .clone()
}

async fn start() -> (FakeRuntime, Ecs) {
    let fake = FakeRuntime::with_images(["busybox"]);
    let ecs = Ecs::start_on(&fake).await;
    let td = json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
        "spec": {"containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}],
                 "tags": [{"key": "app", "value": "web"}]}});
    let (status, body) = ecs.server.apply(vec![td]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (fake, ecs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_tags_and_container_insights() {
    let (_fake, ecs) = start().await;
    let created = ecs
        .ok(
            "CreateCluster",
            json!({"clusterName": "shop", "tags": [{"key": "team", "value": "shop"}],
                   "settings": [{"name": "containerInsights", "value": "enabled"}]}),
        )
        .await;
    assert_eq!(
        created["cluster"]["tags"],
        json!([{"key": "team", "value": "shop"}])
    );
    assert_eq!(
        created["cluster"]["settings"],
        json!([{"name": "containerInsights", "value": "enabled"}])
    );
    let shop = arn("cluster/shop");
    let plain = ecs
        .ok("DescribeClusters", json!({"clusters": ["shop"]}))
        .await;
    assert_eq!(plain["clusters"][0]["tags"], json!([]));
    ecs.ok(
        "TagResource",
        json!({"resourceArn": shop, "tags": [{"key": "env", "value": "prod"}, {"key": "team", "value": "checkout"}]}),
    )
    .await;
    ecs.ok(
        "UntagResource",
        json!({"resourceArn": shop, "tagKeys": ["env", "absent"]}),
    )
    .await;
    let with_tags = ecs
        .ok(
            "DescribeClusters",
            json!({"clusters": [&shop], "include": ["TAGS"]}),
        )
        .await;
    assert_eq!(
        with_tags["clusters"][0]["tags"],
        json!([{"key": "team", "value": "checkout"}])
    );
    assert_eq!(
        tags_of(&ecs, &shop).await,
        json!([{"key": "team", "value": "checkout"}])
    );
    // The same spec `ecsctl get cluster shop -o json` shows.
    let (_, got) = ecs
        .server
        .call(Method::GET, "/v1/objects/clusters/shop", None)
        .await;
    assert_eq!(
        got["spec"]["tags"],
        json!([{"key": "team", "value": "checkout"}])
    );
    assert_eq!(got["spec"]["containerInsights"], "enabled");

    let updated = ecs
        .ok(
            "UpdateCluster",
            json!({"cluster": &shop, "settings": [{"name": "containerInsights", "value": "disabled"}]}),
        )
        .await;
    assert_eq!(
        updated["cluster"]["settings"],
        json!([{"name": "containerInsights", "value": "disabled"}])
    );
    assert_eq!(
        updated["cluster"]["tags"],
        json!([{"key": "team", "value": "checkout"}])
    );
    let msg = ecs
        .fails(
            "UpdateCluster",
            json!({"cluster": "shop", "configuration": {"executeCommandConfiguration": {"logging": "DEFAULT"}}}),
            "InvalidParameterException",
        )
        .await;
    assert!(msg.contains("configuration"), "{msg}");
    ecs.fails(
        "UpdateCluster",
        json!({"cluster": "shop", "settings": [{"name": "containerInsights", "value": "maybe"}]}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "UpdateCluster",
        json!({"cluster": "nope", "settings": [{"name": "containerInsights", "value": "enabled"}]}),
        "ClusterNotFoundException",
    )
    .await;
    let deployer = Signing::Key(DEPLOYER_KEY, DEPLOYER_SECRET);
    let (status, out) = ecs
        .call_as(
            deployer,
            "UpdateCluster",
            json!({"cluster": "shop", "settings": [{"name": "containerInsights", "value": "enabled"}]}),
        )
        .await;
    assert_eq!(
        (status, &out["__type"]),
        (StatusCode::BAD_REQUEST, &json!("AccessDeniedException"))
    );
    ecs.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_tags_change_without_a_deployment() {
    let (_fake, ecs) = start().await;
    let svc = json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": "front"},
        "spec": {"taskDefinition": "web", "desiredCount": 1, "tags": [{"key": "tier", "value": "edge"}]}});
    let (status, body) = ecs.server.apply(vec![svc]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = "/v1/objects/services/front";
    let before = ecs
        .server
        .wait_for(path, "running", |v| v["status"]["runningCount"] == 1)
        .await;
    let deployments = before["status"]["deployments"].clone();
    let front = arn("service/default/front");
    assert_eq!(
        tags_of(&ecs, &front).await,
        json!([{"key": "tier", "value": "edge"}])
    );
    ecs.ok(
        "TagResource",
        json!({"resourceArn": &front, "tags": [{"key": "owner", "value": "web team"}]}),
    )
    .await;
    assert_eq!(
        tags_of(&ecs, &front).await,
        json!([{"key": "tier", "value": "edge"}, {"key": "owner", "value": "web team"}])
    );
    // The controller sees the new generation and starts no deployment for it.
    let generation =
        ecs.server.call(Method::GET, path, None).await.1["metadata"]["generation"].clone();
    let after = ecs
        .server
        .wait_for(path, "new generation observed", |v| {
            v["status"]["observedGeneration"] == generation
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_wait = ecs.server.call(Method::GET, path, None).await.1;
    assert_eq!(after["status"]["deployments"], deployments);
    assert_eq!(after_wait["status"]["deployments"], deployments);
    assert_eq!(after_wait["status"]["runningCount"], 1);
    ecs.ok(
        "UntagResource",
        json!({"resourceArn": &front, "tagKeys": ["tier", "owner"]}),
    )
    .await;
    assert_eq!(tags_of(&ecs, &front).await, json!([]));
    let deployer = Signing::Key(DEPLOYER_KEY, DEPLOYER_SECRET);
    let (_, out) = ecs
        .call_as(
            deployer,
            "TagResource",
            json!({"resourceArn": &front, "tags": [{"key": "a", "value": "b"}]}),
        )
        .await;
    assert_eq!(out["__type"], "AccessDeniedException", "{out}");
    let (_, out) = ecs
        .call_as(
            deployer,
            "ListTagsForResource",
            json!({"resourceArn": &front}),
        )
        .await;
    assert_eq!(out["__type"], "ResourceNotFoundException", "{out}");
    ecs.fails(
        "TagResource",
        json!({"resourceArn": arn("service/default/nope"), "tags": [{"key": "a", "value": "b"}]}),
        "ResourceNotFoundException",
    )
    .await;
    ecs.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_and_task_definition_tags() {
    let (_fake, ecs) = start().await;
    let out = ecs
        .ok(
            "RunTask",
            json!({"taskDefinition": "web", "propagateTags": "TASK_DEFINITION",
                   "tags": [{"key": "run", "value": "nightly"}]}),
        )
        .await;
    let task = out["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    assert_eq!(
        tags_of(&ecs, &task).await,
        json!([{"key": "app", "value": "web"}, {"key": "run", "value": "nightly"}])
    );
    ecs.ok(
        "TagResource",
        json!({"resourceArn": &task, "tags": [{"key": "run", "value": "weekly"}]}),
    )
    .await;
    let described = ecs
        .ok(
            "DescribeTasks",
            json!({"tasks": [&task], "include": ["TAGS"]}),
        )
        .await;
    assert_eq!(
        described["tasks"][0]["tags"],
        json!([{"key": "app", "value": "web"}, {"key": "run", "value": "weekly"}])
    );
    let plain = ecs.ok("DescribeTasks", json!({"tasks": [&task]})).await;
    assert!(plain["tasks"][0].get("tags").is_none(), "{plain}");

    let td = arn("task-definition/web:1");
    assert_eq!(
        tags_of(&ecs, &td).await,
        json!([{"key": "app", "value": "web"}])
    );
    let msg = ecs
        .fails(
            "TagResource",
            json!({"resourceArn": &td, "tags": [{"key": "a", "value": "b"}]}),
            "InvalidParameterException",
        )
        .await;
    assert!(msg.contains("immutable"), "{msg}");
    ecs.fails(
        "UntagResource",
        json!({"resourceArn": &td, "tagKeys": ["app"]}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "ListTagsForResource",
        json!({"resourceArn": arn("task-definition/web:7")}),
        "ResourceNotFoundException",
    )
    .await;
    ecs.fails(
        "TagResource",
        json!({"resourceArn": &task, "tags": [{"key": "aws:owner", "value": "x"}]}),
        "InvalidParameterException",
    )
    .await;
    let fifty: Vec<Value> = (0..49)
        .map(|i| json!({"key": format!("k{i}"), "value": ""}))
        .collect();
    ecs.fails(
        "TagResource",
        json!({"resourceArn": &task, "tags": fifty}),
        "InvalidParameterException",
    )
    .await;
    ecs.fails(
        "ListTagsForResource",
        json!({"resourceArn": "arn:aws:ecs:eu-west-1:123456789012:capacity-provider/x"}),
        "InvalidParameterException",
    )
    .await;
    ecs.server.stop().await;
}
