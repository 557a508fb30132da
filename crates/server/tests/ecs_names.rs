//! ECS names through the HTTP API: `Web_App`, `Shop_Prod` and `My_App` are names of their
//! own (case and `_` kept), found by their exact spelling, running on the (fake) engine with
//! a DNS alias derived for the cluster network; two names with one alias are refused.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use runtime::{ContainerState, FakeRuntime, NetworkAttach, labels};
use serde_json::{Value, json};
use support::Server;

fn cluster(name: &str) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": name}, "spec": {}})
}

fn family(name: &str) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": name},
        "spec": {"networkMode": "awsvpc", "containerDefinitions": [
            {"name": "App_Main", "image": "busybox", "memory": 64, "stopTimeout": 1,
             "portMappings": [{"containerPort": 8080}]}]}})
}

fn service(name: &str, cluster: &str, family: &str, count: u64) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "Service", "metadata": {"name": name, "cluster": cluster},
        "spec": {"taskDefinition": family, "desiredCount": count}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_alias_clashes_are_refused_at_apply_naming_both() {
    let server = Server::start().await;
    let (status, body) = server
        .apply(vec![
            cluster("Shop_Prod"),
            family("My_App"),
            service("Web_App", "Shop_Prod", "My_App", 1),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Against what is stored: `web-app` would answer to Web_App's DNS name.
    let (status, body) = server
        .apply(vec![service("web-app", "Shop_Prod", "My_App", 1)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("alias-clash"),
        "{body}"
    );
    let details = body["details"].to_string();
    assert!(
        details.contains("service/web-app")
            && details.contains("service/Web_App in cluster Shop_Prod (stored)"),
        "{body}"
    );
    // Within one apply, for an account-wide kind.
    let (status, body) = server.apply(vec![family("Api_V2"), family("api-v2")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let details = body["details"].to_string();
    assert!(
        details.contains("taskdefinition/api-v2") && details.contains("taskdefinition/Api_V2"),
        "{body}"
    );
    // The same name in another cluster is another object.
    let (status, body) = server
        .apply(vec![
            cluster("shop-prod"),
            service("web-app", "shop-prod", "My_App", 1),
        ])
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "clusters clash too: {body}"
    );
    let (status, body) = server
        .apply(vec![service("web-app", "default", "My_App", 1)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server
        .call(
            Method::GET,
            "/v1/objects/services/web-app?cluster=Shop_Prod",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was written");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_with_ecs_names_runs_and_is_found_by_its_exact_name() {
    let fake = FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let (status, body) = server
        .apply(vec![
            cluster("Shop_Prod"),
            family("My_App"),
            service("Web_App", "Shop_Prod", "My_App", 2),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let svc = server
        .wait_for(
            "/v1/objects/services/Web_App?cluster=Shop_Prod",
            "2 running",
            |v| v["status"]["runningCount"] == 2,
        )
        .await;
    assert_eq!(svc["metadata"]["name"], "Web_App");
    assert_eq!(svc["metadata"]["cluster"], "Shop_Prod");

    // The exact name, nothing else: neither the alias nor another case finds it.
    for other in ["web-app", "web_app", "WEB_APP"] {
        let (status, _) = server
            .call(
                Method::GET,
                &format!("/v1/objects/services/{other}?cluster=Shop_Prod"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    }
    let (_, td) = server
        .call(Method::GET, "/v1/objects/taskdefinitions/My_App", None)
        .await;
    assert_eq!(td["metadata"]["name"], "My_App", "{td}");
    let (_, list) = server
        .call(
            Method::GET,
            "/v1/objects/tasks?cluster=Shop_Prod&labelSelector=ecsctl.service%3DWeb_App",
            None,
        )
        .await;
    let tasks = list["items"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{list}");
    assert!(
        tasks.iter().all(|t| t["status"]["lastStatus"] == "RUNNING"
            && t["status"]["taskDefinition"] == "My_App:1"),
        "{list}"
    );

    // On the engine: the exact names in labels and container names, the DNS alias on the
    // cluster network.
    let running: Vec<_> = fake
        .containers()
        .into_iter()
        .filter(|c| c.state == ContainerState::Running)
        .collect();
    let app: Vec<_> = running
        .iter()
        .filter(|c| c.labels.get(labels::CONTAINER).map(String::as_str) == Some("App_Main"))
        .collect();
    assert_eq!(app.len(), 2);
    for c in &app {
        assert_eq!(c.labels[labels::CLUSTER], "Shop_Prod");
        assert_eq!(c.labels[labels::SERVICE], "Web_App");
        assert_eq!(c.labels[labels::TASKDEF], "My_App:1");
        assert!(
            c.name.contains(".Shop_Prod.") && c.name.ends_with(".App_Main"),
            "{}",
            c.name
        );
    }
    let netns = running
        .iter()
        .find(|c| c.labels.contains_key(labels::NETNS))
        .expect("an awsvpc task has a namespace holder");
    match fake.spec_of(&netns.name).unwrap().network {
        NetworkAttach::Named { network, aliases } => {
            assert!(network.starts_with("ecsctl-Shop_Prod-"), "{network}");
            assert_eq!(aliases, ["web-app"]);
        }
        other => panic!("{other:?}"),
    }

    // Scaled and deleted by its exact name.
    let (status, body) = server
        .apply(vec![service("Web_App", "Shop_Prod", "My_App", 0)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .call(
            Method::DELETE,
            "/v1/objects/services/Web_App?cluster=Shop_Prod",
            None,
        )
        .await;
    assert!(status.is_success(), "{body}");
    server.stop().await;
}
