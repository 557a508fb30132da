//! End-to-end tests of tasks on the real Docker engine: the real `ecsctl` binary against a
//! real `ecsctl server` (its own temp ECSCTL_HOME each), with `run-task`, `logs`,
//! `stop-task`, `get -w` and `describe`.
//!
//! Images come from `scripts/build-images.sh` (nothing can be pulled). Every test removes its
//! containers even when it fails: dropping [`Env`] stops the server, then removes the
//! containers carrying that server's `ecsctl.instance` label, and no others.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ecsctl");

/// Two containers sharing an awsvpc network namespace: a web server, and a client that
/// fetches its page over localhost and then stays up.
const DUO: &str = "\
apiVersion: ecs/v1
kind: TaskDefinition
metadata:
  name: duo
spec:
  networkMode: awsvpc
  memory: \"256\"
  containerDefinitions:
    - name: web
      image: ecsctl/busybox:local
      command: [httpd, -f, -p, \"8080\", -h, /www]
      stopTimeout: 1
      portMappings:
        - containerPort: 8080
    - name: client
      image: ecsctl/busybox:local
      command: [sh, -c, \"until wget -q -O - http://127.0.0.1:8080/; do sleep 0.2; done; echo fetched >&2; exec sleep 3600\"]
      stopTimeout: 1
";

/// One container that says hello and sleeps (stops within a second).
const SLEEPER: &str = "\
apiVersion: ecs/v1
kind: TaskDefinition
metadata:
  name: sleeper
spec:
  containerDefinitions:
    - name: app
      image: ecsctl/busybox:local
      command: [sh, -c, \"echo hello from app; exec sleep 3600\"]
      memory: 64
      stopTimeout: 1
";

/// A task definition whose image is not on this machine.
const MISSING: &str = "\
apiVersion: ecs/v1
kind: TaskDefinition
metadata:
  name: missing
spec:
  containerDefinitions:
    - name: app
      image: ecsctl/no-such-image:never
      memory: 64
";

/// Builds the test image once per test binary.
fn images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-images.sh");
        let o = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run scripts/build-images.sh");
        assert!(
            o.status.success(),
            "{} failed:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    });
}

/// A server on a temp ECSCTL_HOME. Dropping it kills the server and removes its containers.
struct Env {
    dir: tempfile::TempDir,
    server: Option<Child>,
    /// The server's `ecsctl.instance` (DATA_DIR/instance-id).
    instance: Option<String>,
    /// Clients left running (`logs -f`, `get -w`), killed on drop.
    children: Mutex<Vec<Child>>,
}

impl Env {
    fn start() -> Env {
        images();
        let dir = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let server = Command::new(BIN)
            .arg("server")
            .env("ECSCTL_HOME", dir.path().join("home"))
            .env_remove("ECSCTL_SERVER")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn ecsctl server");
        let mut env = Env {
            dir,
            server: Some(server),
            instance: None,
            children: Mutex::new(Vec::new()),
        };
        env.wait_ready();
        let id = std::fs::read_to_string(env.home().join("instance-id")).expect("instance-id");
        assert!(!id.trim().is_empty(), "empty instance id");
        env.instance = Some(id.trim().to_string());
        env
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self
                .server
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("server exited early ({status}):\n{}", self.server_log());
            }
            if self.run(&["get", "clusters"]).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server not ready in 30s:\n{}",
                self.server_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("ECSCTL_HOME", self.home())
            .env_remove("ECSCTL_SERVER")
            .env_remove("ECSCTL_TOKEN_FILE")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run ecsctl")
    }

    /// `ecsctl apply -f -` of one manifest.
    fn apply(&self, manifest: &str) {
        let path = self.dir.path().join("manifest.yaml");
        std::fs::write(&path, manifest).expect("write manifest");
        let o = self.run(&["apply", "-f", path.to_str().expect("utf-8 path")]);
        expect_code(&o, 0);
    }

    /// A client left running; its stdout lines arrive on the channel.
    fn spawn_lines(&self, args: &[&str]) -> mpsc::Receiver<String> {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ecsctl");
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.children.lock().expect("children").push(child);
        rx
    }

    /// Runs `ecsctl run-task ... --wait` and returns the one task id it printed.
    fn run_task(&self, family: &str) -> String {
        let o = self.run(&[
            "run-task",
            "--task-definition",
            family,
            "--wait",
            "--timeout",
            "30s",
        ]);
        expect_code(&o, 0);
        let id = stdout(&o).trim().to_string();
        assert!(is_task_id(&id), "not a task id: {id:?}");
        id
    }

    fn task_json(&self, id: &str) -> serde_json::Value {
        let o = self.run(&["get", "task", id, "-o", "json"]);
        expect_code(&o, 0);
        serde_json::from_slice(&o.stdout).expect("task JSON")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for c in self
            .children
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default()
        {
            let mut c = c;
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        // Only this server's containers: other tests and servers share the engine.
        if let Some(instance) = &self.instance {
            let filter = format!("label=ecsctl.instance={instance}");
            if let Ok(o) = Command::new("docker")
                .args(["ps", "-aq", "--filter", &filter])
                .output()
            {
                let ids: Vec<String> = String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                if !ids.is_empty() {
                    let _ = Command::new("docker")
                        .args(["rm", "-f"])
                        .args(&ids)
                        .output();
                }
            }
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn expect_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

fn is_task_id(s: &str) -> bool {
    s.len() == 32
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// Polls `f` until it returns `Some`, for up to `within`.
#[track_caller]
fn eventually<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads lines from `rx` until one satisfies `pred`, for up to `within`.
#[track_caller]
fn line_matching(
    rx: &mpsc::Receiver<String>,
    within: Duration,
    seen: &mut Vec<String>,
    pred: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if pred(&line) {
                    return line;
                }
            }
            Err(_) => panic!(
                "no matching line within {within:?}; got:\n{}",
                seen.join("\n")
            ),
        }
    }
}

#[test]
fn two_container_awsvpc_task_runs_and_talks_over_localhost() {
    let env = Env::start();
    env.apply(DUO);
    let id = env.run_task("duo");

    // Both containers run, carrying the labels of DESIGN.md.
    let o = Command::new("docker")
        .args([
            "ps",
            "--filter",
            &format!("label=ecsctl.task={id}"),
            "--format",
            "{{.Label \"ecsctl.container\"}};{{.Labels}}",
        ])
        .output()
        .expect("docker ps");
    let ps = stdout(&o);
    for name in ["web", "client"] {
        let line = ps
            .lines()
            .find(|l| l.starts_with(&format!("{name};")))
            .unwrap_or_else(|| panic!("no running {name} container:\n{ps}"));
        for label in [
            "ecsctl.managed=true".to_string(),
            "ecsctl.cluster=default".to_string(),
            format!("ecsctl.task={id}"),
            format!("ecsctl.container={name}"),
            "ecsctl.taskdef=duo:1".to_string(),
            format!("ecsctl.instance={}", env.instance.as_deref().unwrap_or("")),
        ] {
            assert!(line.contains(&label), "{label} missing on {name}: {line}");
        }
    }

    // Status: RUNNING, runtime ids, the web port bound on the host.
    let task = env.task_json(&id);
    assert_eq!(task["status"]["lastStatus"], "RUNNING", "{task:#}");
    assert_eq!(task["status"]["taskDefinition"], "duo:1", "{task:#}");
    let containers = task["status"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 2, "{task:#}");
    for c in containers {
        assert_eq!(c["lastStatus"], "RUNNING", "{task:#}");
        let rid = c["runtimeId"].as_str().unwrap_or("");
        assert_eq!(rid.len(), 64, "runtimeId of {}: {task:#}", c["name"]);
    }
    let web = containers
        .iter()
        .find(|c| c["name"] == "web")
        .expect("web status");
    let binding = &web["networkBindings"][0];
    assert_eq!(binding["containerPort"], 8080, "{task:#}");
    let host_port = binding["hostPort"].as_u64().expect("hostPort");
    assert!(host_port > 0, "{task:#}");

    // The published port answers from the host too.
    let host_ip = binding["hostIp"].as_str().unwrap_or("127.0.0.1");
    let page = eventually(Duration::from_secs(5), "the web page on the host", || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect((host_ip, host_port as u16)).ok()?;
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        body.contains("ecsctl busybox").then_some(body)
    });
    assert!(page.starts_with("HTTP/1."), "{page}");

    // The client fetched the page over localhost: its logs show it.
    let o = eventually(Duration::from_secs(10), "the client's logs", || {
        let o = env.run(&["logs", &id, "-c", "client"]);
        (o.status.success() && stderr(&o).contains("fetched")).then_some(o)
    });
    assert_eq!(stdout(&o), "<h1>ecsctl busybox</h1>\n");
    // What it wrote to stderr (wget's complaints while httpd started, then this) goes there.
    assert!(stderr(&o).ends_with("fetched\n"), "{}", stderr(&o));
    // Without -c, lines of a task with two containers say whose they are.
    let o = env.run(&["logs", &id, "--timestamps"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("[client] "))
        .unwrap_or_else(|| panic!("no [client] line:\n{out}"));
    assert!(line.ends_with(" <h1>ecsctl busybox</h1>"), "{line}");
    assert!(
        line["[client] ".len()..].starts_with("20"),
        "no timestamp: {line}"
    );
    assert!(stderr(&o).contains("[client] "), "{}", stderr(&o));
    // A container that is not there is named as such.
    let o = env.run(&["logs", &id, "-c", "db"]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("has no container \"db\": its containers are web, client"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_image_fails_fast_with_task_failed_to_start() {
    let env = Env::start();
    env.apply(MISSING);
    let start = Instant::now();
    let o = env.run(&["run-task", "--task-definition", "missing", "--wait"]);
    let took = start.elapsed();
    expect_code(&o, 1);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let id = stdout(&o).trim().to_string();
    assert!(is_task_id(&id), "{id:?}");
    let err = stderr(&o);
    assert!(
        err.contains(&format!("task {id} stopped: TaskFailedToStart: ")),
        "{err}"
    );
    assert!(err.contains("ecsctl/no-such-image:never"), "{err}");

    // describe says why, and logs explain there is nothing to show.
    let o = env.run(&["describe", "task", &id]);
    expect_code(&o, 0);
    let d = stdout(&o);
    assert!(d.contains("Stop Code:        TaskFailedToStart"), "{d}");
    assert!(d.contains("ecsctl/no-such-image:never"), "{d}");
    let o = env.run(&["logs", &id]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("it has no containers"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn stop_task_waits_until_stopped_and_ends_followed_logs() {
    let env = Env::start();
    env.apply(SLEEPER);
    let id = env.run_task("sleeper");
    let follow = env.spawn_lines(&["logs", &id, "-f"]);
    let mut seen = Vec::new();
    line_matching(&follow, Duration::from_secs(10), &mut seen, |l| {
        l == "hello from app"
    });

    let o = env.run(&[
        "stop-task",
        &id,
        "--reason",
        "test is over",
        "--wait",
        "--timeout",
        "20s",
    ]);
    expect_code(&o, 0);
    assert_eq!(
        stdout(&o),
        format!("task/{id} stopping\ntask/{id} stopped\n")
    );
    let task = env.task_json(&id);
    assert_eq!(task["status"]["lastStatus"], "STOPPED", "{task:#}");
    assert_eq!(task["status"]["stopCode"], "UserInitiated", "{task:#}");
    assert_eq!(task["status"]["stoppedReason"], "test is over", "{task:#}");

    let o = env.run(&["describe", "task", &id]);
    expect_code(&o, 0);
    let d = stdout(&o);
    assert!(d.contains("Stop Code:        UserInitiated"), "{d}");
    assert!(d.contains("Stopped Reason:   test is over"), "{d}");
    assert!(d.contains("EXIT CODE"), "{d}");

    // Nothing of the task runs any more, and the followed logs ended with it.
    let o = Command::new("docker")
        .args(["ps", "-q", "--filter", &format!("label=ecsctl.task={id}")])
        .output()
        .expect("docker ps");
    assert_eq!(stdout(&o).trim(), "", "containers still running");
    eventually(Duration::from_secs(5), "logs -f to end", || {
        match follow.recv_timeout(Duration::from_millis(100)) {
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(()),
            _ => None,
        }
    });

    // A second stop changes nothing.
    let o = env.run(&["stop-task", &id, "--reason", "again"]);
    expect_code(&o, 0);
    assert_eq!(stdout(&o), format!("task/{id} already stopped\n"));
    assert_eq!(
        env.task_json(&id)["status"]["stoppedReason"],
        "test is over"
    );
    let o = env.run(&["stop-task", "0123456789abcdef0123456789abcdef"]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
}

#[test]
fn get_tasks_watch_prints_row_changes() {
    let env = Env::start();
    env.apply(SLEEPER);
    let rows = env.spawn_lines(&["get", "tasks", "-w"]);
    // Give the watch a moment to start; it misses nothing either way (it starts at the
    // revision of its listing).
    std::thread::sleep(Duration::from_millis(300));
    let id = env.run_task("sleeper");
    let mut seen = Vec::new();
    let header = line_matching(&rows, Duration::from_secs(10), &mut seen, |l| {
        l.starts_with("ID ")
    });
    assert!(header.contains("LAST STATUS"), "{header}");
    let col = header.find("LAST STATUS").expect("column");
    line_matching(&rows, Duration::from_secs(10), &mut seen, |l| {
        l.starts_with(&id) && l.get(col..).is_some_and(|s| s.starts_with("RUNNING"))
    });

    let o = env.run(&["stop-task", &id, "--wait", "--timeout", "20s"]);
    expect_code(&o, 0);
    line_matching(&rows, Duration::from_secs(10), &mut seen, |l| {
        l.starts_with(&id) && l.get(col..).is_some_and(|s| s.starts_with("STOPPED"))
    });

    let o = env.run(&["delete", "task", &id]);
    expect_code(&o, 0);
    line_matching(&rows, Duration::from_secs(10), &mut seen, |l| {
        l.starts_with(&id) && l.ends_with("(deleted)")
    });
    // Only task rows: the task definition applied before never shows.
    assert!(
        seen.iter()
            .all(|l| l.starts_with("ID ") || l.starts_with(&id)),
        "{}",
        seen.join("\n")
    );
}
