//! The web console's pages with 1,000 running tasks (issue 19: "no page over 200 ms to
//! render with 1,000 tasks"). `cargo bench -p ecsctl --bench console`.
//!
//! Set-up: a real `ecsctl server --no-local-agent` with identities from a `--tokens` file,
//! and this process as the agent of [`HOSTS`] container instances. It registers them
//! (`POST /v1/instances`), heartbeats their status as `ecsctl agent` computes it
//! ([`controllers::instance::plan_status`]), and reports each task the service places on
//! them RUNNING (`PUT /v1/objects/tasks/{id}/status`) with what a real agent's report holds:
//! two containers with runtime ids, health and a published port, and a few exec events. Then
//! [`STOPPED`] tasks are stopped with `ecsctl stop-task` and reported STOPPED with exit codes,
//! and the service replaces them, so the cluster also holds stopped tasks with their reasons.
//!
//! Why that is representative: the console reads only the server's API, never Docker (the
//! task page's logs are a stream of their own, not timed here). The objects it reads are
//! written through the same endpoints, in the same types, by the same status code a real
//! agent runs; only the containers behind them are missing. So the server answers the same
//! lists, of the same sizes, and the console parses and renders the same pages as it would
//! for a real cluster of 1,000 tasks, without starting 1,000 containers on a 2-core machine.
//!
//! Measured: [`SAMPLES`] GETs of each page after [`WARM_UP`], each one beside the server API
//! call(s) that page makes, timed in the same loop with the same plain HTTP/1.1 client and the
//! console's own token, so the console's own cost (parse, view, template) is the difference.
//! The console makes a page's calls at once; here they are made one after another, so their
//! sum is an upper bound of the time the console waits for them.

mod common;

use api::Object;
use api::instance::ContainerInstanceSpec;
use api::service::Event;
use api::task::{
    ContainerPhase, ContainerStatus, DesiredStatus, HealthState, NetworkBinding, StopCode,
    TaskPhase, TaskSpec, TaskStatus,
};
use api::taskdef::{Protocol, TaskDefinitionSpec};
use api::wire::{ObjectList, StatusUpdate};
use common::percentiles;
use controllers::instance::{InstanceIdentity, TaskUse, plan_status};
use controllers::placement::{Capacity, need};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Running tasks of the one service.
const TASKS: u32 = 1_000;
/// Container instances they are spread over (each with room for 128 of them).
const HOSTS: usize = 10;
/// Tasks stopped (and replaced) before measuring: stopped rows with exit codes and reasons.
const STOPPED: usize = 20;
/// Task definition revisions registered (the task definition page lists and diffs them).
const REVISIONS: u32 = 5;
/// Timed requests per page, after the warm-up ones.
const SAMPLES: usize = 50;
const WARM_UP: usize = 5;
/// The target for a page, at p99.
const TARGET_MS: f64 = 200.0;
/// How often the fake agent heartbeats (`ecsctl agent`'s default is 10 s).
const HEARTBEAT: Duration = Duration::from_secs(5);
const CLUSTER: &str = "default";
const SERVICE: &str = "web";

