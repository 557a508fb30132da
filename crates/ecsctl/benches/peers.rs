//! Peer benchmark suite (issue 8): ecsctl against docker-compose and raw Docker API calls,
//! measured side by side in one run, printed as one table (metric | ecsctl | peer | ratio).
//!
//! - apply -> all RUNNING for 10 and 50 containers: one apply of a TaskDefinition + a Service
//!   (desiredCount N) until the API shows N tasks RUNNING, against `docker-compose up -d` of a
//!   compose file with one service of `scale: N`, and against creating and starting the N
//!   containers through the Docker API one after the other. Same image, command and memory
//!   limit (16 MiB) everywhere; bridge network (Docker's default `bridge`), no ports.
//! - failure -> replacement RUNNING: a service of 5 tasks; one task's container is killed and
//!   the time until the service has 5 RUNNING tasks again (a new task) is taken. Two ways of
//!   failing: `docker kill` (Docker's restart policy treats that as a manual stop and never
//!   restarts, so there is no peer) and a crash (SIGKILL of the container's process from the
//!   host), where the peer is compose's `restart: always` restarting the same container.
//! - rolling update of 10 tasks against the waits its configuration imposes (as the rollout
//!   bench: health check interval 5 s + stopTimeout 2 s).
//! - idle server with 50 tasks: CPU (from /proc/PID/stat) and VmRSS of `ecsctl server`
//!   against dockerd's over the same window, and dockerd's CPU with 50 idle containers under
//!   ecsctl (which reads their stats once per metrics interval) against under compose (nothing
//!   running beside them).
//!
//! Every figure is the median of PEERS_REPEAT runs (default 3; the range is shown beside it).
//! `cargo bench -p ecsctl --bench peers`, or `scripts/bench.sh` (builds the image first).
//! PEERS_IDLE_SECS (default 20) sets the idle window, PEERS_SIZES (default `10,50`) the
//! container counts of the apply rows. Only containers this run made are
//! touched: ecsctl's by the server's `ecsctl.instance` label, the peers' by
//! `ecsctl.bench=peers-PID` (compose project `ecsctlpeersPID`); all are removed at the end,
//! also when the run fails.

mod common;

use common::{
    DOCKER, Server, cpu_ticks, get_json, remove_labelled, rss_mib, running_tasks, wait_rolled,
};
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::{Duration, Instant};

const IMAGE: &str = "ecsctl/busybox:local";
/// Tasks of the failure-recovery service (one is killed at a time).
const FAILOVER_TASKS: usize = 5;
const HEALTH_INTERVAL: u64 = 5;
const STOP_TIMEOUT: u64 = 2;

fn sleeper_td() -> String {
    format!(
        r#"{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"sleeper"}},"spec":{{"containerDefinitions":[{{"name":"main","image":"{IMAGE}","memory":16,"stopTimeout":1,"command":["sleep","3600"]}}]}}}}"#
    )
}

fn service(name: &str, td: &str, n: usize) -> String {
    format!(
        r#"{{"apiVersion":"ecs/v1","kind":"Service","metadata":{{"name":"{name}"}},"spec":{{"taskDefinition":"{td}","desiredCount":{n}}}}}"#
    )
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Removes the peers' containers (by `ecsctl.bench` label) when dropped, also on a panic.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        remove_labelled(&format!("ecsctl.bench={}", self.0));
    }
}

// ---- the ecsctl side ----

/// RUNNING tasks: (task id, container runtime id, startedAt), oldest first.
fn running(server: &Server) -> Vec<(String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut v: Vec<(String, String, String)> = running_tasks(server)
        .iter()
        .map(|t| {
            (
                text(&t["metadata"]["name"]),
                text(&t["status"]["containers"][0]["runtimeId"]),
                text(&t["status"]["startedAt"]),
            )
        })
        .collect();
    v.sort_by(|a, b| a.2.cmp(&b.2));
    v
}

