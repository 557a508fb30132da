//! End-to-end tests: the real `ecsctl` binary against a real `ecsctl server` on a temp data dir.
//!
//! Services here ask for 0 tasks, so no container is ever started: these tests exercise the CLI,
//! the HTTP API and the store, not Docker.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ecsctl");

const TD: &str = "\
apiVersion: ecs/v1
kind: TaskDefinition
metadata:
  name: web
spec:
  containerDefinitions:
    - name: web
      image: nginx:1.25
      memory: 128
      portMappings:
        - containerPort: 80
";

const SVC: &str = "\
apiVersion: ecs/v1
kind: Service
metadata:
  name: web
  labels:
    team: shop
spec:
  taskDefinition: web
  desiredCount: 0
";

/// A temp dir with `ECSCTL_HOME` pointing into it, and (maybe) a server on its socket.
/// Dropping it kills the server.
struct Env {
    dir: tempfile::TempDir,
    server: Option<Child>,
}

impl Env {
    /// No server: for offline commands and "server not running".
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
            server: None,
        }
    }

    /// A running server, ready to answer.
    fn with_server() -> Self {
        let mut env = Env::new();
        env.start_server(&[]);
        env.wait_ready(&[]);
        env
    }

    /// Starts `ecsctl server ARGS...` (not waiting for it).
    fn start_server(&mut self, args: &[&str]) {
        let env = self;
        let log = fs::File::create(env.path().join("server.log")).expect("log file");
        let child = Command::new(BIN)
            .arg("server")
            .args(args)
            .env("ECSCTL_HOME", env.home())
            .env_remove("ECSCTL_SERVER")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn ecsctl server");
        env.server = Some(child);
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    /// Waits until `ecsctl get clusters CLIENT_ARGS...` succeeds.
    fn wait_ready(&mut self, client_args: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut args = vec!["get", "clusters"];
        args.extend(client_args);
        loop {
            if let Some(status) = self
                .server
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("server exited early ({status}):\n{}", self.server_log());
            }
            if self.run(&args).status.success() {
                return;
            }
            if Instant::now() > deadline {
                let o = self.run(&args);
                panic!(
                    "server did not become ready in 30s: {}\nserver log:\n{}",
                    stderr(&o),
                    self.server_log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn server_log(&self) -> String {
        fs::read_to_string(self.path().join("server.log")).unwrap_or_default()
    }

    /// Writes a file under the temp dir and returns its path as text.
    fn write(&self, rel: &str, text: &str) -> String {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, text).expect("write");
        p.display().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, "")
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(BIN)
            .args(args)
            .env("ECSCTL_HOME", self.home())
            .env_remove("ECSCTL_SERVER")
            .env_remove("ECSCTL_TOKEN_FILE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ecsctl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin");
        child.wait_with_output().expect("ecsctl output")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing both streams when it is not the expected one.
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

#[test]
fn apply_creates_then_is_unchanged_then_configures() {
    let env = Env::with_server();
    let dir = env.path().join("m").display().to_string();
    env.write("m/td.yaml", TD);
    env.write("m/svc.yaml", SVC);

    let o = env.run(&["apply", "-f", &dir]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("taskdefinition/web:1 created\n"), "{out}");
    assert!(out.contains("service/web created\n"), "{out}");

    let o = env.run(&["apply", "-f", &dir]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("taskdefinition/web") && l.ends_with(" unchanged")),
        "{out}"
    );
    assert!(out.contains("service/web unchanged\n"), "{out}");

    // A new image makes revision 2; a new desired count configures the service.
    env.write("m/td.yaml", &TD.replace("nginx:1.25", "nginx:1.27"));
    env.write(
        "m/svc.yaml",
        &SVC.replace(
            "desiredCount: 0",
            "desiredCount: 0\n  healthCheckGracePeriodSeconds: 30",
        ),
    );
    let o = env.run(&["apply", "-f", &dir, "--dry-run"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("service/web configured (dry run)\n"),
        "{}",
        stdout(&o)
    );
    let o = env.run(&["apply", "-f", &dir]);
    expect_code(&o, 0);
    let out = stdout(&o);
    // A new revision of an existing family reads as `configured`, named by its new revision.
    assert!(out.contains("taskdefinition/web:2 configured\n"), "{out}");
    assert!(out.contains("service/web configured\n"), "{out}");

    // Every revision is listed.
    let o = env.run(&["get", "td"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("NAME    CONTAINERS   CPU   MEMORY   NETWORK MODE   AGE"),
        "{out}"
    );
    assert!(lines.iter().any(|l| l.starts_with("web:1 ")), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("web:2 ")), "{out}");

    let o = env.run(&["get", "taskdefinitions", "-o", "json"]);
    expect_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2), "{v}");

    let o = env.run(&["get", "svc", "web", "-o", "yaml"]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("kind: Service"), "{}", stdout(&o));

    let o = env.run(&["get", "svc", "-l", "team=shop"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o)
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("web ")),
        "{}",
        stdout(&o)
    );
    let o = env.run(&["get", "svc", "-l", "team=other"]);
    expect_code(&o, 0);
    assert_eq!(stderr(&o), "No services found in cluster default.\n");

    let o = env.run(&["describe", "td", "web"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(
        out.contains("Name:") && out.contains("web:2") && out.contains("nginx:1.27"),
        "{out}"
    );
}

#[test]
fn apply_from_stdin() {
    let env = Env::with_server();
    let o = env.run_stdin(&["apply", "-f", "-"], &format!("{TD}---\n{SVC}"));
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("service/web created\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn one_bad_file_in_a_directory_applies_nothing() {
    let env = Env::with_server();
    let dir = env.path().join("m").display().to_string();
    env.write("m/a-td.yaml", TD);
    env.write(
        "m/b-svc.yaml",
        &SVC.replace("desiredCount: 0", "desiredCount: 0\n  bogusField: 1"),
    );
    let o = env.run(&["apply", "-f", &dir]);
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("b-svc.yaml:"), "{err}");
    assert!(err.contains("bogusField"), "{err}");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));

    let o = env.run(&["get", "td"]);
    expect_code(&o, 0);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert_eq!(stderr(&o), "No taskdefinitions found.\n");
}

