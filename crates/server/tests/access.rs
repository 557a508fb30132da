//! Identities and roles through the real HTTP API: a server on TCP with a `--tokens` file,
//! called with each role's token. Writes, deletes, reads, lists and watches are each checked
//! against the identity's role and clusters; a refusal is a 403 naming the role and the rule,
//! and writes nothing. The tokens file's mode and its reload on SIGHUP.
#![allow(clippy::unwrap_used)]

mod support;

use ecsctl_server::ServerError;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::tcp::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployer_writes_only_in_its_clusters_and_never_clusters_or_syncs() {
    let server = Tcp::start(None).await;
    let shop = object("Cluster", None, "shop", json!({}));
    let (status, body) = server
        .apply(
            ADMIN,
            vec![
                shop,
                td("web"),
                service("default", "web"),
                object("Secret", None, "db", json!({"value": "default-s3cret"})),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Task definitions are the account's; services of shop are the deployer's.
    let (status, body) = server
        .apply(
            DEPLOYER,
            vec![
                td("web"),
                service("shop", "web"),
                object(
                    "Secret",
                    Some("shop"),
                    "db",
                    json!({"value": "shop-s3cret"}),
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // One object outside shop refuses the whole apply: nothing is written.
    let (status, body) = server
        .apply(
            DEPLOYER,
            vec![service("shop", "api"), service("default", "api")],
        )
        .await;
    let e = forbidden(status, &body, "deployer", "cluster-scope");
    assert!(
        e.contains("may not write services in cluster default"),
        "{e}"
    );
    let (status, _) = server
        .get(ADMIN, "/v1/objects/services/api?cluster=shop")
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nothing of the refused apply was written"
    );
    // A Service without a cluster is the default cluster's.
    let mut no_cluster = service("shop", "api");
    no_cluster["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("cluster");
    let (status, body) = server.apply(DEPLOYER, vec![no_cluster]).await;
    forbidden(status, &body, "deployer", "cluster-scope");

    // Clusters (their policy) are an admin's, even the deployer's own.
    let open = object(
        "Cluster",
        None,
        "shop",
        json!({"policy": {"allowPrivileged": true}}),
    );
    let (status, body) = server.apply(DEPLOYER, vec![open.clone()]).await;
    let e = forbidden(status, &body, "deployer", "admin-only");
    assert!(e.contains("may not write cluster shop"), "{e}");
    let (status, body) = server.apply(ADMIN, vec![open]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Deletes outside shop, and of clusters, are refused; inside shop they pass.
    for path in [
        "/v1/objects/services/web?cluster=default",
        "/v1/objects/secrets/db",
        "/v1/objects/clusters/shop",
    ] {
        let (status, body) = server.call(DEPLOYER, Method::DELETE, path, None).await;
        forbidden(
            status,
            &body,
            "deployer",
            if path.contains("clusters") {
                "admin-only"
            } else {
                "cluster-scope"
            },
        );
    }
    assert_eq!(
        server.names(ADMIN, "/v1/objects/services").await,
        ["default/web", "shop/web"]
    );

    // No directory syncs, whatever the directory.
    let (status, body) = server
        .call(
            DEPLOYER,
            Method::POST,
            "/v1/sync",
            Some(json!({"dir": "/etc"})),
        )
        .await;
    forbidden(status, &body, "deployer", "admin-only");
    let (status, body) = server.get(DEPLOYER, "/v1/syncs").await;
    forbidden(status, &body, "deployer", "cluster-scope");

    // Reads: lists hold shop's objects only; a get or list of default is refused.
    assert_eq!(
        server.names(DEPLOYER, "/v1/objects/services").await,
        ["shop/web"]
    );
    assert_eq!(
        server.names(DEPLOYER, "/v1/objects/secrets").await,
        ["shop/db"]
    );
    assert_eq!(
        server.names(DEPLOYER, "/v1/objects/clusters").await,
        ["-/shop"]
    );
    assert_eq!(
        server.names(DEPLOYER, "/v1/objects/taskdefinitions").await,
        ["-/web"]
    );
    for path in [
        "/v1/objects/services?cluster=default",
        "/v1/objects/services/web?cluster=default",
        "/v1/objects/services/nothing-here",
        "/v1/objects/clusters/default",
        "/v1/loadbalancers/front/status",
        "/v1/metrics/services/web/series",
    ] {
        let (status, body) = server.get(DEPLOYER, path).await;
        forbidden(status, &body, "deployer", "cluster-scope");
    }
    let (status, body) = server
        .get(DEPLOYER, "/v1/objects/services/web?cluster=shop")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Secret values are never answered, to anyone.
    for token in [ADMIN, DEPLOYER, VIEWER] {
        let (status, body) = server
            .get(token, "/v1/objects/secrets/db?cluster=shop")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!body.to_string().contains("s3cret"), "{body}");
    }

    // Any identity may ask for the server's health; a wrong token may ask nothing.
    for token in [ADMIN, DEPLOYER, VIEWER, AGENT] {
        assert_eq!(server.get(token, "/v1/health").await.0, StatusCode::OK);
    }
    for token in ["", "admin-token-000000000002", &ADMIN[..ADMIN.len() - 1]] {
        let (status, body) = server.get(token, "/v1/health").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_its_clusters_and_writes_nothing_an_agent_reads_tasks() {
    let server = Tcp::start(None).await;
    let shop = object("Cluster", None, "shop", json!({}));
    let (status, body) = server
        .apply(
            ADMIN,
            vec![
                shop,
                td("web"),
                service("default", "web"),
                service("shop", "web"),
                object("Secret", Some("shop"), "db", json!({"value": "x"})),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for objects in [
        vec![service("shop", "web")],
        vec![td("web")],
        vec![object("Secret", Some("shop"), "db", json!({"value": "y"}))],
    ] {
        let (status, body) = server.apply(VIEWER, objects).await;
        forbidden(status, &body, "viewer", "role-permissions");
    }
    let (status, body) = server
        .call(
            VIEWER,
            Method::DELETE,
            "/v1/objects/services/web?cluster=shop",
            None,
        )
        .await;
    forbidden(status, &body, "viewer", "role-permissions");
    assert_eq!(
        server.names(VIEWER, "/v1/objects/services").await,
        ["shop/web"]
    );
    let (status, body) = server.get(VIEWER, "/v1/tasks/any/logs?cluster=shop").await;
    forbidden(status, &body, "viewer", "role-permissions");

    assert_eq!(
        server.names(AGENT, "/v1/objects/services").await,
        ["shop/web"]
    );
    assert_eq!(
        server.names(AGENT, "/v1/objects/taskdefinitions").await,
        ["-/web"]
    );
    let (status, body) = server.get(AGENT, "/v1/objects/autoscalers").await;
    forbidden(status, &body, "agent", "role-permissions");
    let (status, body) = server.apply(AGENT, vec![service("shop", "web")]).await;
    forbidden(status, &body, "agent", "role-permissions");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_sends_only_events_of_the_identitys_clusters() {
    let server = Tcp::start(None).await;
    let (_, health) = server.get(ADMIN, "/v1/health").await;
    let from = health["revision"].as_u64().unwrap();
    let (status, body) = server
        .apply(
            ADMIN,
            vec![
                object("Cluster", None, "shop", json!({})),
                td("web"),
                service("default", "web"),
                service("default", "api"),
                object("Secret", None, "db", json!({"value": "x"})),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The last write, in shop: once the deployer sees it, every earlier event went by.
    let (status, body) = server.apply(ADMIN, vec![service("shop", "last")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seen = |events: &[Value]| {
        events
            .iter()
            .any(|e| e["object"]["metadata"]["name"] == "last")
    };
    let events = watch_until(&server, DEPLOYER, from, seen).await;
    let names: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{}/{}/{}",
                e["object"]["kind"].as_str().unwrap(),
                e["object"]["metadata"]["cluster"].as_str().unwrap_or("-"),
                e["object"]["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "Cluster/-/shop",
            "TaskDefinition/-/web",
            "Service/shop/last"
        ]
    );
    // The admin sees everything.
    let all = watch_until(&server, ADMIN, from, seen).await;
    assert_eq!(all.len(), 6, "{all:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_tokens_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    write_tokens(&tokens, &tokens_text());
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
    match ecsctl_server::run(
        config(dir.path(), &tokens, free_addr()),
        std::future::pending(),
    )
    .await
    {
        Err(ServerError::Config(m)) => {
            assert!(m.contains("mode 0644") && m.contains("chmod 600"), "{m}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    write_tokens(&tokens, "short admin\n");
    match ecsctl_server::run(
        config(dir.path(), &tokens, free_addr()),
        std::future::pending(),
    )
    .await
    {
        Err(ServerError::Config(m)) => {
            assert!(
                m.contains(&format!("--tokens {}: line 1:", tokens.display())),
                "{m}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        !dir.path().join("data/store").exists(),
        "refused before the store was opened"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_swaps_the_identities_and_a_bad_file_keeps_them() {
    let server = Tcp::start(None).await;
    assert_eq!(server.get(VIEWER, "/v1/health").await.0, StatusCode::OK);
    let newcomer = "newcomer-token-000000001";
    write_tokens(
        &server.tokens,
        &format!("{ADMIN} admin\n{newcomer} viewer *\n"),
    );
    let hup = || {
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    hup();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.get(newcomer, "/v1/health").await.0 != StatusCode::OK {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reload did not happen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.get(VIEWER, "/v1/health").await.0,
        StatusCode::UNAUTHORIZED
    );
    // A broken file is not taken: the identities in use stay.
    write_tokens(&server.tokens, &format!("{ADMIN} root\n"));
    hup();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.get(newcomer, "/v1/health").await.0, StatusCode::OK);
    server.stop().await;
}

/// An agent registers its instance, reports its tasks and reads the Secret values and role
/// credentials they need; another agent's token (same role, same cluster) does none of that
/// for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_act_only_for_their_own_instances() {
    let started = Tcp::start(None).await;
    let server = &started;
    let td = object(
        "TaskDefinition",
        None,
        "web",
        json!({"taskRoleArn": "arn:aws:iam::1:role/app",
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64,
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": "db"}]}]}),
    );
    let role = json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": {"secret": "db"}});
    let (status, body) = server
        .apply(
            ADMIN,
            vec![
                object("Cluster", None, "shop", json!({})),
                td,
                object("Secret", Some("shop"), "db", json!({"value": "s3cret"})),
                object("Secret", Some("shop"), "other", json!({"value": "no"})),
                object("Role", Some("shop"), "app", role.clone()),
                object("Role", Some("shop"), "unused", role),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let register = |id: &str, cluster: &str| json!({"id": id, "cluster": cluster});
    let post = |token, body| server.call(token, Method::POST, "/v1/instances", Some(body));
    let (status, body) = post(AGENT, register("i-a", "shop")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["spec"]["agent"].as_str().unwrap().len(),
        "token:".len() + 16
    );
    // Again (a restarted agent): the same instance.
    assert_eq!(post(AGENT, register("i-a", "shop")).await.0, StatusCode::OK);
    let (status, body) = post(AGENT2, register("i-a", "shop")).await;
    forbidden(status, &body, "agent", "instance-owner");
    let (status, body) = post(DEPLOYER, register("i-d", "shop")).await;
    forbidden(status, &body, "deployer", "role-permissions");
    let (status, body) = post(AGENT, register("i-x", "default")).await;
    forbidden(status, &body, "agent", "cluster-scope");

    let mut task = object(
        "Task",
        Some("shop"),
        "t1",
        json!({"taskDefinition": "web:1"}),
    );
    task["spec"]["containerInstance"] = json!("i-a");
    assert_eq!(server.apply(ADMIN, vec![task]).await.0, StatusCode::OK);
    let report = |token, status: Value| {
        server.call(
            token,
            Method::PUT,
            "/v1/objects/tasks/t1/status?cluster=shop",
            Some(json!({ "status": status })),
        )
    };
    let running =
        json!({"lastStatus": "RUNNING", "desiredStatus": "RUNNING", "taskDefinition": "web:1"});
    let (status, body) = report(AGENT, running.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"]["lastStatus"], "RUNNING");
    let (status, body) = report(AGENT2, running.clone()).await;
    forbidden(status, &body, "agent", "instance-owner");
    let (status, body) = server
        .call(
            AGENT2,
            Method::PUT,
            "/v1/objects/containerinstances/i-a/status?cluster=shop",
            Some(json!({"status": {"agentConnected": true}})),
        )
        .await;
    forbidden(status, &body, "agent", "instance-owner");

    let value = |token: &'static str, name: &str| {
        let path = format!("/v1/secrets/{name}/value?cluster=shop");
        async move { server.get(token, &path).await }
    };
    let (status, body) = value(AGENT, "db").await;
    assert_eq!(
        (status, body["value"].as_str()),
        (StatusCode::OK, Some("s3cret"))
    );
    let (status, body) = value(AGENT, "other").await;
    forbidden(status, &body, "agent", "instance-owner");
    let (status, body) = value(AGENT2, "db").await;
    forbidden(status, &body, "agent", "instance-owner");
    let (status, body) = value(VIEWER, "db").await;
    forbidden(status, &body, "viewer", "role-permissions");
    let creds = |token: &'static str, name: &str| {
        let path = format!("/v1/roles/{name}/credentials?cluster=shop");
        async move { server.get(token, &path).await }
    };
    let (status, body) = creds(AGENT, "app").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accessKeyId"], "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(body["secretAccessKey"], "s3cret");
    let (status, body) = creds(AGENT, "unused").await;
    forbidden(status, &body, "agent", "instance-owner");
    let (status, body) = creds(AGENT2, "app").await;
    forbidden(status, &body, "agent", "instance-owner");
    let (status, body) = creds(VIEWER, "app").await;
    forbidden(status, &body, "viewer", "role-permissions");

    // STOPPED is final: a report that would run the task again is refused.
    let stopped =
        json!({"lastStatus": "STOPPED", "desiredStatus": "STOPPED", "taskDefinition": "web:1"});
    assert_eq!(report(AGENT, stopped).await.0, StatusCode::OK);
    let (status, body) = report(AGENT, running).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // And a stopped task's secrets are no longer anyone's to read.
    let (status, body) = value(AGENT, "db").await;
    forbidden(status, &body, "agent", "instance-owner");
    let (status, body) = creds(AGENT, "app").await;
    forbidden(status, &body, "agent", "instance-owner");
    started.stop().await;
}
