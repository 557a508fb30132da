//! A cluster of several hosts on one machine (issue 16): an `ecsctl server` on TCP loopback
//! whose `--tokens` file holds an admin token and one agent token per host, a Cluster of the
//! test's own (a unique name, so that tests running side by side never share one), and per
//! host an extra Docker engine ([`ExtraEngine`]) with an `ecsctl agent` in front of it.
//!
//! Dropping a [`Fleet`] kills the agents, then removes the engines with every container
//! they ran, then the server and its containers on the main engine: also when the test
//! failed, since each part has its own drop guard.

use super::engines::ExtraEngine;
use super::{BIN, IMAGE, Server, expect_code, stdout};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often every agent reports (the smallest useful interval: the tests wait for beats).
pub const HEARTBEAT: &str = "1s";
/// How long agents may take to register and report connected after they are started.
const CONNECT_WITHIN: Duration = Duration::from_secs(20);
/// How long a SIGTERM'd agent may take to exit before it is killed.
const EXIT_WITHIN: Duration = Duration::from_secs(10);
/// The same for the server (it stops every loop and flushes its store).
const SERVER_EXIT_WITHIN: Duration = Duration::from_secs(20);

/// What one host's agent is started with, besides what every agent gets.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// `--attribute K=V`, each.
    attributes: Vec<String>,
    /// `--capacity cpu=UNITS,memory=MIB`.
    capacity: Option<String>,
}

impl Host {
    pub fn plain() -> Host {
        Host::default()
    }

    /// With `--attribute K=V`.
    pub fn attribute(mut self, kv: &str) -> Host {
        self.attributes.push(kv.to_string());
        self
    }

    /// With `--capacity` (`cpu=1024,memory=256`).
    pub fn capacity(mut self, capacity: &str) -> Host {
        self.capacity = Some(capacity.to_string());
        self
    }
}

/// One `ecsctl agent` process, started again with the same arguments (and so the same
/// data directory and instance id) by [`Agent::start`]. Killed on drop.
pub struct Agent {
    /// Behind a lock so that a test can stop and start an agent while another thread
    /// looks at the fleet.
    child: Mutex<Option<Child>>,
    args: Vec<String>,
    data_dir: PathBuf,
    log: PathBuf,
    /// `ECSCTL_HOME` of the process (nothing should be written there).
    home: PathBuf,
    /// The engine it runs tasks on (`unix:///...`).
    pub docker_host: String,
}

impl Agent {
    /// Starts the process (again); its output goes on to the same log.
    pub fn start(&self) {
        let mut slot = self.child.lock().expect("agent");
        assert!(slot.is_none(), "the agent is already running");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("agent log");
        let child = Command::new(BIN)
            .args(&self.args)
            .env("ECSCTL_HOME", &self.home)
            .env_remove("ECSCTL_SERVER")
            .env_remove("ECSCTL_TOKEN_FILE")
            .env_remove("DOCKER_HOST")
            .env("RUST_LOG", "info,ecsctl_controllers=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn ecsctl agent");
        *slot = Some(child);
    }

