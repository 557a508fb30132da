//! Every admission rule through every writer of the fully wired server: `POST /v1/apply`,
//! `POST /v1/sync` (what `ecsctl sync` calls), a watched directory (`--watch`), and for
//! deletes `DELETE /v1/objects/...` and a sync's prune. A rule lives in the admission crate
//! once; this test keeps any writer from going around it.
#![allow(clippy::unwrap_used)]

mod support;

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use support::Server;

/// (rule, the text a refusal must show, a manifest the rule refuses).
const REFUSED: &[(&str, &str, &str)] = &[
    (
        "cluster-policy",
        "spec.policy.allowPrivileged",
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: root}\nspec:\n  containerDefinitions:\n    - {name: app, image: busybox, memory: 32, privileged: true}\n---\napiVersion: ecs/v1\nkind: Service\nmetadata: {name: root}\nspec: {taskDefinition: root, desiredCount: 1}\n",
    ),
    (
        "cluster-policy",
        "spec.policy.hostPathAllowlist",
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: etc}\nspec:\n  volumes: [{name: etc, host: {sourcePath: /etc}}]\n  containerDefinitions:\n    - {name: app, image: busybox, memory: 32}\n---\napiVersion: ecs/v1\nkind: Task\nmetadata: {name: etc}\nspec: {taskDefinition: etc}\n",
    ),
    (
        "resource-bounds",
        "spec.policy.maxDesiredCount",
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: flood}\nspec:\n  containerDefinitions:\n    - {name: app, image: busybox, memory: 8}\n---\napiVersion: ecs/v1\nkind: Service\nmetadata: {name: flood}\nspec: {taskDefinition: flood, desiredCount: 100000}\n",
    ),
    (
        "listener-policy",
        "spec.policy.allowPrivilegedPorts",
        "apiVersion: ecs/v1\nkind: LoadBalancer\nmetadata: {name: web}\nspec:\n  listeners: [{port: 80, protocol: HTTP, defaultService: web}]\n",
    ),
    (
        "listener-policy",
        "spec.policy.allowPublicListeners",
        "apiVersion: ecs/v1\nkind: LoadBalancer\nmetadata: {name: web}\nspec:\n  listeners: [{port: 8080, protocol: TCP, address: 0.0.0.0, defaultService: web}]\n",
    ),
    (
        "listener-policy",
        "hostPort 22 (container app)",
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: ssh}\nspec:\n  containerDefinitions:\n    - {name: app, image: busybox, memory: 32, portMappings: [{containerPort: 22, hostPort: 22}]}\n---\napiVersion: ecs/v1\nkind: Service\nmetadata: {name: ssh}\nspec: {taskDefinition: ssh, desiredCount: 1}\n",
    ),
    (
        "terminal-safe-text",
        "spec.startedBy contains the control character U+001B (ESC)",
        "apiVersion: ecs/v1\nkind: Task\nmetadata: {name: t1}\nspec: {taskDefinition: web, startedBy: \"ci\\e]0;owned\\a\"}\n",
    ),
    (
        "cluster-policy",
        "sets dockerSecurityOptions",
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: unconfined}\nspec:\n  containerDefinitions:\n    - {name: app, image: busybox, memory: 32, dockerSecurityOptions: [seccomp=unconfined]}\n---\napiVersion: ecs/v1\nkind: Task\nmetadata: {name: unconfined}\nspec: {taskDefinition: unconfined}\n",
    ),
    (
        "secret-sources",
        "--secret-files-dir",
        "apiVersion: ecs/v1\nkind: Secret\nmetadata: {name: shadow}\nspec: {fromFile: /etc/shadow}\n",
    ),
    (
        "alias-clash",
        "is also the alias of service/Web_App in cluster default in this apply",
        "apiVersion: ecs/v1\nkind: Service\nmetadata: {name: Web_App}\nspec: {taskDefinition: web, desiredCount: 1}\n---\napiVersion: ecs/v1\nkind: Service\nmetadata: {name: web-app}\nspec: {taskDefinition: web, desiredCount: 1}\n",
    ),
    (
        "secret-sources",
        "--secret-env-prefix",
        "apiVersion: ecs/v1\nkind: Secret\nmetadata: {name: home}\nspec: {fromEnv: HOME}\n",
    ),
];