/// Polls (every 10 ms) until `n` tasks not in `except` are RUNNING.
fn wait_running(server: &Server, n: usize, except: &[String], within: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        let count = running(server)
            .iter()
            .filter(|(id, _, _)| !except.contains(id))
            .count();
        if count >= n {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < within,
            "only {count} of {n} tasks RUNNING after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One apply of a task definition and a service of `n` tasks -> all `n` RUNNING.
fn ecsctl_up(n: usize) -> Duration {
    let server = Server::start();
    let t0 = Instant::now();
    server.apply(&format!(
        "[{},{}]",
        sleeper_td(),
        service("up", "sleeper", n)
    ));
    wait_running(&server, n, &[], Duration::from_secs(300));
    t0.elapsed()
    // `server` dropped: killed, its containers removed.
}

#[derive(Debug, Clone, Copy)]
enum Failure {
    DockerKill,
    Crash,
}

/// Time from a failure of one task's container to a replacement RUNNING, `repeat` times per
/// kind of failure (alternating), always failing the oldest running task.
fn ecsctl_failover(repeat: usize) -> (Vec<Duration>, Vec<Duration>) {
    let server = Server::start();
    server.apply(&format!(
        "[{},{}]",
        sleeper_td(),
        service("failover", "sleeper", FAILOVER_TASKS)
    ));
    wait_running(&server, FAILOVER_TASKS, &[], Duration::from_secs(120));
    let (mut kills, mut crashes) = (Vec::new(), Vec::new());
    let mut victims: Vec<String> = Vec::new();
    for _ in 0..repeat {
        for failure in [Failure::DockerKill, Failure::Crash] {
            std::thread::sleep(Duration::from_secs(1));
            // The oldest task whose container is up: a task that has run fine fails. (Killing
            // the newest task again and again looks like tasks dying right after they start,
            // and after 3 of those the service throttles its starts, as ECS does.)
            let (task, container, _) = running(&server)
                .into_iter()
                .find(|(id, c, _)| !victims.contains(id) && inspect(c)["State"]["Running"] == true)
                .expect("a running task");
            victims.push(task.clone());
            let pid = container_pid(&container);
            let t0 = Instant::now();
            match failure {
                Failure::DockerKill => {
                    let (status, body) = docker("POST", &format!("/containers/{container}/kill"));
                    assert_eq!(status, 204, "docker kill: {body}");
                }
                Failure::Crash => kill9(pid),
            }
            wait_running(&server, FAILOVER_TASKS, &victims, Duration::from_secs(60));
            let took = t0.elapsed();
            match failure {
                Failure::DockerKill => kills.push(took),
                Failure::Crash => crashes.push(took),
            }
        }
    }
    (kills, crashes)
}

fn rollout_td(version: &str) -> String {
    format!(
        r#"{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"roll"}},"spec":{{"containerDefinitions":[{{"name":"main","image":"{IMAGE}","memory":16,"stopTimeout":{STOP_TIMEOUT},"command":["sh","-c","trap '' TERM; echo {version}; while true; do sleep 1; done"],"healthCheck":{{"command":["CMD-SHELL","true"],"interval":{HEALTH_INTERVAL},"timeout":2,"retries":1}}}}]}}}}"#
    )
}

/// Wall time of a rolling update of 10 tasks (min 100%, max 200%).
fn ecsctl_rollout() -> Duration {
    let server = Server::start();
    let svc = r#"{"apiVersion":"ecs/v1","kind":"Service","metadata":{"name":"roll"},"spec":{"taskDefinition":"roll","desiredCount":10,"deploymentConfiguration":{"minimumHealthyPercent":100,"maximumPercent":200}}}"#;
    server.apply(&format!("[{},{svc}]", rollout_td("v1")));
    wait_rolled(&server, "roll:1", Duration::from_secs(120));
    let t0 = Instant::now();
    server.apply(&format!("[{}]", rollout_td("v2")));
    wait_rolled(&server, "roll:2", Duration::from_secs(120));
    t0.elapsed()
}

struct Idle {
    server_cpu: f64,
    server_rss: f64,
    dockerd_cpu: f64,
    dockerd_rss: f64,
}

/// A server with 50 running tasks (their metrics being read), left alone for `secs`.
fn ecsctl_idle(secs: u64) -> Idle {
    let server = Server::start();
    server.apply(&format!(
        "[{},{}]",
        sleeper_td(),
        service("idle", "sleeper", 50)
    ));
    wait_running(&server, 50, &[], Duration::from_secs(300));
    let t0 = Instant::now();
    while get_json(&server, "/v1/metrics/tasks")["items"]
        .as_array()
        .map_or(0, Vec::len)
        < 50
    {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "not every task has metrics after 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(5)); // let the start-up work settle
    let pid = server.child.id();
    let dockerd = dockerd_pid();
    let (s0, d0) = (cpu_ticks(pid), cpu_ticks(dockerd));
    std::thread::sleep(Duration::from_secs(secs));
    let (s1, d1) = (cpu_ticks(pid), cpu_ticks(dockerd));
    Idle {
        server_cpu: core_pct(s1 - s0, secs),
        server_rss: rss_mib(pid),
        dockerd_cpu: core_pct(d1 - d0, secs),
        dockerd_rss: rss_mib(dockerd),
    }
}

// ---- the peers ----

/// One Docker Engine API request on its socket.
fn docker(method: &str, path: &str) -> (u16, String) {
    docker_body(method, path, "")
}

/// One Docker Engine API request with a JSON body; the answer's body de-chunked (Docker
/// sends larger answers, such as an inspect, with chunked transfer encoding).
fn docker_body(method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = UnixStream::connect(DOCKER).expect("connect to the Docker socket");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .expect("write to the Docker socket");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .expect("read from the Docker socket");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let rest = raw.get(split + 4..).unwrap_or_default();
    let status = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = if head.contains("\r\ntransfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The payload of a chunked HTTP/1.1 body.
fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&rest[..eol]);
        let size =
            usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        let data = &rest[eol + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        rest = data[size..].strip_prefix(b"\r\n").unwrap_or(&data[size..]);
    }
    out
}

fn inspect(id: &str) -> Value {
    let (_, body) = docker("GET", &format!("/containers/{id}/json"));
    serde_json::from_str(&body).unwrap_or_default()
}

fn container_pid(id: &str) -> u64 {
    let pid = inspect(id)["State"]["Pid"].as_u64().unwrap_or(0);
    assert!(pid > 0, "container {id} has no process");
    pid
}

fn kill9(pid: u64) {
    let st = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -9 {pid} failed");
}

/// Creates and starts `n` containers through the Docker API, one after the other.
fn docker_api_up(n: usize, label: &str) -> Duration {
    let t0 = Instant::now();
    for i in 0..n {
        let body = format!(
            r#"{{"Image":"{IMAGE}","Cmd":["sleep","3600"],"Labels":{{"ecsctl.bench":"{label}"}},"HostConfig":{{"Memory":16777216,"NetworkMode":"bridge"}}}}"#
        );
        let (status, resp) = docker_body(
            "POST",
            &format!("/containers/create?name={label}-api-{i}"),
            &body,
        );
        assert_eq!(status, 201, "{resp}");
        let id = serde_json::from_str::<Value>(&resp).unwrap_or_default()["Id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (status, resp) = docker("POST", &format!("/containers/{id}/start"));
        assert_eq!(status, 204, "{resp}");
    }
    t0.elapsed()
}

/// A compose project of one service of `scale` containers, in its own directory.
struct Compose {
    dir: tempfile::TempDir,
    project: String,
}

impl Compose {
    fn new(project: &str, label: &str, scale: usize, restart: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let restart = if restart { "    restart: always\n" } else { "" };
        let file = format!(
            "version: \"2.4\"\nservices:\n  sleeper:\n    image: {IMAGE}\n    command: [\"sleep\", \"3600\"]\n    network_mode: bridge\n    mem_limit: 16m\n    stop_grace_period: 1s\n    scale: {scale}\n{restart}    labels:\n      ecsctl.bench: \"{label}\"\n"
        );
        std::fs::write(dir.path().join("docker-compose.yml"), file).expect("write compose file");
        Compose {
            dir,
            project: project.to_string(),
        }
    }

    /// Runs `docker-compose ARGS` in the project; panics with its output when it fails.
    fn run(&self, args: &[&str]) -> Duration {
        let t0 = Instant::now();
        let o = Command::new("docker-compose")
            .arg("-p")
            .arg(&self.project)
            .arg("-f")
            .arg(self.dir.path().join("docker-compose.yml"))
            .args(args)
            .output()
            .expect("run docker-compose");
        let took = t0.elapsed();
        assert!(
            o.status.success(),
            "docker-compose {args:?} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        took
    }

    /// Ids of the project's running containers.
    fn running(&self) -> Vec<String> {
        let o = Command::new("docker")
            .args([
                "ps",
                "-q",
                "--no-trunc",
                "--filter",
                &format!("label=com.docker.compose.project={}", self.project),
            ])
            .output()
            .expect("docker ps");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn remove(&self) {
        remove_labelled(&format!("com.docker.compose.project={}", self.project));
    }
}

/// `docker-compose up -d` of `n` containers (returns when compose says they are started).
fn compose_up(n: usize, project: &str, label: &str) -> Duration {
    let c = Compose::new(project, label, n, false);
    let took = c.run(&["up", "-d"]);
    let up = c.running().len();
    c.remove();
    assert_eq!(up, n, "compose started {up} of {n} containers");
    took
}

/// Time from SIGKILL of a container's process to Docker's restart policy having it running
/// again: `restart: always`, `repeat` containers, each crashed once (Docker's restart delay
/// starts at 100 ms and doubles for a container that keeps failing).
fn docker_restart(repeat: usize, project: &str, label: &str) -> Vec<Duration> {
    let c = Compose::new(project, label, repeat, true);
    c.run(&["up", "-d"]);
    let ids = c.running();
    assert_eq!(
        ids.len(),
        repeat,
        "compose started {} of {repeat}",
        ids.len()
    );
    let mut out = Vec::new();
    for id in &ids {
        std::thread::sleep(Duration::from_secs(1));
        let before = inspect(id)["State"]["StartedAt"].clone();
        let pid = container_pid(id);
        let t0 = Instant::now();
        kill9(pid);
        loop {
            let s = inspect(id);
            if s["State"]["Running"] == true
                && s["State"]["Restarting"] == false
                && s["State"]["StartedAt"] != before
            {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "container {id} not restarted in 60 s: {}",
                s["State"]
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        out.push(t0.elapsed());
    }
    c.remove();
    out
}

/// dockerd's CPU with 50 idle compose containers (no ecsctl server), over `secs`.
fn compose_idle(secs: u64, project: &str, label: &str) -> f64 {
    let c = Compose::new(project, label, 50, false);
    c.run(&["up", "-d"]);
    std::thread::sleep(Duration::from_secs(5));
    let dockerd = dockerd_pid();
    let d0 = cpu_ticks(dockerd);
    std::thread::sleep(Duration::from_secs(secs));
    let d1 = cpu_ticks(dockerd);
    c.remove();
    core_pct(d1 - d0, secs)
}

// ---- /proc ----

/// % of one core for `ticks` (USER_HZ = 100) over `secs`.
fn core_pct(ticks: u64, secs: u64) -> f64 {
    ticks as f64 / 100.0 / secs as f64 * 100.0
}

fn dockerd_pid() -> u32 {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "dockerd")
        })
        .expect("no dockerd process")
}

// ---- the table ----

fn median(v: &[Duration]) -> f64 {
    let mut s: Vec<f64> = v.iter().map(Duration::as_secs_f64).collect();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// `1.23 s` or `1.23 s (1.10-1.40)` for several samples.
fn secs_cell(v: &[Duration]) -> String {
    let m = median(v);
    if v.len() < 2 {
        return format!("{m:.2} s");
    }
    let min = v.iter().min().map_or(0.0, Duration::as_secs_f64);
    let max = v.iter().max().map_or(0.0, Duration::as_secs_f64);
    format!("{m:.2} s ({min:.2}-{max:.2})")
}

struct Row {
    metric: String,
    ecsctl: String,
    peer: String,
    ratio: String,
}

fn row(metric: impl Into<String>, ecsctl: String, peer: String, ratio: Option<f64>) -> Row {
    Row {
        metric: metric.into(),
        ecsctl,
        peer,
        ratio: ratio.map_or_else(|| "n/a".to_string(), |r| format!("{r:.2}")),
    }
}

fn main() {
    let repeat = env_or("PEERS_REPEAT", 3).max(1) as usize;
    let idle_secs = env_or("PEERS_IDLE_SECS", 20).max(1);
    let label = format!("peers-{}", std::process::id());
    let project = format!("ecsctlpeers{}", std::process::id());
    let _cleanup = Cleanup(label.clone());
    let (status, _) = docker("GET", "/_ping");
    assert_eq!(status, 200, "the Docker engine does not answer on {DOCKER}");
    assert_eq!(
        docker("GET", &format!("/images/{IMAGE}/json")).0,
        200,
        "image {IMAGE} missing: run scripts/build-images.sh"
    );
    let mut rows = Vec::new();

    // docker-compose's fixed cost per command (Python start-up, reading the file, asking
    // the engine), for reading the apply rows.
    let probe = Compose::new(&format!("{project}probe"), &label, 1, false);
    let compose_fixed: Vec<Duration> = (0..3).map(|_| probe.run(&["ps", "-q"])).collect();

    let sizes: Vec<usize> = std::env::var("PEERS_SIZES")
        .unwrap_or_else(|_| "10,50".to_string())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    for n in sizes {
        let (mut ours, mut comp, mut api) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..repeat {
            eprintln!(
                "[peers] apply -> RUNNING, {n} containers, run {}/{repeat}",
                r + 1
            );
            ours.push(ecsctl_up(n));
            std::thread::sleep(Duration::from_secs(1));
            comp.push(compose_up(n, &project, &label));
            std::thread::sleep(Duration::from_secs(1));
            api.push(docker_api_up(n, &label));
            remove_labelled(&format!("ecsctl.bench={label}"));
            std::thread::sleep(Duration::from_secs(1));
        }
        rows.push(row(
            format!(
                "apply -> all RUNNING, {n} containers; peer: `docker-compose up -d` (scale: {n})"
            ),
            secs_cell(&ours),
            secs_cell(&comp),
            Some(median(&ours) / median(&comp)),
        ));
        rows.push(row(
            format!(
                "apply -> all RUNNING, {n} containers; peer: Docker API create+start, one by one"
            ),
            secs_cell(&ours),
            secs_cell(&api),
            Some(median(&ours) / median(&api)),
        ));
    }

    eprintln!("[peers] failure -> replacement RUNNING");
    let (kills, crashes) = ecsctl_failover(repeat);
    let restarts = docker_restart(repeat, &format!("{project}restart"), &label);
    rows.push(row(
        "failure (`docker kill` of a task's container) -> replacement task RUNNING; peer: none (Docker's restart policy ignores `docker kill`)",
        secs_cell(&kills),
        "n/a".to_string(),
        None,
    ));
    rows.push(row(
        "failure (the container's process SIGKILLed: a crash) -> replacement task RUNNING; peer: compose `restart: always` restarting the same container",
        secs_cell(&crashes),
        secs_cell(&restarts),
        Some(median(&crashes) / median(&restarts)),
    ));

    eprintln!("[peers] rolling update");
    let rolls: Vec<Duration> = (0..repeat).map(|_| ecsctl_rollout()).collect();
    let imposed = (HEALTH_INTERVAL + STOP_TIMEOUT) as f64;
    rows.push(row(
        format!("rolling update of 10 tasks (min 100% / max 200%); peer: the waits its configuration imposes (health check interval {HEALTH_INTERVAL} s + stopTimeout {STOP_TIMEOUT} s; compose has no rolling update)"),
        secs_cell(&rolls),
        format!("{imposed:.2} s"),
        Some(median(&rolls) / imposed),
    ));

    eprintln!("[peers] idle with 50 tasks, {idle_secs} s");
    let idle = ecsctl_idle(idle_secs);
    let engine_alone = compose_idle(idle_secs, &format!("{project}idle"), &label);
    rows.push(row(
        format!(
            "idle CPU with 50 running tasks, over {idle_secs} s; peer: dockerd in the same window"
        ),
        format!("{:.2}% of a core", idle.server_cpu),
        format!("{:.2}% of a core", idle.dockerd_cpu),
        Some(idle.server_cpu / idle.dockerd_cpu),
    ));
    rows.push(row(
        "idle memory (VmRSS) with 50 running tasks; peer: dockerd",
        format!("{:.1} MiB", idle.server_rss),
        format!("{:.1} MiB", idle.dockerd_rss),
        Some(idle.server_rss / idle.dockerd_rss),
    ));
    rows.push(row(
        format!("dockerd CPU with 50 idle containers, over {idle_secs} s: under ecsctl (which reads their stats every 10 s); peer: under compose (nothing beside them)"),
        format!("{:.2}% of a core", idle.dockerd_cpu),
        format!("{:.2}% of a core", engine_alone),
        (engine_alone > 0.0).then(|| idle.dockerd_cpu / engine_alone),
    ));

    println!();
    println!("| metric | ecsctl | peer | ratio (ecsctl / peer) |");
    println!("|---|---:|---:|---:|");
    for r in &rows {
        println!("| {} | {} | {} | {} |", r.metric, r.ecsctl, r.peer, r.ratio);
    }
    println!();
    println!(
        "Medians of {repeat} runs (range in brackets). docker-compose's fixed cost per command (`docker-compose ps -q`, no containers): {}. Same image ({IMAGE}), command (sleep 3600), 16 MiB memory limit and bridge network on every side; no ports.",
        secs_cell(&compose_fixed)
    );
}
