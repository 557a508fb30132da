//! Test helpers: in-process backends on loopback, a keep-alive client and spec builders.
#![allow(dead_code, clippy::unwrap_used)]

pub mod cert;

use bytes::Bytes;
use ecsctl_lb::{LbConfig, LbManager, Target, TargetHealth};
use http_body_util::{BodyExt, Empty, Full};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// An HTTP backend: answers its name, echoes what the proxy added, serves `/health` with a
/// settable status, `/slow?ms=N` after N ms, drops the connection on `/drop`, and on
/// `/upgrade` switches to the `echo` protocol when asked (`Upgrade: echo`): from then on it
/// sends back every chunk it reads, prefixed with its name and a colon.
pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    pub hits: Arc<AtomicU64>,
    pub health: Arc<AtomicU16>,
    stop: watch::Sender<bool>,
}

impl Backend {
    pub async fn start(name: &str) -> Backend {
        Self::start_on(name, "127.0.0.1:0".parse().unwrap()).await
    }

    pub async fn start_on(name: &str, addr: SocketAddr) -> Backend {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicU64::new(0));
        let health = Arc::new(AtomicU16::new(200));
        let (stop, stopped) = watch::channel(false);
        let (n, h, s) = (name.to_string(), hits.clone(), health.clone());
        tokio::spawn(async move {
            let mut stopped_accept = stopped.clone();
            loop {
                let (stream, _) = tokio::select! {
                    _ = stopped_accept.changed() => return,
                    a = listener.accept() => a.unwrap(),
                };
                let (n, h, s) = (n.clone(), h.clone(), s.clone());
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| respond(req, n.clone(), h.clone(), s.clone()));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades();
                    tokio::select! {
                        _ = conn => {}
                        _ = stopped.changed() => {} // killed: the connection just drops
                    }
                });
            }
        });
        Backend {
            name: name.to_string(),
            addr,
            hits,
            health,
            stop,
        }
    }

    /// As a killed task: the port refuses, open connections are dropped.
    pub fn kill(&self) {
        let _ = self.stop.send(true);
    }

    pub fn target(&self) -> Target {
        Target {
            task_id: self.name.clone(),
            addr: self.addr,
        }
    }
}

async fn respond(
    req: Request<hyper::body::Incoming>,
    name: String,
    hits: Arc<AtomicU64>,
    health: Arc<AtomicU16>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = req.uri().path().to_string();
    if path == "/health" {
        let status = StatusCode::from_u16(health.load(Ordering::Relaxed)).unwrap();
        return Ok(Response::builder()
            .status(status)
            .body(Full::new(Bytes::from("health")))
            .unwrap());
    }
    hits.fetch_add(1, Ordering::Relaxed);
    if path == "/upgrade" && req.headers().get("upgrade").is_some_and(|v| v == "echo") {
        return Ok(switch_to_echo(req, name));
    }
    if path == "/drop" {
        return Err(std::io::Error::other("dropping the connection on purpose"));
    }
    if path == "/slow" {
        let ms: u64 = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("ms="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let header = |n: &str| {
        req.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let echoed = format!(
        "xff={};proto={};port={};host={}",
        header("x-forwarded-for"),
        header("x-forwarded-proto"),
        header("x-forwarded-port"),
        header("host")
    );
    Ok(Response::builder()
        .header("x-backend", name.as_str())
        .header("x-echo", echoed)
        .body(Full::new(Bytes::from(name)))
        .unwrap())
}

fn switch_to_echo(mut req: Request<hyper::body::Incoming>, name: String) -> Response<Full<Bytes>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let on = hyper::upgrade::on(&mut req);
    let prefix = format!("{name}:");
    tokio::spawn(async move {
        let Ok(upgraded) = on.await else { return };
        let mut io = TokioIo::new(upgraded);
        let mut buf = [0u8; 4096];
        while let Ok(n) = io.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let mut out = prefix.clone().into_bytes();
            out.extend_from_slice(&buf[..n]);
            if io.write_all(&out).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("upgrade", "echo")
        .header("connection", "upgrade")
        .header("x-backend", name.as_str())
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// A keep-alive client, as a browser or a load generator would be.
#[derive(Clone)]
pub struct Client(LegacyClient<HttpConnector, Full<Bytes>>);

pub struct Reply {
    pub status: u16,
    pub backend: String,
    pub echo: String,
    pub body: String,
}

impl Client {
    pub fn new() -> Client {
        Client(LegacyClient::builder(TokioExecutor::new()).build(HttpConnector::new()))
    }

    pub async fn get(&self, url: &str) -> Result<Reply, String> {
        self.send("GET", url, None, "").await
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        host: Option<&str>,
        body: &str,
    ) -> Result<Reply, String> {
        let mut req = Request::builder().method(method).uri(url);
        if let Some(host) = host {
            req = req.header("host", host);
        }
        let req = req.body(Full::new(Bytes::from(body.to_string()))).unwrap();
        let res = self.0.request(req).await.map_err(|e| format!("{e:?}"))?;
        let status = res.status().as_u16();
        let get = |n: &str| {
            res.headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let (backend, echo) = (get("x-backend"), get("x-echo"));
        let body = res.into_body().collect().await.map_err(|e| e.to_string())?;
        Ok(Reply {
            status,
            backend,
            echo,
            body: String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        })
    }
}

pub fn empty_client() -> LegacyClient<HttpConnector, Empty<Bytes>> {
    LegacyClient::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn spec(v: serde_json::Value) -> api::kinds::LoadBalancerSpec {
    serde_json::from_value(v).unwrap()
}

/// Fast health checks for tests: every second, 1 s timeout, 2 to flip either way.
pub fn fast_checks() -> serde_json::Value {
    serde_json::json!({"path": "/health", "intervalSeconds": 1, "timeoutSeconds": 1,
        "healthyThresholdCount": 2, "unhealthyThresholdCount": 2})
}

pub fn config(
    name: &str,
    spec: api::kinds::LoadBalancerSpec,
    targets: &[(&str, &[&Backend])],
) -> LbConfig {
    let targets: BTreeMap<String, Vec<Target>> = targets
        .iter()
        .map(|(svc, bs)| (svc.to_string(), bs.iter().map(|b| b.target()).collect()))
        .collect();
    LbConfig {
        name: name.to_string(),
        cluster: "default".to_string(),
        spec,
        targets,
        draining: Vec::new(),
        certificates: BTreeMap::new(),
    }
}

/// Waits (bounded) until `task`'s health satisfies `want`; returns how long it took.
pub async fn wait_health(
    lbs: &LbManager,
    task: &str,
    within: Duration,
    want: impl Fn(&TargetHealth) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let h = lbs.target_health(task);
        if h.as_ref().is_some_and(&want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{task}: health {h:?} after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn wait_until(within: Duration, what: &str, cond: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < within, "{what}: not after {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

pub fn is_healthy(h: &TargetHealth) -> bool {
    *h == TargetHealth::Healthy
}

pub fn is_unhealthy(h: &TargetHealth) -> bool {
    matches!(h, TargetHealth::Unhealthy(_))
}
