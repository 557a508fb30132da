//! Several servers behind one `--server URL,URL...` (issue 17), through the real binary: the
//! CLI and the agent use the server they reached last and move on to the next one when it
//! cannot be reached. The servers here are independent (each its own sled store, no local
//! agent, so no Docker): enough to show the transport's failover, which does not care what
//! the servers share.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{BIN, Server, expect_code, stderr, stdout};

/// How long a client may take to get past a dead server and show what the next one said.
const WITHIN: Duration = Duration::from_secs(30);

/// The tokens of a control plane: one admin and one agent of the `default` cluster, in
/// files of a directory of their own (each server keeps its own temp dir).
struct Tokens {
    _dir: tempfile::TempDir,
    file: String,
    admin: String,
    agent: String,
}

impl Tokens {
    fn new() -> Tokens {
        let dir = tempfile::tempdir().unwrap();
        let admin_token = format!("admin-{}", uuid::Uuid::new_v4().simple());
        let agent_token = format!("agent-{}", uuid::Uuid::new_v4().simple());
        let file = dir.path().join("tokens");
        fs::write(
            &file,
            format!("{admin_token} admin\n{agent_token} agent default\n"),
        )
        .unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        let write = |name: &str, token: &str| {
            let p = dir.path().join(name);
            fs::write(&p, format!("{token}\n")).unwrap();
            p.display().to_string()
        };
        let admin = write("admin.token", &admin_token);
        let agent = write("agent.token", &agent_token);
        Tokens {
            file: file.display().to_string(),
            admin,
            agent,
            _dir: dir,
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// An address where nothing listens: connection refused.
fn refused() -> String {
    format!("tcp://127.0.0.1:{}", free_port())
}

/// `ecsctl server` on TCP loopback with the shared tokens and no local agent; its URL.
fn server(tokens: &Tokens) -> (Server, String) {
    let mut s = Server::offline();
    let url = format!("tcp://127.0.0.1:{}", free_port());
    s.serve(
        &[
            "--listen",
            &url,
            "--tokens",
            &tokens.file,
            "--no-local-agent",
        ],
        &["--server", &url, "--token-file", &tokens.admin],
    );
    (s, url)
}

/// A listener that accepts each connection, reads the request and closes the connection
/// without a word (a server that dies with the request in flight); counts the connections.
struct Closing {
    url: String,
    accepted: Arc<AtomicUsize>,
}

impl Closing {
    fn start() -> Closing {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("tcp://{}", l.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        // The thread ends with the test binary; it holds nothing else.
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
            }
        });
        Closing { url, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A client command left running; killed on drop. Its stdout lines arrive on `lines`, its
/// stderr goes to a file.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: PathBuf,
}

impl Running {
    fn spawn(mut cmd: Command, stderr: PathBuf) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr,
        }
    }

    /// Waits for a stdout line containing `text`; panics with stderr when none comes.
    fn expect_line(&self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no line with {text:?} within {within:?}; stderr:\n{}",
                    self.stderr()
                ),
            }
        }
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {within:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ecsctl ARGS...` with no server from the environment (the args name it).
fn ecsctl(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("ECSCTL_HOME", home)
        .env_remove("ECSCTL_SERVER")
        .env_remove("ECSCTL_TOKEN_FILE");
    c
}

fn run(home: &Path, args: &[&str]) -> std::process::Output {
    ecsctl(home, args).stdin(Stdio::null()).output().unwrap()
}

fn apply(home: &Path, url: &str, token: &str, yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.yaml");
    fs::write(&file, yaml).unwrap();
    let o = run(
        home,
        &[
            "--server",
            url,
            "--token-file",
            token,
            "apply",
            "-f",
            &file.display().to_string(),
        ],
    );
    expect_code(&o, 0);
}

fn cluster(name: &str) -> String {
    format!("apiVersion: ecs/v1\nkind: Cluster\nmetadata: {{name: {name}}}\nspec: {{}}\n")
}

#[test]
fn a_dead_server_first_is_passed_over_and_the_live_one_kept() {
    let tokens = Tokens::new();
    let (live, url) = server(&tokens);
    let home = live.home();
    let closing = Closing::start();
    let dead = refused();

    // Refused, then closed without an answer, then the live one.
    let servers = format!("{dead},{},{url}", closing.url);
    let o = run(
        &home,
        &[
            "--server",
            &servers,
            "--token-file",
            &tokens.admin,
            "get",
            "clusters",
        ],
    );
    expect_code(&o, 0);
    assert!(stdout(&o).contains("default"), "{}", stdout(&o));
    assert_eq!(closing.accepted(), 1);

    // `events` makes two requests (services, then syncs): only the first goes to the
    // server that does not answer; the second goes straight to the one that did.
    let servers = format!("{},{url}", closing.url);
    let o = run(
        &home,
        &[
            "--server",
            &servers,
            "--token-file",
            &tokens.admin,
            "events",
        ],
    );
    expect_code(&o, 0);
    assert_eq!(stdout(&o), "No events in cluster default.\n");
    assert_eq!(closing.accepted(), 2);

    // The environment variable and a repeated flag say the same.
    let o = ecsctl(&home, &["get", "clusters"])
        .env("ECSCTL_SERVER", format!("{dead},{url}"))
        .env("ECSCTL_TOKEN_FILE", &tokens.admin)
        .output()
        .unwrap();
    expect_code(&o, 0);
    let o = run(
        &home,
        &[
            "--server",
            &dead,
            "--server",
            &url,
            "--token-file",
            &tokens.admin,
            "get",
            "clusters",
        ],
    );
    expect_code(&o, 0);
}

#[test]
fn no_server_reached_names_each_and_a_bad_address_is_refused_up_front() {
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("token");
    fs::write(&token, "t\n").unwrap();
    let token = token.display().to_string();
    let closing = Closing::start();
    let dead = refused();
    let servers = format!("{dead},{}", closing.url);
    let o = run(
        home.path(),
        &[
            "--server",
            &servers,
            "--token-file",
            &token,
            "get",
            "clusters",
        ],
    );
    expect_code(&o, 1);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: cannot reach any ecsctl server: {dead} (connection refused), {} (",
            closing.url
        )),
        "{err}"
    );
    assert!(err.ends_with("): is `ecsctl server` running?\n"), "{err}");

    // Every address is checked before any request: the bad one is named, nothing is sent.
    let servers = format!("{},http://10.0.0.2:7070", closing.url);
    let o = run(
        home.path(),
        &[
            "--server",
            &servers,
            "--token-file",
            &token,
            "get",
            "clusters",
        ],
    );
    expect_code(&o, 2);
    assert!(
        stderr(&o).contains("invalid server address \"http://10.0.0.2:7070\""),
        "{}",
        stderr(&o)
    );
    let o = run(
        home.path(),
        &["--server", &format!("{dead},,{dead}"), "get", "clusters"],
    );
    expect_code(&o, 2);
    assert_eq!(closing.accepted(), 1);
}

#[test]
fn a_client_whose_server_is_killed_moves_to_the_next_one() {
    let tokens = Tokens::new();
    let (mut a, url_a) = server(&tokens);
    let (b, url_b) = server(&tokens);
    let home = a.home();
    let both = format!("{url_a},{url_b}");
    // The same service on both, waiting for a task definition neither has yet.
    let svc = "apiVersion: ecs/v1\nkind: Service\nmetadata: {name: web}\nspec: {taskDefinition: web, desiredCount: 0}\n";
    apply(&home, &url_a, &tokens.admin, svc);
    apply(&home, &url_b, &tokens.admin, svc);

    // `rollout status` reads the service every 250 ms; `get -w` lists, then watches.
    let mut rollout = Running::spawn(
        ecsctl(
            &home,
            &[
                "--server",
                &both,
                "--token-file",
                &tokens.admin,
                "rollout",
                "status",
                "service/web",
                "--timeout",
                "120s",
            ],
        ),
        a.path().join("rollout.err"),
    );
    let mut watch = Running::spawn(
        ecsctl(
            &home,
            &[
                "--server",
                &both,
                "--token-file",
                &tokens.admin,
                "get",
                "clusters",
                "-w",
            ],
        ),
        a.path().join("watch.err"),
    );
    rollout.expect_line("Waiting for", WITHIN);
    watch.expect_line("default", WITHIN);
    // The watch is on the first server.
    apply(&home, &url_a, &tokens.admin, &cluster("on-a"));
    watch.expect_line("on-a", WITHIN);

    a.kill9();

    // The rollout now reads the second server: its task definition ends the wait there.
    let td = "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n  containerDefinitions:\n    - {name: web, image: nginx, memory: 64}\n";
    apply(&home, &url_b, &tokens.admin, td);
    rollout.expect_line("service/web successfully rolled out", WITHIN);
    assert!(rollout.wait(WITHIN).success(), "{}", rollout.stderr());
    // Moved within a request: the poll loop never saw an error to retry.
    assert_eq!(rollout.stderr(), "");

    // The watch resumed at the second server, from the last revision it saw: a write
    // there shows once the second store's revisions pass that one (the two stores are
    // independent here; servers of one control plane share theirs).
    let deadline = Instant::now() + WITHIN;
    let mut n = 0;
    loop {
        n += 1;
        apply(&home, &url_b, &tokens.admin, &cluster(&format!("on-b-{n}")));
        match watch.lines.recv_timeout(Duration::from_millis(300)) {
            Ok(line) if line.contains("on-b-") => break,
            _ => assert!(
                Instant::now() < deadline,
                "the watch showed nothing of the second server; stderr:\n{}",
                watch.stderr()
            ),
        }
    }
    assert!(watch.running(), "{}", watch.stderr());
    drop(b);
}

#[test]
fn an_agent_moves_to_the_next_server_and_waits_out_an_outage() {
    let tokens = Tokens::new();
    let (mut a, url_a) = server(&tokens);
    let (mut b, url_b) = server(&tokens);
    let agent_dir = a.path().join("agent");
    let log = a.path().join("agent.log");
    // No Docker needed: the agent's engine does not exist (it has no tasks to run).
    let mut cmd = ecsctl(
        &a.home(),
        &[
            "--server",
            &format!("{url_a},{url_b}"),
            "--token-file",
            &tokens.agent,
            "agent",
            "--docker-host",
            "unix:///nonexistent/docker.sock",
            "--data-dir",
            &agent_dir.display().to_string(),
            "--heartbeat-interval",
            "1s",
        ],
    );
    cmd.env("RUST_LOG", "info");
    let mut agent = Running::spawn(cmd, log.clone());
    let home = a.home();
    let heartbeat = || -> Option<String> {
        let o = run(
            &home,
            &[
                "--server",
                &url_a,
                "--token-file",
                &tokens.admin,
                "get",
                "containerinstances",
                "-o",
                "json",
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        v["items"][0]["status"]["lastHeartbeat"]
            .as_str()
            .map(str::to_string)
    };
    let wait_for = |what: &str, probe: &dyn Fn() -> bool, agent: &Running| {
        let deadline = Instant::now() + WITHIN;
        while !probe() {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {WITHIN:?}; agent log:\n{}",
                agent.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(
        "registered on the first server",
        &|| heartbeat().is_some(),
        &agent,
    );

    a.kill9();
    let moved = |from: &str, to: &str| {
        let log = fs::read_to_string(&log).unwrap_or_default();
        log.lines().any(|l| {
            l.contains("moved to another ecsctl server")
                && l.contains(&format!("from={from}"))
                && l.contains(&format!("to={to}"))
        })
    };
    wait_for(
        "moved to the second server",
        &|| moved(&url_a, &url_b),
        &agent,
    );

    // Every server down: the agent waits, it does not exit.
    b.kill9();
    std::thread::sleep(Duration::from_secs(4));
    assert!(agent.running(), "the agent exited:\n{}", agent.stderr());
    assert!(
        agent.stderr().contains("cannot reach any ecsctl server"),
        "{}",
        agent.stderr()
    );

    // The first server is back (same address, same store): the agent reports there again.
    a.spawn();
    let before = heartbeat().expect("the instance, kept by the first server's store");
    wait_for(
        "moved back to the first server",
        &|| moved(&url_b, &url_a),
        &agent,
    );
    wait_for(
        "a heartbeat after the outage",
        &|| heartbeat().is_some_and(|h| h != before),
        &agent,
    );
    assert!(agent.running(), "the agent exited:\n{}", agent.stderr());
}

/// The Docker tier: an agent's tasks run on, untouched, while no server answers, and the
/// agent reports them again once one does.
#[cfg(feature = "docker-tests")]
#[test]
fn an_agents_tasks_run_on_while_no_server_answers() {
    use support::agents::text as field;
    use support::agents::{Fleet, Host, running, service, task_definition};
    let mut f = Fleet::start("outage", &[Host::plain()]);
    f.apply(&format!(
        "{}---\n{}",
        task_definition("web", 16),
        service("web", &f.cluster, "web", 2, &[])
    ));
    let started = |ts: &[serde_json::Value]| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = ts
            .iter()
            .filter(|t| running(t))
            .map(|t| {
                (
                    field(t, "/metadata/name").to_string(),
                    field(t, "/status/startedAt").to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let ts = f.wait_tasks("web", "2 tasks RUNNING", WITHIN, |ts| {
        ts.iter().filter(|t| running(t)).count() == 2
    });
    let before = started(&ts);
    let containers = f.engine_tasks(0);
    assert_eq!(containers.len(), 2, "{containers:?}");

    // Every server gone for several heartbeats (under the server's --instance-timeout).
    f.kill9();
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        f.engine_tasks(0),
        containers,
        "containers changed while no server answered:\n{}",
        f.report()
    );
    assert!(
        f.agents[0].log().contains("cannot reach"),
        "{}",
        f.agents[0].log()
    );

    let back = Instant::now();
    f.spawn();
    f.wait_connected(&f.ids(), back);
    assert_eq!(f.engine_tasks(0), containers, "{}", f.report());
    assert_eq!(started(&f.service_tasks("web")), before);
    let status = f.agents[0].terminate();
    assert!(status.success(), "agent exited {status}:\n{}", f.report());
}
