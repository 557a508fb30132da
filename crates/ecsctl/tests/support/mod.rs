//! Shared by the end-to-end tests that run real containers: a server on a temp data dir,
//! the local test image, and clean-up of exactly the containers that server made.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ecsctl");
pub const IMAGE: &str = "ecsctl/busybox:local";

/// Builds the local test image once per test binary (nothing can be pulled).
pub fn ensure_image() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let st = Command::new(root.join("scripts/build-images.sh"))
            .status()
            .expect("run build-images.sh");
        assert!(st.success(), "scripts/build-images.sh failed");
    });
}

/// A server on its own data directory. Dropping it kills the server and removes every
/// container labelled with its instance id (and nothing else).
pub struct Server {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    /// Extra `ecsctl server` arguments.
    args: Vec<String>,
    /// Extra environment of the server process (after the defaults, so they win).
    env: Vec<(String, String)>,
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
        let mut s = Server {
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
            args: args.iter().map(|a| a.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        s.spawn();
        s
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
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
            .env("RUST_LOG", "info,ecsctl_controllers=debug")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn ecsctl server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.run(&["get", "clusters"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "server did not start:\n{}",
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

    pub fn instance(&self) -> String {
        fs::read_to_string(self.home().join("instance-id"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("ECSCTL_HOME", self.home())
            .env_remove("ECSCTL_SERVER")
            .stdin(Stdio::null())
            .output()
            .expect("run ecsctl")
    }

    /// `ecsctl apply -f -` of a YAML text; panics with the output when it fails.
    pub fn apply(&self, yaml: &str) {
        let path = self
            .dir
            .path()
            .join(format!("m{}.yaml", Instant::now().elapsed().as_nanos()));
        fs::write(&path, yaml).expect("write manifest");
        let o = self.run(&["apply", "-f", &path.display().to_string()]);
        assert!(
            o.status.success(),
            "apply failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// The task's status as JSON.
    pub fn task(&self, id: &str) -> serde_json::Value {
        let o = self.run(&["get", "task", id, "-o", "json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
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
        self.kill9();
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
                .lines()
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
    }
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker")
}
