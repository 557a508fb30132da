//! The one harness of the end-to-end tests: the real `ecsctl` binary against a real
//! `ecsctl server` on a temp data dir (or no server at all, for offline commands), the local
//! test image, and clean-up of exactly the containers that server made.

#![allow(dead_code)]

// Hosts of a cluster: a server on TCP with an agent on each extra engine.
#[cfg(feature = "docker-tests")]
pub mod agents;
// `ecsctl console` and the browser that drives it.
#[cfg(feature = "docker-tests")]
pub mod console;
// Extra Docker engines, one per simulated host (only the Docker tier starts them).
#[cfg(feature = "docker-tests")]
pub mod engines;
pub mod roles;
pub mod services;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, mpsc};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ecsctl");
pub const IMAGE: &str = "ecsctl/busybox:local";

/// How long a server may take to answer after it is spawned (the machine may be busy).
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Builds the local test image once per test binary (nothing can be pulled).
pub fn ensure_image() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-images.sh");
        let o = Command::new(&script)
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

/// A temp directory with `ECSCTL_HOME` in it (`DIR/home`) and, usually, a server on it.
/// Dropping it kills the clients left running ([`Server::spawn_lines`]) and the server, then
/// removes every container labelled with the server's instance id (and nothing else).
pub struct Server {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    /// Extra `ecsctl server` arguments.
    args: Vec<String>,
    /// Extra environment of the server process (after the defaults, so they win).
    env: Vec<(String, String)>,
    /// Extra client arguments of the readiness probe `ecsctl get clusters` (`--server`...).
    ready_args: Vec<String>,
    /// Environment of every client command (`ECSCTL_SERVER`, `ECSCTL_TOKEN_FILE` of a server
    /// without a unix socket); a command's own flags win over it.
    client_env: Vec<(String, String)>,
    /// Clients left running (`logs -f`, `get -w`), killed on drop.
    clients: Mutex<Vec<Child>>,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server started with extra arguments (`--metrics-interval 1s`).
    pub fn start_with(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// A server started with extra arguments and environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        ensure_image();
        let mut s = Self::offline();
        s.set_env(env);
        s.serve(args, &[]);
        s
    }

    /// Extra environment of the server process (before [`Server::serve`]).
    pub fn set_env(&mut self, env: &[(&str, &str)]) {
        self.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    /// A server for tests that start no container (the CLI, the API, the store): the test
    /// image is not built.
    pub fn start_without_image() -> Self {
        let mut s = Self::offline();
        s.serve(&[], &[]);
        s
    }

    /// The temp directory and no server: for offline commands and "server not running", or
    /// to write files before [`Server::serve`]. `ECSCTL_HOME` does not exist yet.
    pub fn offline() -> Self {
        Server {
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
            args: Vec::new(),
            env: Vec::new(),
            ready_args: Vec::new(),
            client_env: Vec::new(),
            clients: Mutex::new(Vec::new()),
        }
    }

    /// Starts `ecsctl server ARGS...` and waits until `ecsctl get clusters READY_ARGS...`
    /// answers (`--server tcp://... --token-file F` for a server on TCP). [`Server::spawn`]
    /// restarts it the same way.
    pub fn serve(&mut self, args: &[&str], ready_args: &[&str]) {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self.ready_args = ready_args.iter().map(|a| a.to_string()).collect();
        self.spawn();
    }

    /// The temp directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Writes `text` to `REL` under the temp dir (making its directories); returns the path
    /// as text.
    pub fn write(&self, rel: &str, text: &str) -> String {
        let p = self.dir.path().join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, text).expect("write");
        p.display().to_string()
    }

