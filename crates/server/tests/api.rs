//! The HTTP API end to end: a real server on a unix socket in a tempdir, a small hyper
//! client over `UnixStream`.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use ecsctl_server::{Listen, ServerConfig, ServerError};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UnixStream;

struct Server {
    _dir: tempfile::TempDir,
    data_dir: PathBuf,
    socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let socket = data_dir.join("ecsctl.sock");
        let (stop, task) = spawn(&data_dir, &socket);
        wait_ready(&socket).await;
        Server {
            _dir: dir,
            data_dir,
            socket,
            stop: Some(stop),
            task,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        self.raw(method, path, Bytes::from(bytes)).await
    }

    async fn raw(&self, method: Method, path: &str, body: Bytes) -> (StatusCode, Value) {
        let stream = UnixStream::connect(&self.socket).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(body))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        });
        (status, value)
    }

    async fn apply(&self, objects: Vec<Value>) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/v1/apply",
            Some(json!({ "objects": objects })),
        )
        .await
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(!self.socket.exists(), "the socket file is removed on exit");
    }
}

fn spawn(
    data_dir: &Path,
    socket: &Path,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), ServerError>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = ServerConfig {
        data_dir: data_dir.to_path_buf(),
        listen: Listen::Unix(socket.to_path_buf()),
    };
    let task = tokio::spawn(ecsctl_server::run(config, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

async fn wait_ready(socket: &Path) {
    for _ in 0..200 {
        if UnixStream::connect(socket).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server did not start");
}

fn td(image: &str) -> Value {
    json!({
        "apiVersion": "ecs/v1",
        "kind": "TaskDefinition",
        "metadata": {"name": "web"},
        "spec": {"family": "web", "containerDefinitions": [{"name": "app", "image": image, "memory": 128}]}
    })
}

fn svc(name: &str, desired: u64) -> Value {
    json!({
        "apiVersion": "ecs/v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"taskDefinition": "web", "desiredCount": desired}
    })
}

fn actions(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{} {}",
                r["kind"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                r["action"].as_str().unwrap()
            )
        })
        .collect()
}

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
async fn socket_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start().await;
    let mode = std::fs::metadata(&server.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
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
async fn refuses_to_start_twice_on_one_socket() {
    let server = Server::start().await;
    let other = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        data_dir: other.path().to_path_buf(),
        listen: Listen::Unix(server.socket.clone()),
    };
    let err = ecsctl_server::run(config, std::future::pending())
        .await
        .unwrap_err();
    assert!(matches!(err, ServerError::AlreadyRunning(_)), "{err}");
    // The running server still answers.
    let (status, _) = server.call(Method::GET, "/v1/health", None).await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn restarts_over_a_stale_socket_and_keeps_data() {
    let server = Server::start().await;
    server.apply(vec![svc("web", 1)]).await;
    let Server {
        _dir,
        data_dir,
        socket,
        stop,
        task,
    } = server;
    drop(stop);
    task.await.unwrap().unwrap();
    // A socket file nobody answers on, as a crash leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());

    let (stop, task) = spawn(&data_dir, &socket);
    wait_ready(&socket).await;
    let server = Server {
        _dir,
        data_dir,
        socket,
        stop: Some(stop),
        task,
    };
    let (status, body) = server
        .call(Method::GET, "/v1/objects/services/web", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, health) = server.call(Method::GET, "/v1/health", None).await;
    assert_eq!(
        health["revision"], 2,
        "the default cluster is not created twice"
    );
    server.stop().await;
}

#[tokio::test]
async fn tcp_needs_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let empty = ServerConfig {
        data_dir: dir.path().to_path_buf(),
        listen: Listen::Tcp {
            addr: "127.0.0.1:0".parse().unwrap(),
            token: String::new(),
        },
    };
    assert!(matches!(
        ecsctl_server::run(empty, std::future::pending()).await,
        Err(ServerError::Config(_))
    ));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = ServerConfig {
        data_dir: dir.path().to_path_buf(),
        listen: Listen::Tcp {
            addr,
            token: "s3cret".to_string(),
        },
    };
    assert!(
        !format!("{config:?}").contains("s3cret"),
        "Debug never shows the token"
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(ecsctl_server::run(config, async move {
        let _ = stopped.await;
    }));

    let get = |token: Option<&'static str>| async move {
        for _ in 0..200 {
            if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                let mut req = Request::builder()
                    .uri("/v1/health")
                    .header("host", "localhost");
                if let Some(t) = token {
                    req = req.header("authorization", format!("Bearer {t}"));
                }
                let resp = sender
                    .send_request(req.body(Full::new(Bytes::new())).unwrap())
                    .await
                    .unwrap();
                return resp.status();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server did not start");
    };
    assert_eq!(get(None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get(Some("wrong")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get(Some("s3cret")).await, StatusCode::OK);
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