fn main() {
    let server = ApiServer::start();
    let admin = server.client(&server.admin);
    let agent = server.client(&server.agent);
    println!(
        "console bench: {TASKS} tasks on {HOSTS} instances; load average before set-up: {}",
        load_average()
    );
    let setup = Instant::now();
    let hosts = register_hosts(&agent);
    apply_workload(&admin);
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeats = {
        let (agent, hosts, stop) = (agent.clone(), hosts.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                heartbeat(&agent, &hosts);
                let next = Instant::now() + HEARTBEAT;
                while Instant::now() < next && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        })
    };
    let mut reporter = Reporter::new(&hosts);
    reporter.until_running(&agent, &admin, 0);
    let victims: Vec<String> = reporter
        .running_ids(&agent)
        .into_iter()
        .take(STOPPED)
        .collect();
    for id in &victims {
        server.cli(&[
            "stop-task",
            id,
            "--reason",
            "Stopped by the bench (a user's stop)",
        ]);
    }
    reporter.until_running(&agent, &admin, STOPPED);
    println!(
        "set-up: {TASKS} RUNNING and {STOPPED} STOPPED tasks in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let console = ConsoleProcess::start(&server);
    let cookie = console.login();
    let task_id = reporter
        .running_ids(&agent)
        .into_iter()
        .next()
        .expect("a running task");
    let pages = pages(&task_id);
    println!("load average before measuring: {}", load_average());
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>8} | {:<56} {:>8} {:>8} {:>8} | {:>8} | p99 < {TARGET_MS} ms",
        "console page",
        "p50 ms",
        "p99 ms",
        "max ms",
        "KB",
        "server API call(s) it needs, one after another",
        "p50 ms",
        "p99 ms",
        "KB",
        "own p50"
    );
    let mut failed = Vec::new();
    for page in &pages {
        let m = measure(page, &console.addr, &cookie, &admin);
        let verdict = if m.page.1 < TARGET_MS {
            "PASS"
        } else {
            failed.push(page.name);
            "FAIL"
        };
        println!(
            "{:<44} {:>8.2} {:>8.2} {:>8.2} {:>8.1} | {:<56} {:>8.2} {:>8.2} {:>8.1} | {:>8.2} | {verdict}",
            format!("{} {}", page.name, shorten(&page.path)),
            m.page.0,
            m.page.1,
            m.page.2,
            m.page_kb,
            page.api_label,
            m.api.0,
            m.api.1,
            m.api_kb,
            m.page.0 - m.api.0,
        );
    }
    println!("load average after measuring: {}", load_average());
    if failed.is_empty() {
        println!("PASS: every page's p99 is under {TARGET_MS} ms with {TASKS} tasks");
    } else {
        println!(
            "FAIL: {} over {TARGET_MS} ms at p99 with {TASKS} tasks",
            failed.join(", ")
        );
    }
    stop.store(true, Ordering::Relaxed);
    let _ = heartbeats.join();
}

// ---------------------------------------------------------------------------------------
// HTTP/1.1 over TCP, one request per connection (`Connection: close`), as common::request
// does over the unix socket: the latency is the server's, not a client library's.

struct Answer {
    status: u16,
    body: String,
}

fn send(addr: &str, method: &str, path: &str, headers: &[String], body: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    write!(tcp, "{head}\r\n{body}").expect("send the request");
    tcp
}

fn http(addr: &str, method: &str, path: &str, headers: &[String], body: &str) -> Answer {
    let mut tcp = send(addr, method, path, headers, body);
    let mut text = String::new();
    tcp.read_to_string(&mut text).expect("read the answer");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Answer {
        status: head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        body: body.to_string(),
    }
}

/// Time to the first byte of the answer (for streams that do not end), and its status.
fn first_byte(addr: &str, path: &str, headers: &[String]) -> (Duration, u16) {
    let t = Instant::now();
    let mut tcp = send(addr, "GET", path, headers, "");
    let mut first = [0u8; 1];
    tcp.read_exact(&mut first).expect("a first byte");
    let elapsed = t.elapsed();
    let mut head = vec![first[0]];
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") && tcp.read_exact(&mut byte).is_ok() {
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&head)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (elapsed, status)
}

/// The server's API as one identity (its bearer token).
#[derive(Clone)]
struct ApiClient {
    addr: String,
    auth: String,
}

impl ApiClient {
    fn call(&self, method: &str, path: &str, body: &str) -> Answer {
        let headers = [
            self.auth.clone(),
            "Content-Type: application/json".to_string(),
        ];
        http(&self.addr, method, path, &headers, body)
    }

    /// A call that must succeed; its answer as JSON.
    fn ok(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let a = self.call(method, path, &body);
        assert!(
            (200..300).contains(&a.status),
            "{method} {path}: {} {}",
            a.status,
            a.body
        );
        serde_json::from_str(&a.body).unwrap_or(Value::Null)
    }

    fn tasks(&self) -> Vec<Object> {
        let a = self.call("GET", &format!("/v1/objects/tasks?cluster={CLUSTER}"), "");
        assert_eq!(a.status, 200, "{}", a.body);
        serde_json::from_str::<ObjectList<Object>>(&a.body)
            .expect("a task list")
            .items
    }
}

// ---------------------------------------------------------------------------------------
// The server, the console, and the CLI.

