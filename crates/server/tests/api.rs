//! The HTTP API end to end: apply, get, list, delete and watch against a real server.
#![allow(clippy::unwrap_used)]

mod support;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use support::{Server, actions, svc, td};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UnixStream;

#[tokio::test]
async fn health_and_default_cluster() {
    let server = Server::start().await;
    let (status, body) = server.call(Method::GET, "/v1/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["revision"], 1, "the default cluster was created");
    let (status, body) = server
        .call(Method::GET, "/v1/objects/clusters/default", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["spec"], json!({}));
    server.stop().await;
}

#[tokio::test]
async fn apply_created_unchanged_configured() {
    let server = Server::start().await;
    let (status, body) = server.apply(vec![td("nginx:1"), svc("web", 1)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        actions(&body),
        ["TaskDefinition/web created", "Service/web created"]
    );
    assert_eq!(body["results"][0]["revision"], 1);
    assert_eq!(body["results"][1]["cluster"], "default");
    assert!(body["results"][1].get("revision").is_none());
    assert_eq!(body["warnings"], json!([]));

    let (_, body) = server.apply(vec![td("nginx:1"), svc("web", 1)]).await;
    assert_eq!(
        actions(&body),
        ["TaskDefinition/web unchanged", "Service/web unchanged"]
    );

    let (_, body) = server.apply(vec![td("nginx:1"), svc("web", 3)]).await;
    assert_eq!(
        actions(&body),
        ["TaskDefinition/web unchanged", "Service/web configured"]
    );

    let (status, body) = server.call(Method::GET, "/v1/objects/svc/web", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["spec"]["desiredCount"], 3);
    assert_eq!(body["metadata"]["generation"], 2);
    server.stop().await;
}

#[tokio::test]
async fn task_definition_revisions() {
    let server = Server::start().await;
    server.apply(vec![td("nginx:1")]).await;
    let (_, body) = server.apply(vec![td("nginx:2")]).await;
    assert_eq!(actions(&body), ["TaskDefinition/web configured"]);
    assert_eq!(body["results"][0]["revision"], 2);

    let (_, latest) = server.call(Method::GET, "/v1/objects/td/web", None).await;
    assert_eq!(latest["metadata"]["revision"], 2);
    let (_, first) = server
        .call(Method::GET, "/v1/objects/taskdefinitions/web:1", None)
        .await;
    assert_eq!(first["spec"]["containerDefinitions"][0]["image"], "nginx:1");
    let (_, list) = server
        .call(Method::GET, "/v1/objects/taskdefinition", None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    let (status, body) = server
        .call(Method::DELETE, "/v1/objects/td/web:2", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["deleted"],
        json!([{"kind": "TaskDefinition", "name": "web", "cluster": null, "revision": 2}])
    );
    let (_, body) = server.apply(vec![td("nginx:3")]).await;
    assert_eq!(
        body["results"][0]["revision"], 3,
        "revision numbers are never reused"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_bodies_are_400_and_413() {
    let server = Server::start().await;
    let (status, body) = server
        .raw(Method::POST, "/v1/apply", Bytes::from_static(b"{not json"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("request body is not valid JSON: "),
        "{body}"
    );

    let (status, body) = server
        .call(Method::POST, "/v1/apply", Some(json!({"items": []})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = server
        .call(
            Method::POST,
            "/v1/apply",
            Some(json!({"objects": [{"kind": "Pod"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["details"][0]
            .as_str()
            .unwrap()
            .starts_with("objects[0]: "),
        "{body}"
    );

    let big = Bytes::from(vec![b' '; 17 * 1024 * 1024]);
    let (status, body) = server.raw(Method::POST, "/v1/apply", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["error"].as_str().unwrap().contains("16 MiB"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_failed_apply_writes_nothing() {
    let server = Server::start().await;
    let (_, before) = server.call(Method::GET, "/v1/health", None).await;

    let mut bad = svc("broken", 1);
    bad["spec"]["desiredCount"] = json!("many");
    let (status, body) = server.apply(vec![td("nginx:1"), svc("web", 1), bad]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let details: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("service/broken: spec.desiredCount")),
        "{details:?}"
    );

    let deployment = json!({"apiVersion": "ecs/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {}});
    let (status, body) = server.apply(vec![svc("web", 1), deployment]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["details"][0]
            .as_str()
            .unwrap()
            .starts_with("deployment/d: "),
        "{body}"
    );

    let (_, after) = server.call(Method::GET, "/v1/health", None).await;
    assert_eq!(before["revision"], after["revision"]);
    let (_, list) = server.call(Method::GET, "/v1/objects/services", None).await;
    assert_eq!(list["items"], json!([]));
    server.stop().await;
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let server = Server::start().await;
    let (status, body) = server
        .call(
            Method::POST,
            "/v1/apply?dryRun=true",
            Some(json!({"objects": [svc("web", 1)]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(actions(&body), ["Service/web created"]);
    let (status, _) = server
        .call(Method::GET, "/v1/objects/services/web", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn stale_resource_version_is_409() {
    let server = Server::start().await;
    server.apply(vec![svc("web", 1)]).await;
    let (_, current) = server
        .call(Method::GET, "/v1/objects/services/web", None)
        .await;
    server.apply(vec![svc("web", 2)]).await;

    let mut stale = current.clone();
    stale["spec"]["desiredCount"] = json!(5);
    let (status, body) = server.apply(vec![stale]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("get it again and re-apply"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn not_found_and_unknown_kinds_are_404() {
    let server = Server::start().await;
    let (status, body) = server
        .call(Method::GET, "/v1/objects/services/x", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "service \"x\" not found in cluster default");

    let (status, body) = server.call(Method::GET, "/v1/objects/pods", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["error"].as_str().unwrap().contains("services"),
        "{body}"
    );

    let (status, _) = server
        .call(Method::DELETE, "/v1/objects/services/x?cluster=prod", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.call(Method::GET, "/v1/nothing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn protected_objects_cannot_be_deleted() {
    let server = Server::start().await;
    let (status, body) = server
        .call(Method::DELETE, "/v1/objects/clusters/default", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = server
        .call(Method::DELETE, "/v1/objects/deployments/x", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn list_filters_by_cluster_and_labels() {
    let server = Server::start().await;
    let mut a = svc("a", 1);
    a["metadata"]["labels"] = json!({"team": "shop"});
    let mut b = svc("b", 1);
    b["metadata"]["cluster"] = json!("prod");
    b["metadata"]["labels"] = json!({"team": "shop"});
    let c = svc("c", 1);
    let (status, body) = server.apply(vec![a, b, c]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, all) = server.call(Method::GET, "/v1/objects/services", None).await;
    assert_eq!(names(&all), ["a", "c", "b"]);
    let (_, prod) = server
        .call(Method::GET, "/v1/objects/services?cluster=prod", None)
        .await;
    assert_eq!(names(&prod), ["b"]);
    let (_, shop) = server
        .call(
            Method::GET,
            "/v1/objects/services?labelSelector=team%3Dshop",
            None,
        )
        .await;
    assert_eq!(names(&shop), ["a", "b"]);
    let (status, _) = server
        .call(Method::GET, "/v1/objects/services?labelSelector=oops", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn watch_streams_ndjson() {
    let server = Server::start().await;
    server.apply(vec![svc("a", 1)]).await;

    let stream = UnixStream::connect(&server.socket).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .uri("/v1/watch?from=1")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");

    // Read the body as lines through a pipe.
    let (mut writer, reader) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                writer.write_all(&data).await.unwrap();
            }
        }
    });
    let mut lines = BufReader::new(reader).lines();
    let first: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(first["revision"], 2);
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["metadata"]["name"], "a");

    server.apply(vec![svc("a", 2)]).await;
    let live: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(
        (live["revision"].as_u64(), live["type"].as_str()),
        (Some(3), Some("MODIFIED"))
    );

    // Shutting down ends the stream instead of hanging on it.
    server.stop().await;
    assert_eq!(lines.next_line().await.unwrap(), None);
}

#[tokio::test]
async fn an_autoscaled_services_desired_count_is_left_alone_on_apply() {
    let server = Server::start().await;
    let scaler = json!({"apiVersion": "ecs/v1", "kind": "Autoscaler", "metadata": {"name": "web-cpu"},
        "spec": {"service": "web", "minCapacity": 1, "maxCapacity": 5,
                 "targetTracking": [{"metric": "ECSServiceAverageCPUUtilization", "targetValue": 50.0}]}});
    let (status, body) = server
        .apply(vec![td("nginx:1"), svc("web", 2), scaler])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.apply(vec![svc("web", 4)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(actions(&body), ["Service/web unchanged"]);
    let warnings = body["warnings"].to_string();
    assert!(
        warnings.contains("spec.desiredCount is owned by autoscaler/web-cpu; left at 2"),
        "{warnings}"
    );
    let (_, live) = server
        .call(Method::GET, "/v1/objects/services/web", None)
        .await;
    assert_eq!(live["spec"]["desiredCount"], 2);
    server.stop().await;
}

#[tokio::test]
async fn workload_policy_is_checked_on_apply() {
    let server = Server::start().await;
    let privileged = json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
        "spec": {"containerDefinitions": [{"name": "app", "image": "nginx:1", "memory": 64, "privileged": true}]}});
    let (status, body) = server.apply(vec![privileged.clone(), svc("web", 1)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["details"]
            .to_string()
            .contains("service/web: refused by the policy of cluster default"),
        "{body}"
    );
    assert!(
        body["details"]
            .to_string()
            .contains("spec.policy.allowPrivileged"),
        "{body}"
    );
    let (status, _) = server
        .call(Method::GET, "/v1/objects/taskdefinitions/web", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was applied");
    // Allowed by the cluster in the same apply: accepted.
    let allow = json!({"apiVersion": "ecs/v1", "kind": "Cluster", "metadata": {"name": "default"},
        "spec": {"policy": {"allowPrivileged": true}}});
    let (status, body) = server.apply(vec![allow, privileged, svc("web", 1)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn concurrent_updates_from_one_resource_version_exactly_one_wins() {
    let server = Server::start().await;
    let (status, body) = server.apply(vec![td("nginx:1"), svc("web", 1)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, live) = server
        .call(Method::GET, "/v1/objects/services/web", None)
        .await;
    let rv = live["metadata"]["resourceVersion"].clone();
    let update = |count: u64| {
        let mut s = svc("web", count);
        s["metadata"]["resourceVersion"] = rv.clone();
        s
    };
    for round in 0..10u64 {
        let (a, b) = tokio::join!(
            server.apply(vec![update(10 + round)]),
            server.apply(vec![update(20 + round)])
        );
        let statuses = [a.0, b.0];
        if round == 0 {
            assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
            assert!(
                statuses.contains(&StatusCode::CONFLICT),
                "exactly one wins: {statuses:?}"
            );
            let loser = if a.0 == StatusCode::CONFLICT {
                &a.1
            } else {
                &b.1
            };
            assert!(
                loser["error"]
                    .as_str()
                    .unwrap()
                    .contains("get it again and re-apply"),
                "{loser}"
            );
        } else {
            // The first round moved the resourceVersion on: both are stale now.
            assert_eq!(statuses, [StatusCode::CONFLICT, StatusCode::CONFLICT]);
        }
    }
    server.stop().await;
}
