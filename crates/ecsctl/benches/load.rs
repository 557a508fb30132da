//! Load test (issue 8): 50 concurrent clients applying and reading for 30 s against a real
//! server that runs 50 real tasks (one service of 50 busybox `sleep` containers). Each client
//! is a closed loop (next request as soon as the answer is in, no think time) over the HTTP API
//! on the unix socket, one connection per request as the CLI does, cycling through:
//!
//! - `list tasks`: GET /v1/objects/tasks (the 50+ tasks)
//! - `list services`: GET /v1/objects/services
//! - `get service`: GET /v1/objects/services/load (also the read of the CAS update below)
//! - `get task`: GET /v1/objects/tasks/ID of one of the running tasks
//! - `watch start`: GET /v1/watch until the stream's headers are in
//! - `apply taskdefinition`: POST /v1/apply of the client's own family (a new revision each time)
//! - `apply service (CAS)`: POST /v1/apply of the shared service with the client's label changed
//!   and the resourceVersion just read: 50 clients and the service controller race for one
//!   object, so 409 Conflict is an expected outcome (counted, not an error)
//!
//! Prints requests served, errors, conflicts, and p50/p95/p99/max latency per operation kind;
//! exits non-zero on any error (any other status, a transport failure, or no answer within
//! 10 s) or if the service lost tasks. The server's containers are removed by its
//! `ecsctl.instance` label at the end, also when the run fails.
//!
//! `cargo bench -p ecsctl --bench load` (needs ecsctl/busybox:local: scripts/build-images.sh).
//! Duration: `LOAD_SECS=10` or `cargo bench -p ecsctl --bench load -- 10`; `LOAD_CLIENTS` and
//! `LOAD_TASKS` change the 50s.

mod common;

use bytes::Bytes;
use common::{Server, cpu_ticks, get_json, rss_mib, running_tasks};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A request without an answer within this long counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const TD: &str = r#"{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{"name":"sleeper"},"spec":{"containerDefinitions":[{"name":"main","image":"ecsctl/busybox:local","memory":16,"stopTimeout":1,"command":["sleep","3600"]}]}}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    ListTasks,
    ListServices,
    GetService,
    GetTask,
    WatchStart,
    ApplyTaskDefinition,
    ApplyServiceCas,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::ListTasks => "list tasks",
            Op::ListServices => "list services",
            Op::GetService => "get service",
            Op::GetTask => "get task",
            Op::WatchStart => "watch start",
            Op::ApplyTaskDefinition => "apply taskdefinition",
            Op::ApplyServiceCas => "apply service (CAS)",
        }
    }
}

/// What one client does, in a cycle (the CAS update reads the service first, so it is a
/// read and a write).
const CYCLE: [Op; 7] = [
    Op::ListTasks,
    Op::GetService,
    Op::ApplyTaskDefinition,
    Op::GetTask,
    Op::ApplyServiceCas,
    Op::ListServices,
    Op::WatchStart,
];

#[derive(Debug, Default)]
struct Record {
    latencies: BTreeMap<Op, Vec<Duration>>,
    conflicts: usize,
    cas_written: usize,
    errors: Vec<String>,
}

impl Record {
    fn add(&mut self, op: Op, d: Duration) {
        self.latencies.entry(op).or_default().push(d);
    }

    fn merge(&mut self, other: Record) {
        for (op, mut v) in other.latencies {
            self.latencies.entry(op).or_default().append(&mut v);
        }
        self.conflicts += other.conflicts;
        self.cas_written += other.cas_written;
        self.errors.extend(other.errors);
    }
}