    /// SIGTERM, as a service manager stops it; waits for the exit (killed after
    /// [`EXIT_WITHIN`], which fails the test).
    pub fn terminate(&self) -> ExitStatus {
        let taken = self.child.lock().expect("agent").take();
        let mut child = taken.expect("the agent is not running");
        signal("TERM", child.id());
        let deadline = Instant::now() + EXIT_WITHIN;
        loop {
            if let Some(status) = child.try_wait().expect("wait for the agent") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the agent ignored SIGTERM for {EXIT_WITHIN:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a crash: its containers keep running on its engine.
    pub fn kill(&self) {
        let taken = self.child.lock().expect("agent").take();
        let mut child = taken.expect("the agent is not running");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The container instance id the agent keeps in its data directory (empty before its
    /// first start wrote it).
    pub fn instance_id(&self) -> String {
        fs::read_to_string(self.data_dir.join("instance-id"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let taken = self.child.get_mut().map(Option::take).unwrap_or_default();
        if let Some(mut c) = taken {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `tcp://127.0.0.1:PORT` on a port free now.
fn free_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("tcp://127.0.0.1:{port}")
}

/// A server, one Cluster, and hosts of it: engine `i` runs agent `i`.
pub struct Fleet {
    // Drop order is declaration order: agents stop first (so that none starts a container
    // on an engine being removed), then the engines go, then the servers.
    pub agents: Vec<Agent>,
    pub engines: Vec<ExtraEngine>,
    /// The server; every client command of it ([`Server::run`], [`Server::apply`]) runs
    /// as the admin over TCP.
    pub server: Server,
    /// `tcp://127.0.0.1:PORT`.
    pub url: String,
    /// More servers on the same store ([`Fleet::start_servers`]), with their URLs; the
    /// agents know every server (`--server URL,URL`).
    pub more_servers: Vec<(Server, String)>,
    /// The test's own cluster, which every agent joins.
    pub cluster: String,
}

impl Fleet {
    /// Starts the server and one engine per host (side by side), applies the Cluster
    /// `NAME-RANDOM`, starts the agents and waits until every instance reports connected.
    pub fn start(name: &str, hosts: &[Host]) -> Fleet {
        Fleet::start_with(name, hosts, &[])
    }

    /// [`Fleet::start`] with more `ecsctl server` flags (`--instance-timeout 3s`).
    pub fn start_with(name: &str, hosts: &[Host], server_args: &[&str]) -> Fleet {
        Fleet::start_servers(name, hosts, server_args, 1)
    }

    /// [`Fleet::start_with`] with `servers` servers, each in its own directory with the same
    /// tokens, all started with `server_args` (which must name a shared store:
    /// `--store etcd://...`, or each would have its own).
    pub fn start_servers(
        name: &str,
        hosts: &[Host],
        server_args: &[&str],
        servers: usize,
    ) -> Fleet {
        super::ensure_image();
        let cluster = format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let mut server = Server::offline();
        let admin = token("admin");
        let mut lines = format!("# written by the test harness\n{admin} admin\n");
        let agent_tokens: Vec<String> = hosts.iter().map(|_| token("agent")).collect();
        for t in &agent_tokens {
            lines.push_str(&format!("{t} agent {cluster}\n"));
        }
        let tokens = server.write("tokens", &lines);
        fs::set_permissions(&tokens, fs::Permissions::from_mode(0o600)).expect("chmod");
        let admin_file = server.write("admin.token", &format!("{admin}\n"));
        let url = free_url();
        server.set_client(&url, &admin_file);
        let mut more_servers: Vec<(Server, String)> = (1..servers.max(1))
            .map(|_| {
                let mut other = Server::offline();
                let tokens = other.write("tokens", &lines);
                fs::set_permissions(&tokens, fs::Permissions::from_mode(0o600)).expect("chmod");
                let admin_file = other.write("admin.token", &format!("{admin}\n"));
                let url = free_url();
                other.set_client(&url, &admin_file);
                (other, url)
            })
            .collect();
        let all_urls = std::iter::once(url.clone())
            .chain(more_servers.iter().map(|(_, u)| u.clone()))
            .collect::<Vec<_>>()
            .join(",");

        // Engines take seconds each (dockerd, then the image): all at once, beside the
        // server's start. A failed one fails the test; those that started are removed.
        let engines: Vec<ExtraEngine> = std::thread::scope(|s| {
            let starting: Vec<_> = hosts
                .iter()
                .map(|_| s.spawn(|| ExtraEngine::start(&[IMAGE])))
                .collect();
            let mut args = vec!["--listen", url.as_str(), "--tokens", tokens.as_str()];
            args.extend_from_slice(server_args);
            server.serve(&args, &[]);
            for (other, other_url) in &mut more_servers {
                let tokens = other.path().join("tokens").display().to_string();
                let mut args = vec!["--listen", other_url.as_str(), "--tokens", &tokens];
                args.extend_from_slice(server_args);
                other.serve(&args, &[]);
            }
            starting
                .into_iter()
                .map(|h| h.join().expect("engine thread"))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .map(|e| e.expect("an extra engine"))
        .collect();

        // Each server answered its own readiness probe; from now on every client command
        // knows every server (its own first), as an operator's would.
        if !more_servers.is_empty() {
            let own_first = |own: &str| {
                std::iter::once(own.to_string())
                    .chain(
                        all_urls
                            .split(',')
                            .filter(|u| *u != own)
                            .map(str::to_string),
                    )
                    .collect::<Vec<_>>()
                    .join(",")
            };
            server.set_client(&own_first(&url), &admin_file);
            for (other, other_url) in &mut more_servers {
                let admin_file = other.path().join("admin.token").display().to_string();
                other.set_client(&own_first(other_url), &admin_file);
            }
        }
        server.apply(&format!(
            "apiVersion: ecs/v1\nkind: Cluster\nmetadata: {{name: {cluster}}}\nspec: {{}}\n"
        ));
        let mut agents = Vec::new();
        for (i, ((host, engine), tok)) in hosts.iter().zip(&engines).zip(&agent_tokens).enumerate()
        {
            let token_file = server.write(&format!("agent-{i}.token"), &format!("{tok}\n"));
            let data_dir = server.path().join(format!("agent-{i}"));
            let mut args: Vec<String> = [
                "--server",
                &all_urls,
                "--token-file",
                &token_file,
                "agent",
                "--cluster",
                &cluster,
                "--docker-host",
                &engine.socket(),
                "--address",
                &engine.address().to_string(),
                "--data-dir",
                &data_dir.display().to_string(),
                "--heartbeat-interval",
                HEARTBEAT,
            ]
            .iter()
            .map(|a| a.to_string())
            .collect();
            for a in &host.attributes {
                args.extend(["--attribute".to_string(), a.clone()]);
            }
            if let Some(c) = &host.capacity {
                args.extend(["--capacity".to_string(), c.clone()]);
            }
            let agent = Agent {
                child: Mutex::new(None),
                args,
                data_dir,
                log: server.path().join(format!("agent-{i}.log")),
                home: server.path().join(format!("agent-{i}-home")),
                docker_host: engine.socket(),
            };
            agent.start();
            agents.push(agent);
        }
        let fleet = Fleet {
            agents,
            engines,
            server,
            url,
            more_servers,
            cluster,
        };
        // Each agent writes its instance id before it registers.
        let ids = fleet.wait("every agent's instance id", CONNECT_WITHIN, || {
            let ids = fleet.ids();
            (!ids.iter().any(String::is_empty)).then_some(ids)
        });
        fleet.wait_connected(&ids, Instant::now());
        fleet
    }

    /// The instance id of each agent, in the order of the hosts.
    pub fn ids(&self) -> Vec<String> {
        self.agents.iter().map(Agent::instance_id).collect()
    }

    /// `--cluster C`: for commands that take it.
    pub fn in_cluster<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        all.extend(["--cluster", self.cluster.as_str()]);
        all
    }

    /// `ecsctl ARGS... --cluster C`, which must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.server.run(&self.in_cluster(args));
        self.expect_success(args, &o);
        stdout(&o)
    }

    /// `ecsctl get KIND [NAME] --cluster C -o json`, parsed.
    pub fn get(&self, what: &[&str]) -> Value {
        let mut args = vec!["get"];
        args.extend_from_slice(what);
        args.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&args)).expect("get -o json")
    }

    /// The cluster's container instances (`get ci`).
    pub fn instances(&self) -> Vec<Value> {
        items(self.get(&["ci"]))
    }

    /// The cluster's tasks (`get tasks`), stopped ones included.
    pub fn tasks(&self) -> Vec<Value> {
        items(self.get(&["tasks"]))
    }

    /// The tasks of a service (by its label).
    pub fn service_tasks(&self, service: &str) -> Vec<Value> {
        let selector = format!("ecsctl.service={service}");
        items(self.get(&["tasks", "-l", &selector]))
    }

    /// Waits until each of `ids` is an instance of the cluster with its agent connected
    /// and a heartbeat written after `since` (by the clock of this machine, which the
    /// server shares); returns the instances.
    pub fn wait_connected(&self, ids: &[String], since: Instant) -> Vec<Value> {
        let after = time::OffsetDateTime::now_utc() - since.elapsed();
        let last = std::cell::RefCell::new(Vec::new());
        let what = || format!("every agent of {ids:?} connected");
        let found = self.try_wait(CONNECT_WITHIN, || {
            let cis = self.instances();
            let fresh = ids.iter().all(|id| {
                cis.iter().any(|ci| {
                    name(ci) == id
                        && ci["status"]["agentConnected"] == true
                        && heartbeat(ci).is_some_and(|t| t > after)
                })
            });
            last.replace(cis.clone());
            fresh.then_some(cis)
        });
        found.unwrap_or_else(|| {
            panic!(
                "{}: not within {CONNECT_WITHIN:?} (heartbeats after {after}); instances: {:#}\n{}",
                what(),
                Value::Array(last.take()),
                self.report()
            )
        })
    }

    /// Waits until `pred` holds for the tasks of `service` that are not STOPPED (RUNNING
    /// ones with `desiredStatus` RUNNING, typically); returns every task of the service.
    pub fn wait_tasks(
        &self,
        service: &str,
        what: &str,
        within: Duration,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        self.wait(what, within, || {
            let ts = self.service_tasks(service);
            pred(&ts).then_some(ts)
        })
    }

    /// Polls `probe` every 100 ms until it answers, or panics after `within` with `what`
    /// and every log.
    pub fn wait<T>(&self, what: &str, within: Duration, probe: impl Fn() -> Option<T>) -> T {
        self.try_wait(within, probe)
            .unwrap_or_else(|| panic!("{what}: not within {within:?}\n{}", self.report()))
    }

    /// Polls `probe` every 100 ms until it answers or `within` passed.
    pub fn try_wait<T>(&self, within: Duration, probe: impl Fn() -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(v) = probe() {
                return Some(v);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The running containers of this cluster on engine `i`: task id -> container ids.
    pub fn engine_tasks(&self, i: usize) -> BTreeMap<String, BTreeSet<String>> {
        let o = self.engines[i].docker(&[
            "ps",
            "--no-trunc",
            "--filter",
            &format!("label=ecsctl.cluster={}", self.cluster),
            "--format",
            "{{.ID}} {{.Label \"ecsctl.task\"}}",
        ]);
        expect_code(&o, 0);
        by_task(&stdout(&o))
    }

    /// Every container of this cluster on engine `i`, exited ones too (their ids).
    pub fn engine_containers_ever(&self, i: usize) -> BTreeSet<String> {
        let o = self.engines[i].docker(&[
            "ps",
            "-a",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("label=ecsctl.cluster={}", self.cluster),
        ]);
        expect_code(&o, 0);
        stdout(&o).split_whitespace().map(str::to_string).collect()
    }

    /// Containers of this cluster on the main engine, whatever their state (the server's
    /// own host must run none of them while the cluster has instances of its own).
    pub fn main_engine_containers(&self) -> Vec<String> {
        let o = super::docker(&[
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=ecsctl.cluster={}", self.cluster),
        ]);
        expect_code(&o, 0);
        stdout(&o).split_whitespace().map(str::to_string).collect()
    }

    /// Restarts the server on the same data directory and address as a service manager
    /// does (SIGTERM, wait for the exit, start), and waits until it answers again.
    pub fn restart_server(&mut self) {
        let child = self.server.child_mut().expect("the server is not running");
        signal("TERM", child.id());
        let deadline = Instant::now() + SERVER_EXIT_WITHIN;
        while child.try_wait().expect("wait for the server").is_none() {
            assert!(
                Instant::now() < deadline,
                "the server ignored SIGTERM for {SERVER_EXIT_WITHIN:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Reaped already: this only forgets the process.
        self.server.kill9();
        self.server.spawn();
    }

    /// The server's log and each agent's, for a failure message.
    pub fn report(&self) -> String {
        let mut out = format!("server log:\n{}", tail(&self.server.log(), 80));
        for (i, a) in self.agents.iter().enumerate() {
            out.push_str(&format!("\nagent {i} log:\n{}", tail(&a.log(), 60)));
        }
        out
    }

    #[track_caller]
    fn expect_success(&self, args: &[&str], o: &Output) {
        assert!(
            o.status.success(),
            "ecsctl {args:?} --cluster {}: exit {:?}\nstdout:\n{}\nstderr:\n{}\n{}",
            self.cluster,
            o.status.code(),
            stdout(o),
            super::stderr(o),
            self.report()
        );
    }
}

/// The server under the fleet: its files, log, and every client command as the admin.
impl std::ops::Deref for Fleet {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

/// The same for changes (restarting it).
impl std::ops::DerefMut for Fleet {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.server
    }
}

/// A fresh random token for `role` (the role in front, for reading logs).
fn token(role: &str) -> String {
    format!("{role}-{}", uuid::Uuid::new_v4().simple())
}

/// `kill -SIG PID`.
pub fn signal(sig: &str, pid: u32) {
    let o = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .output()
        .expect("kill");
    assert!(
        o.status.success(),
        "kill -{sig} {pid}: {}",
        super::stderr(&o)
    );
}

/// `docker ps` lines `ID TASK` grouped by task (a container without the label under "").
fn by_task(ps: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in ps.lines() {
        let mut f = line.split_whitespace();
        let Some(id) = f.next() else { continue };
        let task = f.next().unwrap_or("").to_string();
        out.entry(task).or_default().insert(id.to_string());
    }
    out
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The `items` of a list.
pub fn items(list: Value) -> Vec<Value> {
    match list {
        Value::Object(mut m) => match m.remove("items") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `metadata.name`.
pub fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or("")
}

/// A string at a JSON pointer, or "".
pub fn text<'a>(o: &'a Value, ptr: &str) -> &'a str {
    o.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The instance's last heartbeat, parsed.
pub fn heartbeat(ci: &Value) -> Option<time::OffsetDateTime> {
    let t = ci["status"]["lastHeartbeat"].as_str()?;
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
}

/// RUNNING, and neither asked to stop nor stopping.
pub fn running(t: &Value) -> bool {
    text(t, "/status/lastStatus") == "RUNNING"
        && text(t, "/spec/desiredStatus") != "STOPPED"
        && text(t, "/status/desiredStatus") != "STOPPED"
}

/// Not STOPPED yet.
pub fn present(t: &Value) -> bool {
    text(t, "/status/lastStatus") != "STOPPED"
}

/// The instance a task was placed on (`spec.containerInstance`), after checking that its
/// status names the same one.
#[track_caller]
pub fn placed_on(t: &Value) -> String {
    let spec = text(t, "/spec/containerInstance");
    let status = text(t, "/status/containerInstance");
    assert!(!spec.is_empty(), "task not placed: {t:#}");
    assert_eq!(spec, status, "spec and status disagree: {t:#}");
    spec.to_string()
}

/// How many of `tasks` were placed on each instance.
pub fn per_instance(tasks: &[&Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for t in tasks {
        *out.entry(placed_on(t)).or_insert(0) += 1;
    }
    out
}

/// A task definition of one busybox container that reserves `memory` MiB and stops at
/// once on SIGTERM.
pub fn task_definition(family: &str, memory: u32) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {family}}}\nspec:\n  containerDefinitions:\n    - {{name: main, image: {IMAGE}, memory: {memory}, stopTimeout: 1, command: [sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 0.2; done']}}\n"
    )
}

/// A Service in `cluster` with extra spec lines (`placementStrategy: ...`), each indented
/// by two spaces.
pub fn service(name: &str, cluster: &str, family: &str, desired: u32, extra: &[&str]) -> String {
    let mut s = format!(
        "apiVersion: ecs/v1\nkind: Service\nmetadata: {{name: {name}, cluster: {cluster}}}\nspec:\n  taskDefinition: {family}\n  desiredCount: {desired}\n"
    );
    for line in extra {
        s.push_str(&format!("  {line}\n"));
    }
    s
}
