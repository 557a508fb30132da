//! The contract suite against the real Docker Engine. Every test labels what it creates
//! `ecsctl.test=<unique run id>` and a drop guard removes exactly that (containers,
//! networks, volumes) through the docker CLI, even when the test fails.

mod contract;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ecsctl_runtime::{ContainerRuntime, DockerRuntime, FakeBehavior};

use contract::{Harness, TEST_LABEL};

const IMAGE: &str = "ecsctl/busybox:local";

/// Builds the busybox image once per test binary (the script is a no-op when it exists).
fn ensure_image() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-images.sh");
        let status = Command::new("bash")
            .arg(&script)
            .status()
            .expect("run build-images.sh");
        assert!(status.success(), "{} failed", script.display());
    });
}

/// A unique id per test: process id, time and a counter.
fn unique_run_id() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "rt{}-{nanos:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[derive(Debug)]
struct DockerHarness {
    rt: DockerRuntime,
    run_id: String,
}

impl DockerHarness {
    fn new() -> Self {
        ensure_image();
        Self {
            rt: DockerRuntime::new(),
            run_id: unique_run_id(),
        }
    }
}

impl Drop for DockerHarness {
    /// Removes what this test created, and only that: it all carries this run's label.
    fn drop(&mut self) {
        let filter = format!("label={TEST_LABEL}={}", self.run_id);
        let ids = |args: &[&str]| -> Vec<String> {
            Command::new("docker")
                .args(args)
                .args(["--filter", &filter])
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .split_whitespace()
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let remove = |cmd: &[&str], ids: Vec<String>| {
            if !ids.is_empty() {
                let _ = Command::new("docker").args(cmd).args(&ids).output();
            }
        };
        remove(&["rm", "-f", "-v"], ids(&["ps", "-aq"]));
        remove(&["network", "rm"], ids(&["network", "ls", "-q"]));
        remove(&["volume", "rm", "-f"], ids(&["volume", "ls", "-q"]));
    }
}

impl Harness for DockerHarness {
    fn rt(&self) -> &dyn ContainerRuntime {
        &self.rt
    }
    fn image(&self) -> &str {
        IMAGE
    }
    fn run_id(&self) -> &str {
        &self.run_id
    }
    fn program(&self, _name: &str, _behavior: FakeBehavior) {}
    fn real_network(&self) -> bool {
        true
    }
}

contract_tests!(
    tokio::test(flavor = "multi_thread", worker_threads = 2),
    DockerHarness::new()
);