fn objects(yaml: &str) -> Vec<Value> {
    api::parse::parse_source("t.yaml", yaml, &Default::default())
        .unwrap()
        .into_iter()
        .map(|d| serde_json::to_value(d.object).unwrap())
        .collect()
}

async fn sync_status(server: &Server) -> Value {
    server.call(Method::GET, "/v1/syncs", None).await.1["items"][0].clone()
}

/// Waits until the watched directory's status satisfies `pred`.
async fn watched(server: &Server, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = sync_status(server).await;
        if pred(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {s:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_holds_on_every_path() {
    let watched_dir = tempfile::tempdir().unwrap();
    let dir = watched_dir.path().canonicalize().unwrap().join("deploy");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("cluster.yaml"),
        "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: default}\nspec: {}\n---\napiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: extra}\nspec: {}\n",
    )
    .unwrap();
    let fake = runtime::FakeRuntime::with_images(["busybox"]);
    let server = Server::start_with({
        let dir = dir.clone();
        let fake = fake.clone();
        move |c| {
            c.runtime = Some(std::sync::Arc::new(fake));
            c.watch = vec![dir];
            c.sync.debounce = Duration::from_millis(50);
        }
    })
    .await;
    watched(&server, "first sync", |s| s["state"] == "Synced").await;
    let revision = server.call(Method::GET, "/v1/health", None).await.1["revision"].clone();

    for (rule, shown, yaml) in REFUSED {
        // POST /v1/apply
        let (status, body) = server.apply(objects(yaml)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{rule}: {body}");
        assert!(body["error"].as_str().unwrap().contains(rule), "{body}");
        assert!(
            body["details"].to_string().contains(shown),
            "{rule}: {body}"
        );

        // A watched directory.
        std::fs::write(dir.join("refused.yaml"), yaml).unwrap();
        let s = watched(&server, rule, |s| s["errors"].to_string().contains(shown)).await;
        assert_eq!(s["state"], "Error", "{s}");
        assert!(
            s["errors"][0]
                .as_str()
                .unwrap()
                .starts_with("refused.yaml: "),
            "{s}"
        );

        // POST /v1/sync
        let (status, body) = server
            .call(Method::POST, "/v1/sync", Some(json!({"dir": dir})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{rule}: {body}");
        assert!(
            body["details"].to_string().contains(shown),
            "{rule}: {body}"
        );

        std::fs::remove_file(dir.join("refused.yaml")).unwrap();
        watched(&server, "fixed", |s| s["state"] == "Synced").await;
    }
    let (_, health) = server.call(Method::GET, "/v1/health", None).await;
    assert_eq!(health["revision"], revision, "no path wrote anything");
    assert!(fake.containers().is_empty(), "no task was ever started");

    // Deletes: the default cluster and Deployments are refused by hand and never pruned.
    for path in [
        "/v1/objects/clusters/default",
        "/v1/objects/deployments/any",
    ] {
        let (status, body) = server.call(Method::DELETE, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    std::fs::remove_file(dir.join("cluster.yaml")).unwrap();
    std::fs::write(
        dir.join("empty.yaml"),
        "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {name: other}\nspec: {}\n",
    )
    .unwrap();
    let s = watched(&server, "pruned", |s| {
        s["pruned"].to_string().contains("extra")
    })
    .await;
    assert!(
        s["warnings"]
            .to_string()
            .contains("cluster/default is no longer in"),
        "{s}"
    );
    let (status, _) = server
        .call(Method::GET, "/v1/objects/clusters/default", None)
        .await;
    assert_eq!(status, StatusCode::OK, "the default cluster is kept");
    let (status, _) = server
        .call(Method::GET, "/v1/objects/clusters/extra", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another cluster is pruned");
    server.stop().await;
}