#[test]
fn diff_exit_codes() {
    let env = Env::with_server();
    let td = env.write("td.yaml", TD);
    // Nothing live yet: everything is new.
    let o = env.run(&["diff", "-f", &td]);
    expect_code(&o, 1);
    assert!(
        stdout(&o).starts_with("--- live/taskdefinition/web\n+++ local/taskdefinition/web\n"),
        "{}",
        stdout(&o)
    );

    expect_code(&env.run(&["apply", "-f", &td]), 0);
    let o = env.run(&["diff", "-f", &td]);
    expect_code(&o, 0);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));

    env.write("td.yaml", &TD.replace("memory: 128", "memory: 256"));
    let o = env.run(&["diff", "-f", &td]);
    expect_code(&o, 1);
    let out = stdout(&o);
    assert!(
        out.contains("-      memory: 128") || out.contains("-    memory: 128"),
        "{out}"
    );
    assert!(
        out.contains("+      memory: 256") || out.contains("+    memory: 256"),
        "{out}"
    );

    let bad = env.write(
        "bad.yaml",
        "kind: Service\nmetadata: {name: x}\nspec: {nope: 1}\n",
    );
    expect_code(&env.run(&["diff", "-f", &bad]), 2);
}

#[test]
fn delete_by_name_and_by_file() {
    let env = Env::with_server();
    let td = env.write("td.yaml", TD);
    let svc = env.write("svc.yaml", SVC);
    expect_code(&env.run(&["apply", "-f", &td, "-f", &svc]), 0);

    let o = env.run(&["delete", "service", "web"]);
    expect_code(&o, 0);
    assert_eq!(stdout(&o), "service/web deleted\n");

    let o = env.run(&["delete", "svc", "web"]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("service/web not found"),
        "{}",
        stderr(&o)
    );
    expect_code(&env.run(&["delete", "svc", "web", "--ignore-not-found"]), 0);

    let o = env.run(&["delete", "-f", &td]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("taskdefinition/web"), "{}", stdout(&o));
    assert!(stdout(&o).contains(" deleted"), "{}", stdout(&o));
    let o = env.run(&["get", "td"]);
    assert_eq!(stderr(&o), "No taskdefinitions found.\n");
}

