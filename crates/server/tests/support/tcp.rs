//! A server on TCP whose clients are identities of a `--tokens` file (admin, deployer,
//! viewer and agent of cluster `shop`), and a client that sends each role's token.
#![allow(clippy::unwrap_used, dead_code)]

use bytes::Bytes;
use ecsctl_server::{Listen, ServerConfig, ServerError};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use runtime::FakeRuntime;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const ADMIN: &str = "admin-token-000000000001";
pub const DEPLOYER: &str = "deployer-token-000000001";
pub const VIEWER: &str = "viewer-token-00000000001";
pub const AGENT: &str = "agent-token-000000000001";
pub const AGENT2: &str = "agent-token-000000000002";

pub fn tokens_text() -> String {
    format!(
        "# the identities of these tests\n{ADMIN} admin\n{DEPLOYER} deployer shop\n{VIEWER} viewer shop\n{AGENT} agent shop\n{AGENT2} agent shop\n"
    )
}

/// A server on 127.0.0.1 (a port the OS picked) whose identities are a tokens file.
pub struct Tcp {
    pub _dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub tokens: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

pub fn write_tokens(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

pub fn config(dir: &Path, tokens: &Path, addr: SocketAddr) -> ServerConfig {
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
    pub async fn start(fake: Option<&FakeRuntime>) -> Tcp {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        write_tokens(&tokens, &tokens_text());
        let addr = free_addr();
        let mut config = config(dir.path(), &tokens, addr);
        if let Some(fake) = fake {
            config.runtime = Some(std::sync::Arc::new(fake.clone()));
            config.metrics_interval = Some(Duration::from_millis(200));
        }
        let (stop, task) = super::spawn_config(config);
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

    pub async fn send(
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

    pub async fn call(
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

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(token, Method::GET, path, None).await
    }

    pub async fn apply(&self, token: &str, objects: Vec<Value>) -> (StatusCode, Value) {
        self.call(
            token,
            Method::POST,
            "/v1/apply",
            Some(json!({ "objects": objects })),
        )
        .await
    }

    /// The names (`cluster/name`) a list answers.
    pub async fn names(&self, token: &str, path: &str) -> Vec<String> {
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

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

pub fn object(kind: &str, cluster: Option<&str>, name: &str, spec: Value) -> Value {
    let mut meta = json!({"name": name});
    if let Some(c) = cluster {
        meta["cluster"] = json!(c);
    }
    json!({"apiVersion": "ecs/v1", "kind": kind, "metadata": meta, "spec": spec})
}

pub fn td(name: &str) -> Value {
    object(
        "TaskDefinition",
        None,
        name,
        json!({"containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64, "stopTimeout": 1}]}),
    )
}

pub fn service(cluster: &str, name: &str) -> Value {
    object(
        "Service",
        Some(cluster),
        name,
        json!({"taskDefinition": "web", "desiredCount": 1}),
    )
}

/// The 403's message, checked to name the role and the rule.
pub fn forbidden(status: StatusCode, body: &Value, role: &str, rule: &str) -> String {
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

/// Reads lines of a watch until `done` holds for the events seen (10 s at most).
pub async fn watch_until(
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