/// One request on a fresh connection. `stream` = only wait for the answer's headers (a
/// watch), then hang up. Returns the status and the body (empty for a stream).
async fn call(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<String>,
    stream: bool,
) -> Result<(u16, Bytes), String> {
    let s = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("accept", "application/json");
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| format!("request: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = resp.status().as_u16();
    if stream {
        return Ok((status, Bytes::new()));
    }
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("read body: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// `call` bounded by [`REQUEST_TIMEOUT`], timed.
async fn timed(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<String>,
    stream: bool,
) -> (Duration, Result<(u16, Bytes), String>) {
    let t = Instant::now();
    let r = match tokio::time::timeout(REQUEST_TIMEOUT, call(socket, method, path, body, stream))
        .await
    {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {REQUEST_TIMEOUT:?}")),
    };
    (t.elapsed(), r)
}

/// The apply request that writes `svc` (as read, with `label` set to `value`) back with the
/// resourceVersion read: it fails with 409 if anyone wrote the service since.
fn cas_apply(svc: &Value, label: &str, value: &str) -> String {
    let meta = &svc["metadata"];
    let mut labels = meta["labels"].as_object().cloned().unwrap_or_default();
    labels.insert(label.to_string(), json!(value));
    let mut metadata = json!({
        "name": meta["name"],
        "labels": labels,
        "resourceVersion": meta["resourceVersion"],
    });
    if let Some(c) = meta.get("cluster") {
        metadata["cluster"] = c.clone();
    }
    if let Some(a) = meta.get("annotations") {
        metadata["annotations"] = a.clone();
    }
    json!({"objects": [{
        "apiVersion": svc["apiVersion"],
        "kind": "Service",
        "metadata": metadata,
        "spec": svc["spec"],
    }]})
    .to_string()
}

async fn client(
    id: usize,
    socket: Arc<PathBuf>,
    task_ids: Arc<Vec<String>>,
    until: Instant,
) -> Record {
    let mut rec = Record::default();
    let mut n = 0usize;
    while Instant::now() < until {
        let op = CYCLE[(id + n) % CYCLE.len()];
        n += 1;
        let fail = |rec: &mut Record, what: String| {
            rec.errors
                .push(format!("client {id}: {}: {what}", op.name()));
        };
        let check =
            |rec: &mut Record, d: Duration, r: Result<(u16, Bytes), String>| -> Option<Bytes> {
                rec.add(op, d);
                match r {
                    Ok((200, body)) => Some(body),
                    Ok((status, body)) => {
                        fail(
                            rec,
                            format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
                        );
                        None
                    }
                    Err(e) => {
                        fail(rec, e);
                        None
                    }
                }
            };
        match op {
            Op::ListTasks => {
                let (d, r) = timed(&socket, "GET", "/v1/objects/tasks", None, false).await;
                check(&mut rec, d, r);
            }
            Op::ListServices => {
                let (d, r) = timed(&socket, "GET", "/v1/objects/services", None, false).await;
                check(&mut rec, d, r);
            }
            Op::GetService => {
                let (d, r) = timed(&socket, "GET", "/v1/objects/services/load", None, false).await;
                check(&mut rec, d, r);
            }
            Op::GetTask => {
                let task = &task_ids[(id + n) % task_ids.len()];
                let path = format!("/v1/objects/tasks/{task}");
                let (d, r) = timed(&socket, "GET", &path, None, false).await;
                check(&mut rec, d, r);
            }
            Op::WatchStart => {
                let (d, r) = timed(&socket, "GET", "/v1/watch", None, true).await;
                check(&mut rec, d, r);
            }
            Op::ApplyTaskDefinition => {
                let body = format!(
                    r#"{{"objects":[{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"lc-{id}"}},"spec":{{"containerDefinitions":[{{"name":"app","image":"ecsctl/busybox:local","memory":16,"command":["sleep","60"],"environment":[{{"name":"N","value":"{n}"}}]}}]}}}}]}}"#
                );
                let (d, r) = timed(&socket, "POST", "/v1/apply", Some(body), false).await;
                check(&mut rec, d, r);
            }
            Op::ApplyServiceCas => {
                // The read is a `get service` like any other.
                let (d, r) = timed(&socket, "GET", "/v1/objects/services/load", None, false).await;
                rec.add(Op::GetService, d);
                let svc: Value = match r {
                    Ok((200, body)) => match serde_json::from_slice(&body) {
                        Ok(v) => v,
                        Err(e) => {
                            fail(&mut rec, format!("service is not JSON: {e}"));
                            continue;
                        }
                    },
                    Ok((status, body)) => {
                        fail(
                            &mut rec,
                            format!("read: HTTP {status}: {}", String::from_utf8_lossy(&body)),
                        );
                        continue;
                    }
                    Err(e) => {
                        fail(&mut rec, format!("read: {e}"));
                        continue;
                    }
                };
                let body = cas_apply(&svc, &format!("client-{id}"), &n.to_string());
                let (d, r) = timed(&socket, "POST", "/v1/apply", Some(body), false).await;
                rec.add(op, d);
                match r {
                    Ok((200, _)) => rec.cas_written += 1,
                    Ok((409, _)) => rec.conflicts += 1,
                    Ok((status, body)) => fail(
                        &mut rec,
                        format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
                    ),
                    Err(e) => fail(&mut rec, e),
                }
            }
        }
    }
    rec
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Ids of the RUNNING tasks.
fn running(server: &Server) -> Vec<String> {
    running_tasks(server)
        .iter()
        .filter_map(|t| t["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

fn pct(sorted: &[Duration], p: usize) -> f64 {
    let i = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs the test; `Err` is a failed run (the server is dropped, and its containers removed,
/// by the caller either way).
fn run(server: &Server, secs: u64, clients: usize, tasks: usize) -> Result<(), String> {
    let service = format!(
        r#"{{"apiVersion":"ecs/v1","kind":"Service","metadata":{{"name":"load"}},"spec":{{"taskDefinition":"sleeper","desiredCount":{tasks}}}}}"#
    );
    server.apply(&format!("[{TD},{service}]"));
    let t0 = Instant::now();
    loop {
        let n = running(server).len();
        if n >= tasks {
            break;
        }
        if t0.elapsed() > Duration::from_secs(300) {
            return Err(format!("only {n} of {tasks} tasks RUNNING after 300 s"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "{tasks} tasks RUNNING after {:.1} s; {clients} clients for {secs} s...",
        t0.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(2)); // let the start-up work settle
    let task_ids = Arc::new(running(server));
    let socket = Arc::new(server.socket());
    let pid = server.child.id();

    // The clients share one thread, so that they take at most one of the machine's cores
    // from the server.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let cpu_before = cpu_ticks(pid);
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let record = rt.block_on(async {
        let handles: Vec<_> = (0..clients)
            .map(|i| tokio::spawn(client(i, socket.clone(), task_ids.clone(), until)))
            .collect();
        let mut all = Record::default();
        for h in handles {
            match h.await {
                Ok(r) => all.merge(r),
                Err(e) => all.errors.push(format!("client panicked: {e}")),
            }
        }
        all
    });
    let wall = start.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(pid) - cpu_before) as f64 / 100.0 / wall * 100.0; // USER_HZ 100
    let rss = rss_mib(pid);

    let total: usize = record.latencies.values().map(Vec::len).sum();
    println!();
    println!(
        "{total} requests in {wall:.1} s ({:.0} req/s) from {clients} clients against {tasks} running tasks; errors: {}; CAS applies: {} written, {} conflicts (409, expected)",
        total as f64 / wall,
        record.errors.len(),
        record.cas_written,
        record.conflicts
    );
    println!("server: {cpu:.0}% of one core during the run, VmRSS {rss:.0} MiB at the end");
    println!();
    println!("| operation | requests | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut every = Vec::with_capacity(total);
    for (op, v) in &record.latencies {
        let mut v = v.clone();
        v.sort();
        every.extend_from_slice(&v);
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            op.name(),
            v.len(),
            pct(&v, 50),
            pct(&v, 95),
            pct(&v, 99),
            pct(&v, 100)
        );
    }
    every.sort();
    if !every.is_empty() {
        println!(
            "| all | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            every.len(),
            pct(&every, 50),
            pct(&every, 95),
            pct(&every, 99),
            pct(&every, 100)
        );
    }

    // The service was only relabelled: no new deployment, still all tasks RUNNING.
    let svc = get_json(server, "/v1/objects/services/load");
    let generation = svc["metadata"]["generation"].as_u64().unwrap_or(0);
    let deployments = svc["status"]["deployments"].as_array().map_or(0, Vec::len);
    let still = running(server).len();
    println!();
    println!(
        "after the run: {still} of {tasks} tasks RUNNING, service generation {generation}, {deployments} deployment(s)"
    );

    if !record.errors.is_empty() {
        for e in record.errors.iter().take(20) {
            eprintln!("error: {e}");
        }
        return Err(format!("{} request(s) failed", record.errors.len()));
    }
    if still < tasks {
        return Err(format!(
            "only {still} of {tasks} tasks RUNNING after the run"
        ));
    }
    if total == 0 {
        return Err("no request was made".to_string());
    }
    Ok(())
}

fn main() {
    // `cargo bench` adds `--bench`; a number among the arguments is the duration.
    let secs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or_else(|| env_or("LOAD_SECS", 30));
    let clients = env_or("LOAD_CLIENTS", 50).max(1) as usize;
    let tasks = env_or("LOAD_TASKS", 50).max(1) as usize;
    let server = Server::start();
    // A panic unwinds through here: `server` is dropped, which kills it and removes its
    // containers.
    let result = run(&server, secs, clients, tasks);
    drop(server);
    if let Err(e) = result {
        eprintln!("load test FAILED: {e}");
        std::process::exit(1);
    }
    println!("load test passed: zero errors");
}
