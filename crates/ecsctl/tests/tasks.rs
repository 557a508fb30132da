//! End-to-end tests of tasks on the real Docker engine: the real `ecsctl` binary against a
//! real `ecsctl server` (its own temp ECSCTL_HOME each), with `run-task`, `logs`,
//! `stop-task`, `get -w` and `describe`.
//!
//! Images come from `scripts/build-images.sh` (nothing can be pulled). Every test removes its
//! containers even when it fails: dropping its [`Server`] stops the clients left running and
//! the server, then removes the containers carrying that server's `ecsctl.instance` label, and
//! no others.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{Server, docker, expect_code, stderr, stdout};

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

/// A server on a temp ECSCTL_HOME, whose instance id (the label its containers carry, by
/// which they are removed on drop) is known.
fn server() -> Server {
    let s = Server::start();
    assert!(!s.instance().is_empty(), "empty instance id");
    s
}

/// Runs `ecsctl run-task ... --wait` and returns the one task id it printed.
fn run_task(s: &Server, family: &str) -> String {
    let o = s.run(&[
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
    let s = server();
    s.apply(DUO);
    let id = run_task(&s, "duo");

    // Both containers run, carrying ecsctl's ownership labels (`runtime::labels`).
    let o = docker(&[
        "ps",
        "--filter",
        &format!("label=ecsctl.task={id}"),
        "--format",
        "{{.Label \"ecsctl.container\"}};{{.Labels}}",
    ]);
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
            format!("ecsctl.instance={}", s.instance()),
        ] {
            assert!(line.contains(&label), "{label} missing on {name}: {line}");
        }
    }

    // Status: RUNNING, runtime ids, the web port bound on the host.
    let task = s.task(&id);
    assert_eq!(task["lastStatus"], "RUNNING", "{task:#}");
    assert_eq!(task["taskDefinition"], "duo:1", "{task:#}");
    let containers = task["containers"].as_array().expect("containers");
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
        let o = s.run(&["logs", &id, "-c", "client"]);
        (o.status.success() && stderr(&o).contains("fetched")).then_some(o)
    });
    assert_eq!(stdout(&o), "<h1>ecsctl busybox</h1>\n");
    // What it wrote to stderr (wget's complaints while httpd started, then this) goes there.
    assert!(stderr(&o).ends_with("fetched\n"), "{}", stderr(&o));
    // Without -c, lines of a task with two containers say whose they are.
    let o = s.run(&["logs", &id, "--timestamps"]);
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
    let o = s.run(&["logs", &id, "-c", "db"]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("has no container \"db\": its containers are web, client"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_image_fails_fast_with_task_failed_to_start() {
    let s = server();
    s.apply(MISSING);
    let start = Instant::now();
    let o = s.run(&["run-task", "--task-definition", "missing", "--wait"]);
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
    let o = s.run(&["describe", "task", &id]);
    expect_code(&o, 0);
    let d = stdout(&o);
    assert_eq!(
        describe_field(&d, "Stop Code"),
        Some("TaskFailedToStart"),
        "{d}"
    );
    assert!(d.contains("ecsctl/no-such-image:never"), "{d}");
    let o = s.run(&["logs", &id]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("it has no containers"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn stop_task_waits_until_stopped_and_ends_followed_logs() {
    let s = server();
    s.apply(SLEEPER);
    let id = run_task(&s, "sleeper");
    let follow = s.spawn_lines(&["logs", &id, "-f"]);
    let mut seen = Vec::new();
    line_matching(&follow, Duration::from_secs(10), &mut seen, |l| {
        l == "hello from app"
    });

    let o = s.run(&[
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
    let task = s.task(&id);
    assert_eq!(task["lastStatus"], "STOPPED", "{task:#}");
    assert_eq!(task["stopCode"], "UserInitiated", "{task:#}");
    assert_eq!(task["stoppedReason"], "test is over", "{task:#}");

    let o = s.run(&["describe", "task", &id]);
    expect_code(&o, 0);
    let d = stdout(&o);
    assert_eq!(
        describe_field(&d, "Stop Code"),
        Some("UserInitiated"),
        "{d}"
    );
    assert_eq!(
        describe_field(&d, "Stopped Reason"),
        Some("test is over"),
        "{d}"
    );
    assert!(d.contains("EXIT CODE"), "{d}");

    // Nothing of the task runs any more, and the followed logs ended with it.
    let o = docker(&["ps", "-q", "--filter", &format!("label=ecsctl.task={id}")]);
    assert_eq!(stdout(&o).trim(), "", "containers still running");
    eventually(Duration::from_secs(5), "logs -f to end", || {
        match follow.recv_timeout(Duration::from_millis(100)) {
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(()),
            _ => None,
        }
    });

    // A second stop changes nothing.
    let o = s.run(&["stop-task", &id, "--reason", "again"]);
    expect_code(&o, 0);
    assert_eq!(stdout(&o), format!("task/{id} already stopped\n"));
    assert_eq!(s.task(&id)["stoppedReason"], "test is over");
    let o = s.run(&["stop-task", "0123456789abcdef0123456789abcdef"]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
}

#[test]
fn get_tasks_watch_prints_row_changes() {
    let s = server();
    s.apply(SLEEPER);
    let rows = s.spawn_lines(&["get", "tasks", "-w"]);
    // Give the watch a moment to start; it misses nothing either way (it starts at the
    // revision of its listing).
    std::thread::sleep(Duration::from_millis(300));
    let id = run_task(&s, "sleeper");
    let mut seen = Vec::new();
    let header = line_matching(&rows, Duration::from_secs(10), &mut seen, |l| {
        l.starts_with("ID ")
    });
    assert!(header.contains("LAST STATUS"), "{header}");
    let col = header.find("LAST STATUS").expect("column");
    line_matching(&rows, Duration::from_secs(10), &mut seen, |l| {
        l.starts_with(&id) && l.get(col..).is_some_and(|s| s.starts_with("RUNNING"))
    });

    let o = s.run(&["stop-task", &id, "--wait", "--timeout", "20s"]);
    expect_code(&o, 0);
    line_matching(&rows, Duration::from_secs(10), &mut seen, |l| {
        l.starts_with(&id) && l.get(col..).is_some_and(|s| s.starts_with("STOPPED"))
    });

    let o = s.run(&["delete", "task", &id]);
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

/// The value of a `Name:   value` line of `ecsctl describe` output (labels are padded to
/// the widest one, so the spacing is not part of the answer).
fn describe_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}
