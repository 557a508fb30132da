//! The contract suite against the real Docker Engine. Every test labels what it creates
//! `ecsctl.test=<unique run id>` and a drop guard removes exactly that (containers,
//! networks, volumes) through the docker CLI, even when the test fails.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh).
#![cfg(feature = "docker-tests")]

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

/// The engine's socket, from `DOCKER_HOST` (unix only) or the default.
fn engine_socket() -> Option<String> {
    match std::env::var("DOCKER_HOST") {
        Ok(h) => h.strip_prefix("unix://").map(String::from),
        Err(_) => Some("/var/run/docker.sock".to_owned()),
    }
}

/// A unix-socket proxy in front of the engine: aborting it is, for the runtime, an engine
/// that went away (without restarting the engine others use).
fn start_proxy(path: &Path, engine: String) -> tokio::task::JoinHandle<()> {
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path).expect("bind proxy socket");
    tokio::spawn(async move {
        // Dropped with the task: aborting the proxy cuts every connection too.
        let mut conns = tokio::task::JoinSet::new();
        while let Ok((mut inbound, _)) = listener.accept().await {
            let engine = engine.clone();
            conns.spawn(async move {
                if let Ok(mut outbound) = tokio::net::UnixStream::connect(&engine).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_engine_goes_away() {
    use futures::StreamExt;
    use std::time::Duration;

    let Some(engine) = engine_socket() else {
        eprintln!("DOCKER_HOST is not a unix socket: proxy test skipped");
        return;
    };
    let h = DockerHarness::new();
    let sock = std::env::temp_dir().join(format!("{}.sock", h.run_id));
    let rt = DockerRuntime::with_host(format!("unix://{}", sock.display()));
    let labels = contract::run_labels(&h);

    let proxy = start_proxy(&sock, engine.clone());
    rt.ping().await.expect("ping through the proxy");
    let mut events = rt.events(&labels);
    // Let the subscription reach the engine.
    let nothing = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
    assert!(nothing.is_err(), "no event expected yet: {nothing:?}");

    proxy.abort();
    let _ = proxy.await;
    let _ = std::fs::remove_file(&sock);
    let down = rt.ping().await;
    assert!(
        matches!(down, Err(ecsctl_runtime::RuntimeError::Unavailable(_))),
        "{down:?}"
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    assert!(
        matches!(
            ended,
            Ok(Some(Err(ecsctl_runtime::RuntimeError::Unavailable(_))))
        ),
        "{ended:?}"
    );
    let after = tokio::time::timeout(Duration::from_secs(1), events.next()).await;
    assert!(
        matches!(after, Ok(None)),
        "a stream ends after its error: {after:?}"
    );

    let proxy = start_proxy(&sock, engine);
    rt.ping().await.expect("the next call reconnects");
    let mut events = rt.events(&labels);
    let spec = contract::sh(&h, "after-reconnect", contract::IDLE);
    let id = rt.create(&spec).await.expect("create after reconnect");
    let created = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    let created = created
        .expect("event in time")
        .expect("open")
        .expect("event");
    assert_eq!(
        (created.id, created.action),
        (id, ecsctl_runtime::EventAction::Create)
    );
    proxy.abort();
    let _ = std::fs::remove_file(&sock);
}

#[tokio::test]
async fn an_absent_engine_is_unavailable_at_once() {
    let rt = DockerRuntime::with_host("unix:///nonexistent/docker.sock");
    let began = std::time::Instant::now();
    let r = rt.ping().await;
    assert!(
        matches!(r, Err(ecsctl_runtime::RuntimeError::Unavailable(_))),
        "{r:?}"
    );
    assert!(began.elapsed() < std::time::Duration::from_secs(2));
}

/// Every field of a spec reaches the engine (API 1.41 included) and takes effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spec_takes_effect() {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use ecsctl_runtime::{ContainerSpec, MountSource, MountSpec, Ulimit};

    let h = DockerHarness::new();
    let spec = ContainerSpec {
        env: vec![("GREETING".into(), "hello world".into())],
        entrypoint: Some(vec!["sh".into(), "-c".into()]),
        command: Some(vec![contract::IDLE.into()]),
        working_dir: Some("/tmp".into()),
        user: Some("65534:65534".into()),
        cpu_shares: Some(512),
        nano_cpus: Some(500_000_000),
        memory_bytes: Some(64 << 20),
        memory_reservation_bytes: Some(32 << 20),
        mounts: vec![MountSpec {
            source: MountSource::Tmpfs {
                size: Some(1 << 20),
            },
            target: "/scratch".into(),
            read_only: false,
        }],
        ulimits: vec![Ulimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 2048,
        }],
        readonly_rootfs: true,
        cap_drop: vec!["NET_RAW".into()],
        init: Some(true),
        stop_timeout_secs: Some(5),
        stop_signal: Some("SIGTERM".into()),
        extra_hosts: vec![("db.local".into(), "127.0.0.2".into())],
        dns: vec!["127.0.0.53".into()],
        hostname: Some("web-host".into()),
        shm_size: Some(16 << 20),
        sysctls: BTreeMap::from([("net.ipv4.ip_unprivileged_port_start".into(), "0".into())]),
        security_opt: vec!["no-new-privileges".into()],
        labels: contract::run_labels(&h),
        ..ContainerSpec::new(contract::name(&h, "full"), IMAGE)
    };
    let id = h.rt().create(&spec).await.expect("create");
    h.rt().start(&id).await.expect("start");
    let script = "echo $GREETING; pwd; id -u; hostname; ulimit -n; grep -c db.local /etc/hosts; \
                  touch /rootfs-file 2>/dev/null || echo read-only; touch /scratch/f && echo tmpfs-ok";
    let cmd: Vec<String> = ["sh", "-c", script].map(String::from).into();
    let out = h.rt().exec(&id, &cmd).await.expect("exec");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "hello world",
            "/tmp",
            "65534",
            "web-host",
            "1024",
            "1",
            "read-only",
            "tmpfs-ok"
        ],
        "{out:?}"
    );
    let inspect = Command::new("docker")
        .args(["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.LogConfig.Type}}", id.as_str()])
        .output()
        .expect("docker inspect");
    assert_eq!(
        String::from_utf8_lossy(&inspect.stdout).trim(),
        "67108864 500000000 512 json-file"
    );
    h.rt()
        .stop(&id, Duration::from_secs(5))
        .await
        .expect("stop");
    assert_eq!(
        h.rt().inspect(&id).await.expect("inspect").exit_code,
        Some(0)
    );
}