#[test]
fn server_not_running_is_one_clear_line() {
    let env = Env::new();
    let o = env.run(&["get", "services"]);
    expect_code(&o, 1);
    let err = stderr(&o);
    let sock = env.home().join("ecsctl.sock");
    assert!(
        err.starts_with(&format!(
            "error: cannot reach the ecsctl server at unix:{}: is `ecsctl server` running? (",
            sock.display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // A stale socket file (a server that died) reads "connection refused".
    fs::create_dir_all(env.home()).expect("mkdir");
    drop(std::os::unix::net::UnixListener::bind(&sock).expect("bind"));
    let err = stderr(&env.run(&["get", "services"]));
    assert!(
        err.ends_with("is `ecsctl server` running? (connection refused)\n"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    let o = env.run(&["get", "pods"]);
    expect_code(&o, 2);
    assert!(
        stderr(&o).contains("unknown kind \"pods\""),
        "{}",
        stderr(&o)
    );
    expect_code(&env.run(&["apply"]), 2);
    expect_code(&env.run(&["get", "svc", "--server", "http://x:1"]), 2);
    expect_code(
        &env.run(&["get", "svc", "--server", "tcp://127.0.0.1:1"]),
        2,
    );
    let o = env.run(&["server", "--listen", "tcp://127.0.0.1:0"]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("--token-file"), "{}", stderr(&o));
}

#[test]
fn validate_is_offline() {
    let env = Env::new();
    env.write("m/td.yaml", TD);
    env.write("m/svc.yaml", SVC);
    env.write("m/.hidden/broken.yaml", "this: [is not valid");
    env.write("m/notes.txt", "not a manifest");
    let dir = env.path().join("m").display().to_string();
    let o = env.run(&["validate", "-f", &dir]);
    expect_code(&o, 0);
    assert_eq!(stdout(&o), "2 documents valid\n");

    let bad = env.write("m/zz.yaml", "apiVersion: ecs/v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  taskDefinition: web\n  desiredCount: -1\n");
    let o = env.run(&["validate", "-f", &dir]);
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.lines().any(|l| l.starts_with(&format!("{bad}:7:"))),
        "{err}"
    );

    let bin = env.path().join("m/bin.yaml");
    fs::write(&bin, b"kind: \xff\n").expect("write");
    let o = env.run(&["validate", "-f", &bin.display().to_string()]);
    expect_code(&o, 2);
    assert!(
        stderr(&o).contains(&format!(
            "{}: not a text file (invalid UTF-8 at byte 6)",
            bin.display()
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn schema_out_and_check() {
    let env = Env::new();
    let out = env.path().join("schemas");
    let out_s = out.display().to_string();
    expect_code(&env.run(&["schema", "--out", &out_s]), 0);
    assert!(out.join("all.json").exists());
    expect_code(&env.run(&["schema", "--check", &out_s]), 0);

    let o = env.run(&["schema"]);
    expect_code(&o, 0);
    assert_eq!(
        stdout(&o),
        fs::read_to_string(out.join("all.json")).expect("all.json")
    );

    fs::write(out.join("all.json"), "{}\n").expect("write");
    let o = env.run(&["schema", "--check", &out_s]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains(&format!("stale: {out_s}/all.json")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_command_has_examples() {
    let env = Env::new();
    for cmd in [
        "server", "apply", "get", "describe", "delete", "diff", "validate", "schema", "scale",
        "rollout", "events",
    ] {
        let o = env.run(&[cmd, "--help"]);
        expect_code(&o, 0);
        assert!(stdout(&o).contains("EXAMPLES:"), "{cmd}: {}", stdout(&o));
    }
    for sub in ["status", "history", "undo", "restart"] {
        let o = env.run(&["rollout", sub, "--help"]);
        expect_code(&o, 0);
        assert!(
            stdout(&o).contains("EXAMPLES:"),
            "rollout {sub}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn scale_and_rollout_name_a_service() {
    let env = Env::new();
    for args in [
        &["scale", "web", "--replicas", "2"][..],
        &["scale", "task/abc", "--replicas", "2"],
        &["scale", "service", "web"],
        &["scale", "service/web", "--replicas", "-1"],
        &["rollout", "status", "web"],
        &["rollout", "undo", "service/web", "--to-revision", "0"],
        &["rollout", "history"],
        &["events", "-A", "--cluster", "prod"],
    ] {
        let o = env.run(args);
        expect_code(&o, 2);
    }
}

#[test]
fn tcp_needs_the_token() {
    let mut env = Env::new();
    let token = env.write("token", "s3cret\n");
    let wrong = env.write("wrong", "nope\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("tcp://127.0.0.1:{port}");
    env.start_server(&["--listen", &addr, "--token-file", &token]);
    env.wait_ready(&["--server", &addr, "--token-file", &token]);

    let o = env.run(&["get", "clusters", "--server", &addr, "--token-file", &token]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("default"), "{}", stdout(&o));
    let o = env.run(&["get", "clusters", "--server", &addr, "--token-file", &wrong]);
    expect_code(&o, 1);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = env.run(&["get", "clusters", "--server", &addr]);
    expect_code(&o, 2);
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut env = Env::with_server();
    let pid = env.server.as_ref().map(Child::id).expect("server");
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut child = env.server.take().expect("server");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not stop on SIGTERM:\n{}", env.server_log());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}:\n{}", env.server_log());
    assert!(
        !env.home().join("ecsctl.sock").exists(),
        "the socket file is removed"
    );
    let o = env.run(&["get", "svc"]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains("is `ecsctl server` running?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn describe_and_get_of_missing_objects_fail() {
    let env = Env::with_server();
    let o = env.run(&["describe", "service", "nope"]);
    expect_code(&o, 1);
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
    expect_code(&env.run(&["get", "td", "nope:3"]), 1);
    let o = env.run(&["describe", "cluster", "default"]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).starts_with("Name:             default\nKind:             Cluster\n"),
        "{}",
        stdout(&o)
    );
}

/// Every corpus file that validates also applies through the real binary and server, one
/// `ecsctl apply -f FILE` each; the rejected ones change nothing.
#[test]
fn accepted_corpus_files_apply() {
    let env = Env::with_server();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/ecs");
    let mut files: Vec<PathBuf> = ["taskdefs", "services"]
        .iter()
        .flat_map(|d| {
            fs::read_dir(corpus.join(d))
                .expect("corpus")
                .flatten()
                .map(|e| e.path())
        })
        .collect();
    files.sort();
    let (mut applied, mut rejected) = (0, 0);
    for f in &files {
        let f = f.display().to_string();
        let valid = env.run(&["validate", "-f", &f]).status.success();
        let o = env.run(&["apply", "-f", &f]);
        if valid {
            expect_code(&o, 0);
            assert!(
                stdout(&o).contains(" created") || stdout(&o).contains(" configured"),
                "{f}: {}",
                stdout(&o)
            );
            applied += 1;
        } else {
            expect_code(&o, 2);
            rejected += 1;
        }
    }
    assert_eq!((applied, rejected), (63, 36));
    // Two wildfly files share a family: the second applied is revision 2 of it.
    let o = env.run(&["get", "td", "wildfly:2"]);
    expect_code(&o, 0);
    let o = env.run(&["get", "svc", "-A", "-o", "json"]);
    let items: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(
        items["items"].as_array().map(Vec::len),
        Some(4),
        "{}",
        stdout(&o)
    );
}
