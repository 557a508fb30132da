//! Shared by the benches: a raw HTTP/1.1 client over unix sockets (so latency is the
//! server's, not a client library's), a server on a temp data dir, percentiles.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP/1.1 request with `Connection: close`; returns the status code and body.
pub fn request(socket: &Path, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = UnixStream::connect(socket).expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// `ecsctl server` on a temp data dir; dropping it kills it and removes its containers.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub child: Child,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server with extra `ecsctl server` arguments.
    pub fn start_with(args: &[&str]) -> Self {
        Self::start_logging(args, "warn")
    }

    /// A server with extra arguments, logging at `level` (RUST_LOG).
    pub fn start_logging(args: &[&str], level: &str) -> Self {
        Self::start_bin(env!("CARGO_BIN_EXE_ecsctl").as_ref(), args, level)
    }

    /// A server of another build of ecsctl (`bin`: an earlier commit's, to compare before
    /// and after in one session).
    pub fn start_bin(bin: &Path, args: &[&str], level: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new(bin)
            .args(["server", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .env("RUST_LOG", level)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ecsctl server");
        let s = Server { dir, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(s.socket().exists() && request(&s.socket(), "GET", "/v1/health", "").0 == 200) {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("ecsctl.sock")
    }

    /// POST /v1/apply of `objects` (JSON text of the array); panics unless 200.
    pub fn apply(&self, objects: &str) {
        let (status, body) = request(
            &self.socket(),
            "POST",
            "/v1/apply",
            &format!(r#"{{"objects":{objects}}}"#),
        );
        assert_eq!(status, 200, "{body}");
    }

    pub fn instance(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("instance-id"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        remove_labelled(&format!("ecsctl.instance={}", self.instance()));
    }
}

/// Removes the containers with this label (`docker rm -f`), then the networks with it.
pub fn remove_labelled(label: &str) {
    if label.ends_with('=') {
        return;
    }
    for (list, remove) in [
        (&["ps", "-aq"][..], &["rm", "-f"][..]),
        (&["network", "ls", "-q"][..], &["network", "rm"][..]),
    ] {
        let Ok(o) = Command::new("docker")
            .args(list)
            .args(["--filter", &format!("label={label}")])
            .output()
        else {
            continue;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            let _ = Command::new("docker").args(remove).args(&ids).output();
        }
    }
}

pub const DOCKER: &str = "/var/run/docker.sock";

pub fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(v[v.len() / 2]),
        ms(v[v.len() * 99 / 100]),
        ms(v[v.len() - 1]),
    )
}

/// CPU time (user + system, in clock ticks) a process has used, from /proc/PID/stat.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    utime + stime
}

/// Waits until the service `roll` has rolled out to `td` (PRIMARY deployment COMPLETED and
/// in steady state) and returns how long that took.
pub fn wait_rolled(server: &Server, td: &str, within: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        let (_, body) = request(&server.socket(), "GET", "/v1/objects/services/roll", "");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let done = v["status"]["deployments"].as_array().is_some_and(|ds| {
            ds.iter().any(|d| {
                d["status"] == "PRIMARY"
                    && d["taskDefinition"] == td
                    && d["rolloutState"] == "COMPLETED"
            })
        }) && v["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "SteadyState" && c["status"] == "True")
        });
        if done {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < within,
            "rollout to {td} not done in {within:?}: {}",
            v["status"]
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Resident memory of a process in MiB (VmRSS of /proc/PID/status; 0 when unreadable).
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `GET path` as JSON (`null` when the answer is not JSON).
pub fn get_json(server: &Server, path: &str) -> serde_json::Value {
    let (_, body) = request(&server.socket(), "GET", path, "");
    serde_json::from_str(&body).unwrap_or_default()
}

/// `GET /v1/objects/{plural}`: the objects, none when the answer is not a list.
pub fn list_objects(server: &Server, plural: &str) -> Vec<serde_json::Value> {
    let (_, body) = request(
        &server.socket(),
        "GET",
        &format!("/v1/objects/{plural}"),
        "",
    );
    serde_json::from_str::<api::wire::ObjectList<serde_json::Value>>(&body)
        .map(|l| l.items)
        .unwrap_or_default()
}

/// `GET /v1/metrics/tasks`: every task's latest metrics, none when the answer is not a list.
pub fn task_metrics(server: &Server) -> Vec<api::wire::TaskMetrics> {
    let (_, body) = request(&server.socket(), "GET", "/v1/metrics/tasks", "");
    serde_json::from_str::<api::wire::MetricsList<_>>(&body)
        .map(|l| l.items)
        .unwrap_or_default()
}

/// The server's RUNNING Task objects.
pub fn running_tasks(server: &Server) -> Vec<serde_json::Value> {
    list_objects(server, "tasks")
        .into_iter()
        .filter(|t| t["status"]["lastStatus"] == "RUNNING")
        .collect()
}
