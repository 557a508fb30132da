//! `GET /v1/tasks/{id}/logs?cluster=C&container=NAME&follow=true|false&tail=N`: what a task's
//! containers printed, as newline-delimited JSON
//! `{"container", "stream": "stdout"|"stderr", "text", "timestamp"}`.
//!
//! The containers are found by label (this server's `ecsctl.instance`, the task id and its
//! cluster), stopped ones included; the awsvpc namespace holder is not one of them. Without
//! `follow` the stream ends after what the containers printed so far (one container after
//! the other); with it, lines arrive as they are printed until every container has stopped,
//! the client goes away or the server shuts down. The answer's `x-ecsctl-containers` header
//! lists the containers streamed, in task definition order. An error after the stream
//! started is sent as a last line `{"error": "..."}`.

use super::{AppState, TaskRuntime, blocking, query};
use crate::error::ApiError;
use admission::access::{self, Action, Identity};
use api::task::TaskStatus;
use api::wire;
use api::{Kind, Object, ObjectKey};
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, BoxStream, StreamExt};
use runtime::{ContainerId, LogLine, LogStream, RuntimeError, labels};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::convert::Infallible;
use store::{Store, StoreError};
use tokio::sync::watch::Receiver;

/// Response header naming the containers streamed, comma-separated.
pub(crate) use api::wire::CONTAINERS_HEADER;

#[derive(Debug, Deserialize)]
pub(crate) struct LogsQuery {
    cluster: Option<String>,
    container: Option<String>,
    #[serde(default)]
    follow: bool,
    tail: Option<usize>,
}

pub(crate) async fn logs(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<LogsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = super::path_param(path)?;
    let q = query(q)?;
    let key = ObjectKey::new(
        Kind::Task,
        q.cluster.as_deref().filter(|c| !c.is_empty()),
        &id,
    );
    // Decided from the request alone, before looking the task up.
    access::authorize(
        &who,
        &Action::Logs {
            cluster: key.cluster.clone().unwrap_or_default(),
        },
    )?;
    let task = blocking(&state.store, {
        let key = key.clone();
        move |s: &dyn Store| s.get(&key)
    })
    .await?
    .ok_or_else(|| ApiError::from(StoreError::NotFound(key)))?;
    let Some(rt) = state.runtime.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "logs need the container runtime: this server runs without controllers",
        ));
    };

    let mut containers = task_containers(&rt, &task).await?;
    if let Some(wanted) = q.container.as_deref() {
        if !containers.iter().any(|(name, _)| name == wanted) {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "task {id} has no container {wanted:?}: {}",
                    describe_containers(&containers, &task)
                ),
            ));
        }
        containers.retain(|(name, _)| name == wanted);
    }
    if containers.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("task {id}: {}", describe_containers(&containers, &task)),
        ));
    }

    let names: Vec<&str> = containers.iter().map(|(n, _)| n.as_str()).collect();
    let names = HeaderValue::from_str(&names.join(",")).ok();
    let per_container: Vec<BoxStream<'static, Item>> = containers
        .into_iter()
        .map(|(name, cid)| {
            rt.runtime
                .logs(&cid, q.follow, q.tail)
                .map(move |r| line_item(&name, r))
                .boxed()
        })
        .collect();
    // Without follow, one container after the other reads best; with it, as lines come.
    let merged: BoxStream<'static, Item> = if q.follow {
        stream::select_all(per_container).boxed()
    } else {
        stream::iter(per_container).flatten().boxed()
    };
    let lines = stream::unfold(Some((merged, state.shutdown.clone())), next_line);
    let mut response = (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response();
    if let Some(v) = names {
        response.headers_mut().insert(CONTAINERS_HEADER, v);
    }
    Ok(response)
}

/// One line to send; `Err` is the last one (an error line).
type Item = Result<Bytes, Bytes>;

type LineState = Option<(BoxStream<'static, Item>, Receiver<bool>)>;

async fn next_line(state: LineState) -> Option<(Result<Bytes, Infallible>, LineState)> {
    let (mut lines, mut shutdown) = state?;
    let item = tokio::select! {
        // Also fires if the sender is gone, which only happens at shutdown.
        _ = shutdown.wait_for(|stopping| *stopping) => return None,
        item = lines.next() => item?,
    };
    match item {
        Ok(line) => Some((Ok(line), Some((lines, shutdown)))),
        Err(line) => Some((Ok(line), None)),
    }
}

/// The JSON line for one log line of `container`, or the error line.
fn line_item(container: &str, r: runtime::Result<LogLine>) -> Item {
    match r {
        Ok(l) => Ok(to_line(&wire::LogLine {
            container: container.to_string(),
            stream: match l.stream {
                LogStream::Stdout => wire::LogStream::Stdout,
                LogStream::Stderr => wire::LogStream::Stderr,
            },
            text: l.text,
            timestamp: l.timestamp.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }),
        })),
        Err(e) => {
            tracing::warn!(container, error = %e, "log stream ended");
            Err(to_line(&wire::StreamError {
                error: format!("logs of container {container}: {e}"),
            }))
        }
    }
}