/// `ecsctl server --no-local-agent --listen tcp://127.0.0.1:PORT --tokens FILE` on a temp
/// data dir (an admin token and an agent token of `default`); killed on drop. No task of
/// it runs a container, so there is nothing else to clean up.
struct ApiServer {
    dir: tempfile::TempDir,
    child: Child,
    addr: String,
    admin: String,
    agent: String,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn secret(role: &str) -> String {
    format!("{role}-{}", uuid::Uuid::new_v4().simple())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl ApiServer {
    fn start() -> ApiServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let (admin, agent) = (secret("admin"), secret("agent"));
        let tokens = dir.path().join("tokens");
        std::fs::write(&tokens, format!("{admin} admin\n{agent} agent {CLUSTER}\n"))
            .expect("write tokens");
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(dir.path().join("admin.token"), format!("{admin}\n")).expect("token");
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_ecsctl"))
            .args(["server", "--no-local-agent", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--listen", &format!("tcp://{addr}"), "--tokens"])
            .arg(&tokens)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ecsctl server");
        let server = ApiServer {
            dir,
            child,
            addr,
            admin,
            agent,
        };
        let admin = server.client(&server.admin);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::net::TcpStream::connect(&server.addr)
            .is_ok_and(|_| admin.call("GET", "/v1/health", "").status == 200)
        {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn client(&self, token: &str) -> ApiClient {
        ApiClient {
            addr: self.addr.clone(),
            auth: format!("Authorization: Bearer {token}"),
        }
    }

    /// The CLI's global arguments as the admin.
    fn global(&self) -> Vec<String> {
        vec![
            "--server".to_string(),
            format!("tcp://{}", self.addr),
            "--token-file".to_string(),
            self.dir.path().join("admin.token").display().to_string(),
        ]
    }

    /// `ecsctl ARGS...` as the admin; panics unless it succeeds.
    fn cli(&self, args: &[&str]) {
        let out = Command::new(env!("CARGO_BIN_EXE_ecsctl"))
            .args(self.global())
            .args(args)
            .output()
            .expect("run ecsctl");
        assert!(
            out.status.success(),
            "ecsctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `ecsctl console` as the admin, on a free port; killed on drop.
struct ConsoleProcess {
    child: Child,
    addr: String,
    token_path: String,
}

impl Drop for ConsoleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ConsoleProcess {
    fn start(server: &ApiServer) -> ConsoleProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ecsctl"))
            .args(server.global())
            .args(["console", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ecsctl console");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the console's first line");
        let url = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        let (addr, path) = url.split_at(url.find('/').expect("a path"));
        ConsoleProcess {
            addr: addr.to_string(),
            token_path: path.to_string(),
            child,
        }
    }

    /// Trades the one-time token for the session cookie.
    fn login(&self) -> String {
        let mut tcp = send(&self.addr, "GET", &self.token_path, &[], "");
        let mut text = String::new();
        tcp.read_to_string(&mut text).expect("read the answer");
        assert!(text.starts_with("HTTP/1.1 303"), "{text}");
        text.lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("set-cookie")
                    .then(|| value.trim().split(';').next().unwrap_or("").to_string())
            })
            .expect("a session cookie")
    }
}

// ---------------------------------------------------------------------------------------
// The workload, and the agent's side.

/// Registers the instances and sends their first heartbeat (placement needs their
/// resources before it places anything).
fn register_hosts(agent: &ApiClient) -> Vec<InstanceIdentity> {
    let hosts: Vec<InstanceIdentity> = (0..HOSTS)
        .map(|h| InstanceIdentity {
            cluster: CLUSTER.to_string(),
            address: format!("10.0.1.{}", 10 + h),
            // 32 vCPU, 64 GiB: room for 128 tasks of 256 units and 512 MiB.
            capacity: Some(Capacity {
                cpu: 32 * 1024,
                memory: 64 * 1024,
            }),
            any_cluster: false,
            ..InstanceIdentity::this_machine(format!("i-bench{h:012}"))
        })
        .collect();
    for h in &hosts {
        agent.ok(
            "POST",
            "/v1/instances",
            &json!({"id": h.id, "cluster": CLUSTER}),
        );
    }
    heartbeat(agent, &hosts);
    hosts
}

/// The service's task definition, as `manifests/web` has it but in bridge mode with a
/// dynamic host port (so each task's report carries a port binding).
fn task_definition(revision: u32) -> Value {
    json!({"apiVersion": "ecs/v1", "kind": "TaskDefinition",
        "metadata": {"name": SERVICE, "labels": {"team": "shop", "app": SERVICE}},
        "spec": {"networkMode": "bridge", "cpu": "256", "memory": "512",
            "containerDefinitions": [
                {"name": "app", "image": "ecsctl/busybox:local", "essential": true,
                 "command": ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"],
                 "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}],
                 "healthCheck": {"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"],
                                 "interval": 5, "timeout": 2, "retries": 3, "startPeriod": 5},
                 "environment": [{"name": "RELEASE", "value": format!("2026.12.{revision}")}],
                 "memory": 256, "cpu": 128},
                {"name": "content", "image": "ecsctl/busybox:local", "essential": false,
                 "command": ["sh", "-c", "while true; do date > /www/index.html; sleep 5; done"],
                 "memoryReservation": 32, "cpu": 64}]}})
}

/// [`REVISIONS`] task definition revisions, then the service on the last.
fn apply_workload(admin: &ApiClient) {
    for revision in 1..=REVISIONS {
        admin.ok(
            "POST",
            "/v1/apply",
            &json!({"objects": [task_definition(revision)]}),
        );
    }
    admin.ok(
        "POST",
        "/v1/apply",
        &json!({"objects": [{"apiVersion": "ecs/v1", "kind": "Service",
            "metadata": {"name": SERVICE, "cluster": CLUSTER, "labels": {"team": "shop"}},
            "spec": {"taskDefinition": SERVICE, "desiredCount": TASKS,
                "placementStrategy": [{"type": "spread", "field": "instanceId"}]}}]}),
    );
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// One heartbeat of every instance, from the tasks placed on it (as `ecsctl agent`'s).
fn heartbeat(agent: &ApiClient, hosts: &[InstanceIdentity]) {
    let tasks = agent.tasks();
    let td: TaskDefinitionSpec =
        serde_json::from_value(task_definition(REVISIONS)["spec"].clone()).expect("a spec");
    let need = need(&td);
    for h in hosts {
        let uses: Vec<TaskUse> = tasks
            .iter()
            .filter_map(|t| {
                let spec: TaskSpec = t.spec_as().ok()?;
                let status: TaskStatus = t.status_as().unwrap_or_default();
                (spec.bound_instance(&status) == Some(h.id.as_str())
                    && !status.last_status.is_terminal())
                .then(|| TaskUse {
                    running: status.last_status.is_running(),
                    need: need.clone(),
                })
            })
            .collect();
        let path = format!("/v1/objects/containerinstances/{}?cluster={CLUSTER}", h.id);
        let found: Object =
            serde_json::from_value(agent.ok("GET", &path, &Value::Null)).expect("an instance");
        let spec: ContainerInstanceSpec = found.spec_as().unwrap_or_default();
        let previous = found.status_as().ok();
        let status = plan_status(
            h,
            &spec,
            None,
            &uses,
            previous.as_ref(),
            OffsetDateTime::now_utc(),
        );
        let path = format!(
            "/v1/objects/containerinstances/{}/status?cluster={CLUSTER}",
            h.id
        );
        let body = StatusUpdate {
            status: serde_json::to_value(&status).expect("a status"),
            resource_version: None,
        };
        let a = agent.call(
            "PUT",
            &path,
            &serde_json::to_string(&body).expect("a report"),
        );
        assert_eq!(a.status, 200, "{path}: {}", a.body);
    }
}

/// The fake agent's task side: reports the tasks placed on its instances.
struct Reporter {
    hosts: Vec<String>,
    /// Host ports handed out so far, per instance.
    ports: BTreeMap<String, u16>,
}

impl Reporter {
    fn new(hosts: &[InstanceIdentity]) -> Reporter {
        Reporter {
            hosts: hosts.iter().map(|h| h.id.clone()).collect(),
            ports: BTreeMap::new(),
        }
    }

    /// Reports until the service has [`TASKS`] RUNNING and the cluster `stopped` STOPPED
    /// tasks, and the service says so (steady).
    fn until_running(&mut self, agent: &ApiClient, admin: &ApiClient, stopped: usize) {
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            let (running, down) = self.report(agent);
            let svc = admin.ok(
                "GET",
                &format!("/v1/objects/services/{SERVICE}?cluster={CLUSTER}"),
                &Value::Null,
            );
            let steady = svc["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "SteadyState" && c["status"] == "True")
            });
            if running == TASKS as usize
                && down >= stopped
                && steady
                && svc["status"]["runningCount"] == TASKS
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{running} tasks RUNNING, {down} STOPPED: {}",
                svc["status"]
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The ids of the RUNNING tasks, oldest first.
    fn running_ids(&self, agent: &ApiClient) -> Vec<String> {
        let mut running: Vec<(String, String)> = agent
            .tasks()
            .into_iter()
            .filter(|t| {
                t.status_as::<TaskStatus>()
                    .is_ok_and(|s| s.last_status == TaskPhase::Running)
            })
            .map(|t| {
                let created = t.status["createdAt"].as_str().unwrap_or("").to_string();
                (created, t.metadata.name)
            })
            .collect();
        running.sort();
        running.into_iter().map(|(_, id)| id).collect()
    }

    /// One pass over the cluster's tasks: those placed here that should run are reported
    /// RUNNING, those asked to stop STOPPED. Answers how many are RUNNING and STOPPED.
    fn report(&mut self, agent: &ApiClient) -> (usize, usize) {
        let (mut running, mut stopped) = (0, 0);
        for t in agent.tasks() {
            let Ok(spec) = t.spec_as::<TaskSpec>() else {
                continue;
            };
            let status: TaskStatus = t.status_as().unwrap_or_default();
            if status.last_status.is_terminal() {
                stopped += 1;
                continue;
            }
            let Some(host) = spec
                .bound_instance(&status)
                .filter(|h| self.hosts.iter().any(|o| o == h))
                .map(str::to_string)
            else {
                continue;
            };
            let next = if spec.stop_requested() {
                self.stopped(&spec, status)
            } else if status.last_status == TaskPhase::Running {
                running += 1;
                continue;
            } else {
                self.running(&t.metadata.name, &host, status)
            };
            let path = format!(
                "/v1/objects/tasks/{}/status?cluster={CLUSTER}",
                t.metadata.name
            );
            let body = StatusUpdate {
                status: serde_json::to_value(&next).expect("a status"),
                resource_version: t.metadata.resource_version,
            };
            // A conflict (the server wrote meanwhile) is reported again on the next pass.
            let body = serde_json::to_string(&body).expect("a report");
            let a = agent.call("PUT", &path, &body);
            assert!(
                a.status == 200 || a.status == 409,
                "{path}: {} {}",
                a.status,
                a.body
            );
        }
        (running, stopped)
    }

    /// The status a real agent reports once the task's containers run and are healthy.
    fn running(&mut self, id: &str, host: &str, mut status: TaskStatus) -> TaskStatus {
        let now = now_rfc3339();
        let port = self.ports.entry(host.to_string()).or_insert(32768);
        *port += 1;
        // 64 hex digits, as Docker's container ids.
        let runtime_id = || {
            Some(format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ))
        };
        status.last_status = TaskPhase::Running;
        status.health_status = HealthState::Healthy;
        status.container_instance = Some(host.to_string());
        status.created_at.get_or_insert_with(|| now.clone());
        status.started_at = Some(now.clone());
        status.containers = vec![
            ContainerStatus {
                name: "app".into(),
                runtime_id: runtime_id(),
                image: "ecsctl/busybox:local".into(),
                last_status: ContainerPhase::Running,
                health_status: HealthState::Healthy,
                essential: true,
                network_bindings: vec![NetworkBinding {
                    container_port: 8080,
                    host_port: *port,
                    host_ip: "0.0.0.0".into(),
                    protocol: Protocol::Tcp,
                }],
                ..ContainerStatus::default()
            },
            ContainerStatus {
                name: "content".into(),
                runtime_id: runtime_id(),
                image: "ecsctl/busybox:local".into(),
                last_status: ContainerPhase::Running,
                health_status: HealthState::Unknown,
                essential: false,
                ..ContainerStatus::default()
            },
        ];
        // What `ecsctl exec` records on a task: someone looked inside, three times.
        let head = format!("(task {id}) execute command in container app by admin (admin)");
        status.events = [
            "started: sh",
            "exited with code 0: sh",
            "started: top -b -n 1",
        ]
        .iter()
        .enumerate()
        .map(|(i, what)| Event {
            id: format!("exec-{id}-{i}"),
            created_at: now.clone(),
            message: format!("{head} {what}"),
        })
        .rev()
        .collect();
        status
    }

    /// The status a real agent reports once the stop it was asked for is done: SIGTERM,
    /// the containers exited 143.
    fn stopped(&self, spec: &TaskSpec, mut status: TaskStatus) -> TaskStatus {
        let now = now_rfc3339();
        status.last_status = TaskPhase::Stopped;
        status.desired_status = DesiredStatus::Stopped;
        status.health_status = HealthState::Unknown;
        status.stopping_at = Some(now.clone());
        status.stopped_at = Some(now);
        status.stop_code = Some(spec.stop_code.unwrap_or(StopCode::UserInitiated));
        status.stopped_reason = spec.stopped_reason.clone();
        for c in &mut status.containers {
            c.last_status = ContainerPhase::Stopped;
            c.exit_code = Some(143);
            c.health_status = HealthState::Unknown;
            c.network_bindings.clear();
        }
        status
    }
}

// ---------------------------------------------------------------------------------------
// The pages and their measurement.

/// A console page and the server API call(s) it makes.
struct Page {
    name: &'static str,
    path: String,
    /// The API paths, called one after another; for `stream` pages the last one is timed
    /// to its first byte.
    api: Vec<String>,
    api_label: &'static str,
    /// A stream (server-sent events): timed to the first byte.
    stream: bool,
}

fn pages(task_id: &str) -> Vec<Page> {
    let tasks_of_service =
        format!("/v1/objects/tasks?cluster={CLUSTER}&labelSelector=ecsctl.service%3D{SERVICE}");
    vec![
        Page {
            name: "overview",
            path: "/".into(),
            api: ["clusters", "services", "tasks", "containerinstances"]
                .iter()
                .map(|k| format!("/v1/objects/{k}"))
                .chain(["/v1/syncs".to_string()])
                .collect(),
            api_label: "clusters, services, tasks, instances, syncs",
            stream: false,
        },
        Page {
            name: "service",
            path: format!("/clusters/{CLUSTER}/services/{SERVICE}"),
            api: vec![
                format!("/v1/objects/services/{SERVICE}?cluster={CLUSTER}"),
                tasks_of_service,
            ],
            api_label: "the service, its tasks",
            stream: false,
        },
        Page {
            name: "task",
            path: format!("/clusters/{CLUSTER}/tasks/{task_id}"),
            api: vec![format!("/v1/objects/tasks/{task_id}?cluster={CLUSTER}")],
            api_label: "the task",
            stream: false,
        },
        Page {
            name: "task definition",
            path: format!("/taskdefinitions/{SERVICE}"),
            api: vec![
                "/v1/objects/taskdefinitions".into(),
                "/v1/objects/services".into(),
            ],
            api_label: "task definitions, services",
            stream: false,
        },
        Page {
            name: "events (first byte)",
            path: "/events".into(),
            api: vec!["/v1/health".into(), "/v1/watch?from=".into()],
            api_label: "health, then the watch's first byte",
            stream: true,
        },
    ]
}

/// p50, p99, max in ms.
type Spread = (f64, f64, f64);

struct Measured {
    page: Spread,
    page_kb: f64,
    api: Spread,
    api_kb: f64,
}

/// [`WARM_UP`] then [`SAMPLES`] rounds of: the page, then its API calls.
fn measure(page: &Page, console: &str, cookie: &str, admin: &ApiClient) -> Measured {
    let cookie = [format!("Cookie: {cookie}")];
    let (mut page_times, mut api_times) = (Vec::new(), Vec::new());
    let (mut page_bytes, mut api_bytes) = (0, 0);
    for round in 0..WARM_UP + SAMPLES {
        let t = Instant::now();
        let took = if page.stream {
            let (took, status) = first_byte(console, &page.path, &cookie);
            assert_eq!(status, 200, "{}", page.path);
            took
        } else {
            let a = http(console, "GET", &page.path, &cookie, "");
            let took = t.elapsed();
            assert_eq!(a.status, 200, "{}: {}", page.path, a.body);
            page_bytes = a.body.len();
            took
        };
        let mut api_took = Duration::ZERO;
        let mut bytes = 0;
        let mut revision = 0;
        for path in &page.api {
            if page.stream && path.ends_with("from=") {
                let (took, status) = first_byte(
                    &admin.addr,
                    &format!("{path}{revision}"),
                    std::slice::from_ref(&admin.auth),
                );
                assert_eq!(status, 200, "{path}");
                api_took += took;
                continue;
            }
            let t = Instant::now();
            let a = admin.call("GET", path, "");
            api_took += t.elapsed();
            assert_eq!(a.status, 200, "{path}: {}", a.body);
            bytes += a.body.len();
            if path == "/v1/health" {
                let health: Value = serde_json::from_str(&a.body).unwrap_or_default();
                revision = health["revision"].as_u64().unwrap_or(0);
            }
        }
        api_bytes = bytes;
        if round >= WARM_UP {
            page_times.push(took);
            api_times.push(api_took);
        }
    }
    Measured {
        page: percentiles(page_times),
        page_kb: page_bytes as f64 / 1024.0,
        api: percentiles(api_times),
        api_kb: api_bytes as f64 / 1024.0,
    }
}

fn shorten(path: &str) -> String {
    if path.len() > 30 {
        format!("{}...", &path[..27])
    } else {
        path.to_string()
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
