//! An `ecsctl server` process that the failover rounds SIGKILL, SIGTERM and start again on
//! the same data directory (so with the same server id), which `common::Server` (one process
//! for its whole life) cannot do. Dropping a [`Node`] kills its process and then removes its
//! directory, also while a failed run unwinds.

use api::wire::{Role, ServerStatus};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer `GET /v1/health` after its start.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one request of the bench's own polling may take: a server that is gone must not
/// stall a poll loop.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One `ecsctl server` with fixed arguments on a data directory of its own.
#[derive(Debug)]
pub struct Node {
    args: Vec<String>,
    child: Option<Child>,
    // Declared after `child`, and `Drop` kills the child first: the server never writes
    // into a directory being removed.
    dir: tempfile::TempDir,
}

impl Node {
    /// Starts `ecsctl server --data-dir TEMP ARGS...` and waits until it answers.
    pub fn start(args: &[&str]) -> Node {
        let mut node = Node {
            args: args.iter().map(|a| (*a).to_string()).collect(),
            child: None,
            dir: tempfile::Builder::new()
                .prefix("ecsctl-ha-bench-")
                .tempdir()
                .expect("create a server's data directory"),
        };
        node.spawn();
        node
    }

    /// The server's unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("ecsctl.sock")
    }

    /// The process id, while the process runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "the server already runs");
        let child = Command::new(env!("CARGO_BIN_EXE_ecsctl"))
            .args(["server", "--data-dir"])
            .arg(self.dir.path())
            .args(&self.args)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ecsctl server");
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while try_request(&self.socket(), "GET", "/v1/health", "").map(|r| r.0) != Some(200) {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("ecsctl server {:?} exited at start: {status}", self.args);
            }
            assert!(
                Instant::now() < deadline,
                "ecsctl server {:?} did not answer within {START_TIMEOUT:?}",
                self.args
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same data directory (after [`kill`](Self::kill) or
    /// [`terminate`](Self::terminate)) and waits until it answers.
    pub fn restart(&mut self) {
        self.spawn();
    }

    /// SIGKILL, as a crash or a lost machine: no resignation, the lease must expire.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM (the server resigns the leadership and stops) without waiting.
    pub fn signal_terminate(&self) {
        let pid = self.pid().expect("the server runs");
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
    }

    /// Waits until the process ends after [`signal_terminate`](Self::signal_terminate);
    /// SIGKILLs it after `within` and says so.
    pub fn wait_exit(&mut self, within: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let deadline = Instant::now() + within;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    eprintln!(
                        "[ha] server {} did not stop within {within:?}: killed",
                        child.id()
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            }
        }
    }

    /// `GET /v1/status`, `None` when the server does not answer.
    pub fn status(&self) -> Option<ServerStatus> {
        let (code, body) = try_request(&self.socket(), "GET", "/v1/status", "")?;
        if code != 200 {
            return None;
        }
        serde_json::from_str(&body).ok()
    }

    /// Waits until the store revision this server reports stays the same for `quiet`
    /// (at most a minute): the controllers have finished reacting to earlier writes, so
    /// that the next phase does not measure their backlog. Returns how long that took.
    pub fn settle(&self, quiet: Duration) -> Duration {
        let t0 = Instant::now();
        let mut last = (None, Instant::now());
        loop {
            let revision = self.status().map(|s| s.revision);
            if revision != last.0 {
                last = (revision, Instant::now());
            } else if last.1.elapsed() >= quiet {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the store kept changing for a minute"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether `GET /v1/status` says this server leads.
    pub fn leads(&self) -> bool {
        self.status().is_some_and(|s| s.role == Role::Leader)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `common::request` without its panics: `None` when the server cannot be reached or does
/// not answer in time (a poll of a server that just died).
pub fn try_request(socket: &Path, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = UnixStream::connect(socket).ok()?;
    s.set_read_timeout(Some(REQUEST_TIMEOUT)).ok()?;
    s.set_write_timeout(Some(REQUEST_TIMEOUT)).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12).and_then(|c| c.parse().ok())?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}