fn to_line(value: &impl serde::Serialize) -> Bytes {
    let mut line = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    line.push(b'\n');
    Bytes::from(line)
}

/// The task's containers on this server (name, id), in the order of its status (task
/// definition order), then by name.
pub(super) async fn task_containers(
    rt: &TaskRuntime,
    task: &Object,
) -> Result<Vec<(String, ContainerId)>, ApiError> {
    let filter = BTreeMap::from([
        (labels::MANAGED.to_string(), "true".to_string()),
        (labels::INSTANCE.to_string(), rt.instance.clone()),
        (labels::TASK.to_string(), task.metadata.name.clone()),
        (
            labels::CLUSTER.to_string(),
            task.metadata.cluster_or_default().to_string(),
        ),
    ]);
    let found = rt
        .runtime
        .list(&filter, true)
        .await
        .map_err(runtime_error)?;
    let order: Vec<String> = task
        .status_as::<TaskStatus>()
        .map(|s| s.containers.into_iter().map(|c| c.name).collect())
        .unwrap_or_default();
    let mut containers: Vec<(String, ContainerId)> = found
        .into_iter()
        .filter(|c| {
            c.labels
                .get(runtime::labels::NETNS)
                .is_none_or(|v| v != "true")
        })
        .filter_map(|c| Some((c.labels.get(labels::CONTAINER)?.clone(), c.id)))
        .collect();
    let rank = |name: &str| order.iter().position(|n| n == name).unwrap_or(usize::MAX);
    containers.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    Ok(containers)
}

/// `its containers are web, client`, or why it has none.
fn describe_containers(containers: &[(String, ContainerId)], task: &Object) -> String {
    if !containers.is_empty() {
        let names: Vec<&str> = containers.iter().map(|(n, _)| n.as_str()).collect();
        return format!("its containers are {}", names.join(", "));
    }
    let status: TaskStatus = task.status_as().unwrap_or_default();
    let mut why = format!(
        "it has no containers (last status {})",
        status.last_status.as_str()
    );
    if let Some(reason) = status.stopped_reason.filter(|r| !r.is_empty()) {
        why.push_str(&format!(": {reason}"));
    }
    why
}

pub(super) fn runtime_error(e: RuntimeError) -> ApiError {
    let status = if e.is_transient() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    ApiError::new(status, format!("container runtime: {e}"))
}

