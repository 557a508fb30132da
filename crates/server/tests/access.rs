//! Identities and roles through the real HTTP API: a server on TCP with a `--tokens` file,
//! called with each role's token. Writes, deletes, reads, lists, watches, logs and syncs are
//! each checked against the identity's role and clusters; a refusal is a 403 naming the role
//! and the rule, and writes nothing.
#![allow(clippy::unwrap_used)]

mod support;

use bytes::Bytes;
use ecsctl_server::{Listen, ServerConfig, ServerError};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use runtime::{ContainerState, FakeRuntime, labels};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ADMIN: &str = "admin-token-000000000001";
const DEPLOYER: &str = "deployer-token-000000001";
const VIEWER: &str = "viewer-token-00000000001";
const AGENT: &str = "agent-token-000000000001";

fn tokens_text() -> String {
    format!(
        "# the identities of these tests\n{ADMIN} admin\n{DEPLOYER} deployer shop\n{VIEWER} viewer shop\n{AGENT} agent shop\n"
    )
}

/// A server on 127.0.0.1 (a port the OS picked) whose identities are a tokens file.
struct Tcp {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    tokens: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

fn write_tokens(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn config(dir: &Path, tokens: &Path, addr: SocketAddr) -> ServerConfig {
    let mut config = ServerConfig::new(
        dir.join("data"),
        Listen::Tcp {
            addr,
            token: String::new(),
            tls: None,
        },
    );
    config.tokens = Some(tokens.to_path_buf());
    config
}

impl Tcp {
    async fn start(fake: Option<&FakeRuntime>) -> Tcp {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        write_tokens(&tokens, &tokens_text());
        let addr = free_addr();
        let mut config = config(dir.path(), &tokens, addr);
        if let Some(fake) = fake {
            config.runtime = Some(std::sync::Arc::new(fake.clone()));
            config.metrics_interval = Some(Duration::from_millis(200));
        }
        let (stop, task) = support::spawn_config(config);
        let server = Tcp {
            _dir: dir,
            addr,
            tokens,
            stop: Some(stop),
            task,
        };
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server did not start");
    }

    async fn send(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> hyper::Response<hyper::body::Incoming> {
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let body = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        sender.send_request(req).await.unwrap()
    }

    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let resp = self.send(token, method, path, body).await;
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            // Newline-delimited answers (logs) come back as one string.
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        (status, value)
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(token, Method::GET, path, None).await
    }

    async fn apply(&self, token: &str, objects: Vec<Value>) -> (StatusCode, Value) {
        self.call(
            token,
            Method::POST,
            "/v1/apply",
            Some(json!({ "objects": objects })),
        )
        .await
    }

    /// The names (`cluster/name`) a list answers.
    async fn names(&self, token: &str, path: &str) -> Vec<String> {
        let (status, body) = self.get(token, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let mut names: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let cluster = o["metadata"]["cluster"].as_str().unwrap_or("-");
                format!("{cluster}/{}", o["metadata"]["name"].as_str().unwrap())
            })
            .collect();
        names.sort();
        names
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

fn object(kind: &str, cluster: Option<&str>, name: &str, spec: Value) -> Value {
    let mut meta = json!({"name": name});
    if let Some(c) = cluster {
        meta["cluster"] = json!(c);
    }
    json!({"apiVersion": "ecs/v1", "kind": kind, "metadata": meta, "spec": spec})
}

fn td(name: &str) -> Value {
    object(
        "TaskDefinition",
        None,
        name,
        json!({"containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64, "stopTimeout": 1}]}),
    )
}

fn service(cluster: &str, name: &str) -> Value {
    object(
        "Service",
        Some(cluster),
        name,
        json!({"taskDefinition": "web", "desiredCount": 1}),
    )
}

/// The 403's message, checked to name the role and the rule.
fn forbidden(status: StatusCode, body: &Value, role: &str, rule: &str) -> String {
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let e = body["error"].as_str().unwrap().to_string();
    assert!(
        e.starts_with(&format!("forbidden: role {role} (clusters: shop) may not ")),
        "{e}"
    );
    assert!(e.contains(&format!("(rule: {rule})")), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
    e
}

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
    let (status, body) = server.get(AGENT, "/v1/objects/secrets").await;
    forbidden(status, &body, "agent", "role-permissions");
    let (status, body) = server.apply(AGENT, vec![service("shop", "web")]).await;
    forbidden(status, &body, "agent", "role-permissions");
    server.stop().await;
}

/// Reads lines of a watch until `done` holds for the events seen (10 s at most).
async fn watch_until(
    server: &Tcp,
    token: &str,
    from: u64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let resp = server
        .send(token, Method::GET, &format!("/v1/watch?from={from}"), None)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let mut events = Vec::new();
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done(&events) {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("watch events in time");
        let Some(frame) = frame else { break };
        if let Ok(data) = frame.unwrap().into_data() {
            buf.extend_from_slice(&data);
            while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                events.push(serde_json::from_slice(&line).unwrap());
            }
        }
    }
    events
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
    // Its containers' names are taken by default's task: it fails to start, and touches
    // nothing of default's.
    loop {
        let (_, t) = server
            .get(DEPLOYER, "/v1/objects/tasks/t?cluster=shop")
            .await;
        if t["status"]["lastStatus"] == "STOPPED" {
            assert_eq!(t["status"]["stopCode"], "TaskFailedToStart", "{t}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "shop's task did not stop: {t}"
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
