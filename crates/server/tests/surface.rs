//! The server's surface against a hostile client: connections without a token cannot hold the
//! server (header read timeout, connection cap, close after 401), and `POST /v1/sync` syncs
//! only watched directories and those below `--sync-root`, refusing others before reading.
#![allow(clippy::unwrap_used)]

mod support;

use ecsctl_server::{ConnectionLimits, Listen, ServerConfig};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "s3cret-token";

/// An API-only server on a loopback TCP port the OS picked, with `limits`.
struct TcpServer {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ecsctl_server::ServerError>>,
}

impl TcpServer {
    async fn start(limits: ConnectionLimits) -> TcpServer {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut config = ServerConfig::new(
            dir.path(),
            Listen::Tcp {
                addr,
                token: TOKEN.to_string(),
                tls: None,
            },
        );
        config.connections = limits;
        let (stop, task) = spawn_config(config);
        for _ in 0..400 {
            if TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        TcpServer {
            addr,
            _dir: dir,
            stop,
            task,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the server stops within 10 s")
            .unwrap()
            .unwrap();
    }
}

/// One request on a new connection (`Connection: close`), with or without the token: the
/// status line and the whole answer as text.
async fn request(addr: SocketAddr, token: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    s.write_all(
        format!("GET /v1/health HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits until the server closes `s` (EOF or reset); how long that took.
async fn closed_by_server(mut s: TcpStream, within: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 64];
    loop {
        match tokio::time::timeout(within, s.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {within:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => continue, // an error answer (408) before the close
        }
    }
}

#[tokio::test]
async fn idle_connections_without_a_token_neither_block_nor_stay() {
    let timeout = Duration::from_secs(2);
    let server = TcpServer::start(ConnectionLimits {
        header_read_timeout: timeout,
        ..ConnectionLimits::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..150 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // One more that starts a request and never finishes its headers (slowloris).
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();

    // An authenticated client is served at once, not after the idle ones time out.
    let start = Instant::now();
    let answer = request(server.addr, Some(TOKEN)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        start.elapsed() < timeout,
        "served after {:?}: the idle connections held it up",
        start.elapsed()
    );

    // Every idle connection is closed by the server within the timeout (plus slack).
    let mut waits = Vec::new();
    for s in idle.into_iter().chain([slow]) {
        waits.push(tokio::spawn(closed_by_server(s, timeout * 3)));
    }
    for w in waits {
        w.await.unwrap();
    }
    // And the server still serves.
    let answer = request(server.addr, Some(TOKEN)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn at_the_cap_new_connections_wait_for_a_slot_instead_of_failing() {
    let server = TcpServer::start(ConnectionLimits {
        header_read_timeout: Duration::from_millis(500),
        max_connections: 4,
        ..ConnectionLimits::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // All four slots are taken: this one waits in the backlog until the header timeout frees
    // a slot, then is served.
    let answer = tokio::time::timeout(Duration::from_secs(10), request(server.addr, Some(TOKEN)))
        .await
        .expect("served once a slot frees");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(idle);
    server.stop().await;
}

#[tokio::test]
async fn a_401_closes_the_connection() {
    // The default header timeout (10 s) is far beyond this test's wait: the close is the 401's.
    let server = TcpServer::start(ConnectionLimits::default()).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // Keep-alive asked for (HTTP/1.1 default): the server closes anyway.
    s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out))
        .await
        .expect("the server closes the connection after a 401")
        .unwrap();
    let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 401"), "{text}");
    assert!(text.contains("connection: close"), "{text}");
    // With the token, the connection is kept for the next request.
    let answer = request(server.addr, Some(TOKEN)).await;
    assert!(!answer.to_ascii_lowercase().contains("401"), "{answer}");
    server.stop().await;
}

/// A directory holding one task definition (and a file that would be reported by name if the
/// directory were read).
fn manifests(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("td.yaml"),
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n  containerDefinitions: [{name: app, image: busybox, memory: 16}]\n",
    )
    .unwrap();
}

#[tokio::test]
async fn sync_of_a_directory_outside_the_roots_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap().join("root");
    let outside = std::fs::canonicalize(tmp.path()).unwrap().join("outside");
    manifests(&root.join("app"));
    std::fs::create_dir_all(&outside).unwrap();
    // If the server read this directory, its answer would name this file.
    std::fs::write(outside.join("secret-name.yaml"), "not: [valid").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
    let server = Server::start_with({
        let root = root.clone();
        move |c| c.sync_roots = vec![root]
    })
    .await;

    let sync = |dir: String| {
        let server = &server;
        async move {
            server
                .call(Method::POST, "/v1/sync", Some(json!({"dir": dir})))
                .await
        }
    };
    for dir in [
        "/etc".to_string(),
        outside.display().to_string(),
        format!("{}/app/../../outside", root.display()),
        root.join("escape").display().to_string(),
        "/no/such/directory".to_string(),
    ] {
        let (status, body) = sync(dir.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{dir}: {body}");
        let text = body.to_string();
        assert!(text.contains("--sync-root"), "{dir}: {text}");
        assert!(
            !text.contains("secret-name") && !text.contains("passwd"),
            "{dir}: the answer shows the directory was read: {text}"
        );
    }
    let (_, list) = server.call(Method::GET, "/v1/syncs", None).await;
    assert_eq!(list["items"], json!([]), "no refused sync is recorded");

    // Below the root: synced (the directory as resolved is the source).
    let (status, body) = sync(root.join("app").display().to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["applied"][0]["name"], "web", "{body}");
    let (status, body) = sync(format!("{}/./app/", root.display())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["source"], root.join("app").display().to_string());
    server.stop().await;
}

#[tokio::test]
async fn without_a_sync_root_only_watched_directories_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let watched = std::fs::canonicalize(tmp.path()).unwrap().join("watched");
    let other = std::fs::canonicalize(tmp.path()).unwrap().join("other");
    manifests(&watched);
    manifests(&other);
    let server = Server::start_with({
        let watched = watched.clone();
        move |c| c.watch = vec![watched]
    })
    .await;
    let (status, body) = server
        .call(Method::POST, "/v1/sync", Some(json!({"dir": watched})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .call(Method::POST, "/v1/sync", Some(json!({"dir": other})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("(none set)"),
        "{body}"
    );
    let (status, body) = server
        .call(
            Method::POST,
            "/v1/sync",
            Some(json!({"dir": "relative/dir"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn fields_accepted_but_not_applied_are_warnings_of_the_api() {
    let server = Server::start().await;
    let td = json!({
        "apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
        "spec": {"containerDefinitions": [
            {"name": "db", "image": "busybox", "memory": 16},
            {"name": "app", "image": "busybox", "memory": 16, "links": ["db"],
             "linuxParameters": {"devices": [{"hostPath": "/dev/fuse"}]}}]}
    });
    let (status, body) = server.apply(vec![td]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let warnings: Vec<&str> = body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    for field in ["links", "linuxParameters.devices"] {
        let expected = format!(
            "taskdefinition/web: spec.containerDefinitions[1].{field}: accepted but not applied by ecsctl"
        );
        assert!(
            warnings.iter().any(|w| w.starts_with(&expected)),
            "{expected} not in {warnings:#?}"
        );
    }
    assert_eq!(actions(&body), ["TaskDefinition/web created"]);
    server.stop().await;
}

#[tokio::test]
async fn a_body_sent_slowly_does_not_hold_shutdown() {
    let server = TcpServer::start(ConnectionLimits {
        shutdown_grace: Duration::from_millis(500),
        ..ConnectionLimits::default()
    })
    .await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(
        format!(
            "POST /v1/apply HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"objects\": ["
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    server.stop().await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "stopped after {:?}",
        start.elapsed()
    );
    drop(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privileged_host_port_in_a_later_revision_is_refused_at_task_start() {
    let fake = runtime::FakeRuntime::with_images(["busybox"]);
    let server = Server::start_on(&fake).await;
    let web = |ports: Value| {
        json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition", "metadata": {"name": "web"},
            "spec": {"containerDefinitions": [{"name": "app", "image": "busybox", "memory": 16,
                "portMappings": ports}]}})
    };
    let (status, body) = server
        .apply(vec![web(json!([{"containerPort": 8080}])), svc("web", 1)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A new revision alone (task definitions are account-wide: no cluster's policy applies to
    // them) that the service follows without being applied again.
    let (status, body) = server
        .apply(vec![web(json!([{"containerPort": 80, "hostPort": 80}]))])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tasks = server
        .wait_for("/v1/objects/tasks", "web:2's task refused", |v| {
            v["items"].as_array().is_some_and(|items| {
                items.iter().any(|t| {
                    t["status"]["taskDefinition"] == "web:2"
                        && t["status"]["stopCode"] == "TaskFailedToStart"
                })
            })
        })
        .await;
    let refused = tasks["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"]["taskDefinition"] == "web:2")
        .unwrap();
    let reason = refused["status"]["stoppedReason"].as_str().unwrap();
    assert!(
        reason.contains("hostPort 80") && reason.contains("spec.policy.allowPrivilegedPorts"),
        "{reason}"
    );
    assert!(
        !fake
            .containers()
            .iter()
            .any(|c| c.labels.get("ecsctl.taskdef").map(String::as_str) == Some("web:2")),
        "no container of web:2 was made"
    );
    server.stop().await;
}