#[cfg(test)]
mod tests {
    use super::super::{AppState, TaskRuntime, router};
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use runtime::{ContainerRuntime, ContainerSpec, FakeRuntime, LogStream};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use store::{SledStore, Store};

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Arc<dyn Store>,
        fake: FakeRuntime,
        _stop: tokio::sync::watch::Sender<bool>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
            let (stop, shutdown) = tokio::sync::watch::channel(false);
            Fixture {
                _dir: dir,
                store,
                fake: FakeRuntime::with_images(["busybox"]),
                _stop: stop,
                shutdown,
            }
        }

        fn state(&self, with_runtime: bool) -> AppState {
            AppState {
                store: store::AsyncStore::new(self.store.clone()),
                shutdown: self.shutdown.clone(),
                identities: None,
                syncs: gitops::StatusBoard::default(),
                admission: Arc::default(),
                registered: Arc::default(),
                sync_roots: Arc::default(),
                secrets: controllers::task::secrets::SecretReader::by_server(),
                control: crate::leadership::ControlPlane::alone("test"),
                runtime: with_runtime.then(|| TaskRuntime {
                    balancer: lb::LbManager::new(),
                    runtime: Arc::new(self.fake.clone()),
                    instance: "i1".to_string(),
                    metrics: controllers::metrics::Metrics::new(
                        std::time::Duration::from_secs(10),
                        std::time::Duration::from_secs(3600),
                    ),
                }),
            }
        }

        fn task(&self, id: &str, containers: &[&str]) {
            let mut o = api::Object::new(api::Kind::Task, id, json!({"taskDefinition": "web:1"}));
            o.metadata.cluster = Some("default".into());
            let key = o.key();
            self.store.apply(o).unwrap();
            let status = json!({
                "lastStatus": "RUNNING", "desiredStatus": "RUNNING", "healthStatus": "UNKNOWN",
                "containers": containers.iter().map(|c| json!({
                    "name": c, "image": "busybox", "lastStatus": "RUNNING",
                    "healthStatus": "UNKNOWN", "essential": true})).collect::<Vec<_>>(),
            });
            self.store.update_status(&key, status, None).unwrap();
        }

        async fn container(
            &self,
            task: &str,
            name: &str,
            instance: &str,
            extra: &[(&str, &str)],
        ) -> runtime::ContainerId {
            let mut labels = BTreeMap::from([
                ("ecsctl.managed".to_string(), "true".to_string()),
                ("ecsctl.instance".to_string(), instance.to_string()),
                ("ecsctl.task".to_string(), task.to_string()),
                ("ecsctl.cluster".to_string(), "default".to_string()),
                ("ecsctl.container".to_string(), name.to_string()),
            ]);
            labels.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let spec = ContainerSpec {
                labels,
                ..ContainerSpec::new(format!("c-{task}-{name}-{instance}"), "busybox")
            };
            let id = self.fake.create(&spec).await.unwrap();
            self.fake.start(&id).await.unwrap();
            id
        }
    }

    /// Serves `state` on a unix socket in a temp dir for one request.
    async fn get(state: AppState, uri: &str) -> (StatusCode, Option<String>, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router(state)).await;
        });
        let stream = tokio::net::UnixStream::connect(&path).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = Request::builder()
            .uri(uri)
            .header("host", "localhost")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status();
        let header = resp
            .headers()
            .get(super::CONTAINERS_HEADER)
            .map(|v| v.to_str().unwrap().to_string());
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        server.abort();
        (status, header, String::from_utf8_lossy(&body).into_owned())
    }

    fn lines(body: &str) -> Vec<Value> {
        body.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn streams_the_task_containers_in_order() {
        let f = Fixture::new();
        f.task("t1", &["web", "client"]);
        let client = f.container("t1", "client", "i1", &[]).await;
        let web = f.container("t1", "web", "i1", &[]).await;
        // Not part of the answer: the namespace holder, another server's, another task's.
        let ns = f
            .container("t1", "", "i1", &[("ecsctl.netns", "true")])
            .await;
        let other_server = f.container("t1", "web", "i2", &[]).await;
        let other_task = f.container("t2", "web", "i1", &[]).await;
        for id in [&ns, &other_server, &other_task] {
            f.fake.push_log(id, LogStream::Stdout, "not me").unwrap();
        }
        f.fake
            .push_log(&web, LogStream::Stdout, "listening")
            .unwrap();
        f.fake
            .push_log(&client, LogStream::Stdout, "got page")
            .unwrap();
        f.fake.push_log(&client, LogStream::Stderr, "oops").unwrap();

        let (status, header, body) = get(f.state(true), "/v1/tasks/t1/logs?cluster=default").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(header.as_deref(), Some("web,client"));
        let l = lines(&body);
        assert_eq!(l.len(), 3, "{body}");
        assert_eq!(l[0]["container"], "web");
        assert_eq!(l[0]["text"], "listening");
        assert_eq!(l[0]["stream"], "stdout");
        assert!(l[0]["timestamp"].as_str().unwrap().contains('T'), "{body}");
        assert_eq!(l[1]["container"], "client");
        assert_eq!(l[2]["stream"], "stderr");
        assert_eq!(l[2]["text"], "oops");

        let (status, header, body) =
            get(f.state(true), "/v1/tasks/t1/logs?container=client&tail=1").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(header.as_deref(), Some("client"));
        let l = lines(&body);
        assert_eq!(l.len(), 1, "{body}");
        assert_eq!(l[0]["text"], "oops");
    }

    #[tokio::test]
    async fn follow_ends_when_the_containers_stop() {
        let f = Fixture::new();
        f.task("t1", &["web"]);
        let web = f.container("t1", "web", "i1", &[]).await;
        f.fake.push_log(&web, LogStream::Stdout, "one").unwrap();
        let fake = f.fake.clone();
        let id = web.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            fake.push_log(&id, LogStream::Stdout, "two").unwrap();
            fake.crash(&id, 0).unwrap();
        });
        let (status, _, body) = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            get(f.state(true), "/v1/tasks/t1/logs?follow=true"),
        )
        .await
        .expect("follow ends when the container stops");
        assert_eq!(status, StatusCode::OK, "{body}");
        let texts: Vec<Value> = lines(&body)
            .into_iter()
            .map(|l| l["text"].clone())
            .collect();
        assert_eq!(texts, vec![json!("one"), json!("two")]);
    }

    #[tokio::test]
    async fn clear_errors() {
        let f = Fixture::new();
        let (status, _, body) = get(f.state(true), "/v1/tasks/nope/logs").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body.contains(r#"task \"nope\" not found in cluster default"#),
            "{body}"
        );

        f.task("t1", &["web", "client"]);
        let (status, _, body) = get(f.state(true), "/v1/tasks/t1/logs").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body.contains("task t1: it has no containers (last status RUNNING)"),
            "{body}"
        );

        f.container("t1", "web", "i1", &[]).await;
        f.container("t1", "client", "i1", &[]).await;
        let (status, _, body) = get(f.state(true), "/v1/tasks/t1/logs?container=db").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body.contains(r#"task t1 has no container \"db\": its containers are web, client"#),
            "{body}"
        );

        let (status, _, body) = get(f.state(false), "/v1/tasks/t1/logs").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("logs need the container runtime"), "{body}");

        let (status, _, body) = get(f.state(true), "/v1/tasks/t1/logs?tail=x").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
}
