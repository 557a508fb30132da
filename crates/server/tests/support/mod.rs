//! Test harness: a real server on a unix socket in a tempdir, and a small hyper client
//! over `UnixStream`.
#![allow(clippy::unwrap_used, dead_code)]

pub mod ecs;
pub mod tcp;

use bytes::Bytes;
use ecsctl_server::{Listen, ServerConfig, ServerError};
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::UnixStream;

pub struct Server {
    pub _dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub socket: PathBuf,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl Server {
    /// An API-only server (no runtime, no controllers).
    pub async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    /// The fully wired server (controllers, load balancer, logs, metrics) on `fake`.
    pub async fn start_on(fake: &runtime::FakeRuntime) -> Server {
        let fake = fake.clone();
        Server::start_with(move |c| {
            c.runtime = Some(std::sync::Arc::new(fake));
            c.metrics_interval = Some(Duration::from_millis(200));
        })
        .await
    }

    /// A server whose configuration `configure` changes first.
    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let socket = data_dir.join("ecsctl.sock");
        let mut config = api_only(&data_dir, Listen::Unix(socket.clone()));
        configure(&mut config);
        let (stop, task) = spawn_config(config);
        wait_ready(&socket).await;
        Server {
            _dir: dir,
            data_dir,
            socket,
            stop: Some(stop),
            task,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        self.raw(method, path, Bytes::from(bytes)).await
    }

    pub async fn raw(&self, method: Method, path: &str, body: Bytes) -> (StatusCode, Value) {
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

    /// Polls `GET path` until `pred` holds for the answer (for up to 20 s); returns it.
    pub async fn wait_for(&self, path: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (_, v) = self.call(Method::GET, path, None).await;
            if pred(&v) {
                return v;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: {v:#}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn apply(&self, objects: Vec<Value>) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/v1/apply",
            Some(json!({ "objects": objects })),
        )
        .await
    }

    pub async fn stop(mut self) {
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

/// A server without controllers (no Docker) on `data_dir`, listening at `listen`.
pub fn api_only(data_dir: &Path, listen: Listen) -> ServerConfig {
    ServerConfig::new(data_dir, listen)
}

pub fn spawn(
    data_dir: &Path,
    socket: &Path,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), ServerError>>,
) {
    spawn_config(api_only(data_dir, Listen::Unix(socket.to_path_buf())))
}

/// Runs the server configured so until the sender is used (or dropped).
pub fn spawn_config(
    config: ServerConfig,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), ServerError>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(ecsctl_server::run(config, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

pub async fn wait_ready(socket: &Path) {
    for _ in 0..600 {
        if UnixStream::connect(socket).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server did not start");
}

pub fn td(image: &str) -> Value {
    json!({
        "apiVersion": "ecs/v1",
        "kind": "TaskDefinition",
        "metadata": {"name": "web"},
        "spec": {"family": "web", "containerDefinitions": [{"name": "app", "image": image, "memory": 128}]}
    })
}

pub fn svc(name: &str, desired: u64) -> Value {
    json!({
        "apiVersion": "ecs/v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"taskDefinition": "web", "desiredCount": desired}
    })
}

pub fn actions(answer: &Value) -> Vec<String> {
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

/// The spec the fake received for container `container` of task `task`, found by its labels
/// as the controllers find it (names also hold the server's id and the cluster).
pub fn spec_of(
    fake: &runtime::FakeRuntime,
    task: &str,
    container: &str,
) -> Option<runtime::ContainerSpec> {
    let labelled = |c: &runtime::ContainerInfo, key: &str, want: &str| {
        c.labels.get(key).map(String::as_str) == Some(want)
    };
    fake.containers()
        .into_iter()
        .find(|c| {
            labelled(c, runtime::labels::TASK, task)
                && labelled(c, runtime::labels::CONTAINER, container)
        })
        .and_then(|c| fake.spec_of(&c.name))
}