    /// Starts (or restarts) the server process and waits until it answers.
    pub fn spawn(&mut self) {
        fs::create_dir_all(self.home()).expect("home");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log");
        let child = Command::new(BIN)
            .arg("server")
            .args(&self.args)
            .env("ECSCTL_HOME", self.home())
            .env_remove("ECSCTL_SERVER")
            .env_remove("ECSCTL_TOKEN_FILE")
            .env("RUST_LOG", "info,ecsctl_controllers=debug")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn ecsctl server");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until `ecsctl get clusters READY_ARGS...` succeeds; panics with the server log
    /// when the server exits or does not answer in time.
    fn wait_ready(&mut self) {
        let mut probe = vec!["get".to_string(), "clusters".to_string()];
        probe.extend(self.ready_args.iter().cloned());
        let probe: Vec<&str> = probe.iter().map(String::as_str).collect();
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("server exited early ({status}):\n{}", self.log());
            }
            let o = self.run(&probe);
            if o.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server did not become ready in {READY_WITHIN:?}: {}\nserver log:\n{}",
                stderr(&o),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `kill -9` of the server process.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The server process, while there is one (to signal it or wait for it); it is still
    /// killed on drop.
    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    pub fn instance(&self) -> String {
        fs::read_to_string(self.home().join("instance-id"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `ecsctl ARGS...` as a client of this server (stdin empty), not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("ECSCTL_HOME", self.home())
            .env_remove("ECSCTL_SERVER")
            .env_remove("ECSCTL_TOKEN_FILE")
            .envs(self.client_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }

    /// Every client command from now on reaches the server at `server` with the token in
    /// `token_file` (through the environment: a command's own `--server` and `--token-file`
    /// still win).
    pub fn set_client(&mut self, server: &str, token_file: &str) {
        self.client_env = vec![
            ("ECSCTL_SERVER".to_string(), server.to_string()),
            ("ECSCTL_TOKEN_FILE".to_string(), token_file.to_string()),
        ];
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run ecsctl")
    }

    /// `ecsctl ARGS...` with `stdin` on its standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ecsctl");
        let mut input = child.stdin.take().expect("stdin");
        let text = stdin.to_string();
        // From a thread, so that a client writing much before it reads cannot block us both;
        // a client that exits without reading is judged by its output, not here.
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(text.as_bytes());
        });
        let o = child.wait_with_output().expect("ecsctl output");
        let _ = writer.join();
        o
    }

    /// A client left running (`logs -f`, `get -w`): its stdout lines arrive on the channel,
    /// which disconnects when it exits. It is killed on drop.
    pub fn spawn_lines(&self, args: &[&str]) -> mpsc::Receiver<String> {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
        self.clients.lock().expect("clients").push(child);
        rx
    }

    /// `ecsctl apply -f FILE` of a YAML text; panics with the output when it fails.
    pub fn apply(&self, yaml: &str) {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = self.dir.path().join(format!(
            "manifest-{}.yaml",
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::write(&path, yaml).expect("write manifest");
        let o = self.run(&["apply", "-f", &path.display().to_string()]);
        assert!(
            o.status.success(),
            "apply failed:\nstdout:\n{}\nstderr:\n{}",
            stdout(&o),
            stderr(&o)
        );
    }

    /// The task's status as JSON.
    pub fn task(&self, id: &str) -> serde_json::Value {
        let o = self.run(&["get", "task", id, "-o", "json"]);
        expect_code(&o, 0);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        v["status"].clone()
    }

    /// Waits until `pred` holds for the task's status, or panics with the status and log.
    pub fn wait_task(
        &self,
        id: &str,
        within: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let s = self.task(id);
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "task {id} did not get there in {within:?}: {s:#}\nserver log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Docker ids of this server's containers (by instance label).
    pub fn containers(&self, extra_filter: &str) -> Vec<String> {
        let mut args = vec!["ps".to_string(), "-q".to_string(), "--no-trunc".to_string()];
        args.push(format!(
            "--filter=label=ecsctl.instance={}",
            self.instance()
        ));
        if !extra_filter.is_empty() {
            args.push(format!("--filter={extra_filter}"));
        }
        let o = Command::new("docker")
            .args(&args)
            .output()
            .expect("docker ps");
        let mut ids: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        ids.sort();
        ids
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let clients = self
            .clients
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for mut c in clients {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.kill9();
        // Only this server's containers: other tests and servers share the engine.
        let instance = self.instance();
        if instance.is_empty() {
            return;
        }
        let o = Command::new("docker")
            .args([
                "ps",
                "-aq",
                "--filter",
                &format!("label=ecsctl.instance={instance}"),
            ])
            .output();
        if let Ok(o) = o {
            let ids: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if !ids.is_empty() {
                let _ = Command::new("docker")
                    .arg("rm")
                    .arg("-f")
                    .args(&ids)
                    .output();
            }
        }
        // Its cluster networks too (one per server): left behind, they would use up Docker's
        // address pools over many runs.
        remove_networks(&format!("label=ecsctl.instance={instance}"));
        // And the volumes it made (all labelled with it), once no container holds them.
        remove_volumes(&format!("label=ecsctl.instance={instance}"));
    }
}

/// Removes the Docker volumes that match a `docker volume ls` filter.
pub fn remove_volumes(filter: &str) {
    let Ok(o) = Command::new("docker")
        .args(["volume", "ls", "-q", "--filter", filter])
        .output()
    else {
        return;
    };
    let names: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if !names.is_empty() {
        let _ = Command::new("docker")
            .args(["volume", "rm", "-f"])
            .args(&names)
            .output();
    }
}

/// Removes the Docker networks that match a `docker network ls` filter.
pub fn remove_networks(filter: &str) {
    let Ok(o) = Command::new("docker")
        .args(["network", "ls", "-q", "--filter", filter])
        .output()
    else {
        return;
    };
    let ids: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if !ids.is_empty() {
        let _ = Command::new("docker")
            .args(["network", "rm"])
            .args(&ids)
            .output();
    }
}

/// Writes a self-signed certificate for `subject_alt_names` (`DNS:x,IP:y`) to `cert` and its
/// key to `key` (openssl; valid 2 days; not a CA: webpki refuses a CA certificate as a
/// server's own).
pub fn self_signed(cert: &Path, key: &Path, common_name: &str, subject_alt_names: &str) {
    let o = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", &format!("/CN={common_name}")])
        .args(["-addext", &format!("subjectAltName={subject_alt_names}")])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .expect("openssl (Debian's openssl package) must be installed");
    assert!(o.status.success(), "{}", stderr(&o));
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing both streams when it is not the expected one.
#[track_caller]
pub fn expect_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Polls `probe` every 100 ms until it answers `Some`, for at most `within`; panics naming
/// `what` otherwise.
pub fn poll<T>(what: &str, within: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
