//! The contract every [`ContainerRuntime`] keeps: one async fn per behaviour, run against
//! FakeRuntime (`fake_contract.rs`) and the real Docker Engine (`docker_contract.rs`).
//!
//! The commands are busybox shell one-liners; a [`Harness`] scripts the fake to do what
//! they do on Docker (a no-op there). Time is tokio's, so the fake runs with paused time.
#![allow(dead_code)] // each test binary uses all of it, but rustc checks them one by one

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use ecsctl_runtime::{
    ContainerId, ContainerInfo, ContainerRuntime, ContainerSpec, ContainerState, EventAction,
    ExecOutput, FakeBehavior, HealthSpec, HealthStatus, LogStream, MountSource, MountSpec,
    NetworkAttach, PortSpec, RuntimeError, RuntimeEvent, SignalReaction,
};
use futures::StreamExt;
use tokio::time::Instant;

/// Label that marks everything a test run creates.
pub const TEST_LABEL: &str = "ecsctl.test";

/// What a contract test needs from its runtime's environment.
pub trait Harness: Sync {
    /// The runtime under test.
    fn rt(&self) -> &dyn ContainerRuntime;
    /// The busybox image (present).
    fn image(&self) -> &str;
    /// Unique per test: names and the `ecsctl.test` label derive from it.
    fn run_id(&self) -> &str;
    /// Scripts the fake's container `name` to behave as its command does on Docker.
    fn program(&self, name: &str, behavior: FakeBehavior);
    /// Ports and namespaces are real: check them with real connections.
    fn real_network(&self) -> bool;
}

/// A container name unique to this test.
pub fn name(h: &dyn Harness, base: &str) -> String {
    format!("{}-{base}", h.run_id())
}

/// The run's label filter.
pub fn run_labels(h: &dyn Harness) -> BTreeMap<String, String> {
    BTreeMap::from([(TEST_LABEL.to_owned(), h.run_id().to_owned())])
}

/// A spec running `sh -c script`, labelled with the run.
pub fn sh(h: &dyn Harness, base: &str, script: &str) -> ContainerSpec {
    ContainerSpec {
        command: Some(vec!["sh".into(), "-c".into(), script.into()]),
        labels: run_labels(h),
        ..ContainerSpec::new(name(h, base), h.image())
    }
}

/// Runs until SIGTERM, then exits 0 at once.
pub const IDLE: &str = "trap 'exit 0' TERM; while true; do sleep 0.1; done";

/// The fake's version of [`IDLE`]: runs until SIGTERM, then exits 0.
pub fn idle() -> FakeBehavior {
    FakeBehavior {
        on_term: SignalReaction::Exit(0),
        ..FakeBehavior::default()
    }
}

/// Polls `inspect` until `done` holds or `within` passes.
pub async fn wait_until(
    h: &dyn Harness,
    id: &ContainerId,
    within: Duration,
    done: impl Fn(&ContainerInfo) -> bool,
) -> ContainerInfo {
    let deadline = Instant::now() + within;
    loop {
        let info = h.rt().inspect(id).await.expect("inspect");
        if done(&info) {
            return info;
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached within {within:?}: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Retries `f` until it returns `Some` or `within` passes.
async fn eventually<T, F, Fut>(within: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_and_start(h: &dyn Harness, spec: &ContainerSpec) -> ContainerId {
    let id = h.rt().create(spec).await.expect("create");
    h.rt().start(&id).await.expect("start");
    id
}

pub async fn ping_answers(h: &dyn Harness) {
    let v = h.rt().ping().await.expect("ping");
    assert!(!v.api_version.is_empty(), "{v:?}");
    assert!(h.rt().image_exists(h.image()).await.expect("image_exists"));
}

pub async fn create_start_inspect_running(h: &dyn Harness) {
    let spec = sh(h, "run", IDLE);
    let id = h.rt().create(&spec).await.expect("create");
    let created = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(created.state, ContainerState::Created);
    assert_eq!(created.exit_code, None);
    assert_eq!(created.name, spec.name);
    assert_eq!(created.id, id);

    h.rt().start(&id).await.expect("start");
    let running = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(running.state, ContainerState::Running);
    assert!(running.started_at.is_some());
    assert_eq!(running.image, h.image());
    assert_eq!(
        running.labels.get(TEST_LABEL).map(String::as_str),
        Some(h.run_id())
    );
    assert!(running.ip_addresses.contains_key("bridge"), "{running:?}");
    // Inspect by name works too.
    let by_name = h.rt().inspect(&ContainerId::from(spec.name.as_str())).await;
    assert_eq!(by_name.expect("inspect by name").id, id);
    // Starting again does nothing.
    h.rt().start(&id).await.expect("second start");

    h.rt()
        .stop(&id, Duration::from_secs(5))
        .await
        .expect("stop");
    let stopped = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(stopped.state, ContainerState::Exited);
    assert_eq!(stopped.exit_code, Some(0));
    assert!(stopped.finished_at.is_some());
    // Stopping a stopped container does nothing.
    h.rt()
        .stop(&id, Duration::from_secs(1))
        .await
        .expect("second stop");
    h.rt().remove(&id, false).await.expect("remove");
    let gone = h.rt().inspect(&id).await;
    assert!(matches!(gone, Err(RuntimeError::NotFound(_))), "{gone:?}");
}

pub async fn stop_records_the_exit_code(h: &dyn Harness) {
    let spec = sh(
        h,
        "trap3",
        "trap 'exit 3' TERM; while true; do sleep 0.1; done",
    );
    h.program(
        &spec.name,
        FakeBehavior {
            on_term: SignalReaction::Exit(3),
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    let began = Instant::now();
    h.rt()
        .stop(&id, Duration::from_secs(10))
        .await
        .expect("stop");
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "took {:?}",
        began.elapsed()
    );
    let info = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(info.state, ContainerState::Exited);
    assert_eq!(info.exit_code, Some(3));
}

pub async fn stop_kills_after_the_timeout(h: &dyn Harness) {
    let spec = sh(
        h,
        "stubborn",
        "trap '' TERM; while true; do sleep 0.1; done",
    );
    h.program(
        &spec.name,
        FakeBehavior {
            on_term: SignalReaction::Ignore,
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    let began = Instant::now();
    h.rt()
        .stop(&id, Duration::from_secs(1))
        .await
        .expect("stop");
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "SIGKILL came early: {took:?}"
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let info = h.rt().inspect(&id).await.expect("inspect");
    assert_eq!(info.exit_code, Some(137));
}

pub async fn kill_sends_a_signal(h: &dyn Harness) {
    let id = create_and_start(h, &sh(h, "kill", IDLE)).await;
    h.rt().kill(&id, "SIGKILL").await.expect("kill");
    let info = wait_until(h, &id, Duration::from_secs(5), |i| {
        i.state == ContainerState::Exited
    })
    .await;
    assert_eq!(info.exit_code, Some(137));
    let again = h.rt().kill(&id, "SIGKILL").await;
    assert!(matches!(again, Err(RuntimeError::Conflict(_))), "{again:?}");
}

pub async fn missing_image_is_image_not_found(h: &dyn Harness) {
    let image = format!("ecsctl/no-such-image:{}", h.run_id());
    assert!(!h.rt().image_exists(&image).await.expect("image_exists"));
    let spec = ContainerSpec {
        labels: run_labels(h),
        ..ContainerSpec::new(name(h, "noimage"), image.clone())
    };
    let began = Instant::now();
    let err = h.rt().create(&spec).await.expect_err("create must fail");
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "took {:?}",
        began.elapsed()
    );
    assert_eq!(err, RuntimeError::ImageNotFound(image.clone()));
    assert!(err.to_string().contains(&image), "{err}");
}

pub async fn duplicate_name_is_conflict(h: &dyn Harness) {
    let spec = sh(h, "dup", IDLE);
    h.rt().create(&spec).await.expect("create");
    let err = h
        .rt()
        .create(&spec)
        .await
        .expect_err("second create must fail");
    assert!(
        matches!(&err, RuntimeError::Conflict(m) if m.contains(&spec.name)),
        "{err:?}"
    );
}

pub async fn unknown_ids_are_not_found(h: &dyn Harness) {
    let unknown = ContainerId::from(name(h, "never-created").as_str());
    let removed = h.rt().remove(&unknown, true).await;
    assert!(
        matches!(removed, Err(RuntimeError::NotFound(_))),
        "{removed:?}"
    );
    let inspected = h.rt().inspect(&unknown).await;
    assert!(
        matches!(inspected, Err(RuntimeError::NotFound(_))),
        "{inspected:?}"
    );
    let started = h.rt().start(&unknown).await;
    assert!(
        matches!(started, Err(RuntimeError::NotFound(_))),
        "{started:?}"
    );
    let stopped = h.rt().stop(&unknown, Duration::from_secs(1)).await;
    assert!(
        matches!(stopped, Err(RuntimeError::NotFound(_))),
        "{stopped:?}"
    );
    let logs = h.rt().logs(&unknown, false, None).next().await;
    assert!(
        matches!(logs, Some(Err(RuntimeError::NotFound(_)))),
        "{logs:?}"
    );
}

pub async fn remove_running_needs_force(h: &dyn Harness) {
    let id = create_and_start(h, &sh(h, "rm", IDLE)).await;
    let err = h.rt().remove(&id, false).await;
    assert!(matches!(err, Err(RuntimeError::Conflict(_))), "{err:?}");
    h.rt().remove(&id, true).await.expect("forced remove");
    let gone = h.rt().inspect(&id).await;
    assert!(matches!(gone, Err(RuntimeError::NotFound(_))), "{gone:?}");
}

pub async fn ephemeral_port_is_reported_and_reachable(h: &dyn Harness) {
    let spec = ContainerSpec {
        command: Some(vec![
            "httpd".into(),
            "-f".into(),
            "-p".into(),
            "8080".into(),
            "-h".into(),
            "/www".into(),
        ]),
        ports: vec![PortSpec {
            host_ip: Some("127.0.0.1".into()),
            ..PortSpec::tcp(8080)
        }],
        labels: run_labels(h),
        ..ContainerSpec::new(name(h, "httpd"), h.image())
    };
    let id = create_and_start(h, &spec).await;
    let info = h.rt().inspect(&id).await.expect("inspect");
    let binding = info
        .ports
        .iter()
        .find(|p| p.container_port == 8080)
        .unwrap_or_else(|| panic!("no binding for 8080: {info:?}"));
    assert_ne!(binding.host_port, 0);
    assert_eq!(binding.host_ip, "127.0.0.1");
    if h.real_network() {
        let port = binding.host_port;
        let page = eventually(Duration::from_secs(5), || http_get(port)).await;
        let page = page.expect("httpd answers on the ephemeral port");
        assert!(page.contains("ecsctl busybox"), "{page}");
    }
}

/// `GET /` on 127.0.0.1:port; `None` until something answers.
async fn http_get(port: u16) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").await.ok()?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_string(&mut out))
        .await
        .ok()?
        .ok()?;
    (!out.is_empty()).then_some(out)
}

pub async fn events_report_start_and_die(h: &dyn Harness) {
    let mut events = h.rt().events(&run_labels(h));
    let spec = sh(h, "exit7", "sleep 0.2; exit 7");
    h.program(
        &spec.name,
        FakeBehavior {
            exit_after: Some((Duration::from_millis(200), 7)),
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    let mut seen: Vec<RuntimeEvent> = Vec::new();
    let collected = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(e) = events.next().await {
            let e = e.expect("event");
            let is_die = e.id == id && matches!(e.action, EventAction::Die { .. });
            seen.push(e);
            if is_die {
                break;
            }
        }
    })
    .await;
    assert!(collected.is_ok(), "no Die event within 10 s: {seen:?}");
    let mine: Vec<&RuntimeEvent> = seen.iter().filter(|e| e.id == id).collect();
    let start = mine.iter().position(|e| e.action == EventAction::Start);
    let die = mine
        .iter()
        .position(|e| e.action == EventAction::Die { exit_code: 7 });
    assert!(
        matches!((start, die), (Some(s), Some(d)) if s < d),
        "{mine:?}"
    );
    let last = mine.last().expect("events");
    assert_eq!(
        last.labels.get(TEST_LABEL).map(String::as_str),
        Some(h.run_id())
    );
    assert_eq!(last.name.as_deref(), Some(spec.name.as_str()));
}

async fn health_becomes(h: &dyn Harness, base: &str, script: &str, expected: HealthStatus) {
    let spec = ContainerSpec {
        health_check: Some(HealthSpec {
            test: vec!["CMD-SHELL".into(), script.into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            retries: 1,
            start_period: Duration::ZERO,
        }),
        ..sh(h, base, IDLE)
    };
    h.program(
        &spec.name,
        FakeBehavior {
            health: Some(expected),
            ..idle()
        },
    );
    let mut events = h.rt().events(&run_labels(h));
    let id = create_and_start(h, &spec).await;
    let first = h.rt().inspect(&id).await.expect("inspect").health;
    assert!(
        matches!(first, Some(HealthStatus::Starting)) || first == Some(expected),
        "{first:?}"
    );
    wait_until(h, &id, Duration::from_secs(10), |i| {
        i.health == Some(expected)
    })
    .await;
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(e)) = events.next().await {
            if e.id == id && e.action == EventAction::HealthStatus(expected) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(event, Ok(true), "no {expected} event");
}

pub async fn health_check_healthy(h: &dyn Harness) {
    health_becomes(h, "healthy", "true", HealthStatus::Healthy).await;
}

pub async fn health_check_unhealthy(h: &dyn Harness) {
    health_becomes(h, "unhealthy", "exit 1", HealthStatus::Unhealthy).await;
}

pub async fn logs_return_the_output(h: &dyn Harness) {
    let spec = sh(h, "logs", "echo hello; echo oops >&2; echo bye");
    h.program(
        &spec.name,
        FakeBehavior {
            output: vec![
                (LogStream::Stdout, "hello".into()),
                (LogStream::Stderr, "oops".into()),
                (LogStream::Stdout, "bye".into()),
            ],
            exit_after: Some((Duration::ZERO, 0)),
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    wait_until(h, &id, Duration::from_secs(5), |i| {
        i.state == ContainerState::Exited
    })
    .await;

    let lines: Vec<_> = h.rt().logs(&id, false, None).collect().await;
    let lines: Vec<_> = lines.into_iter().map(|l| l.expect("log line")).collect();
    let text: Vec<(LogStream, &str)> = lines.iter().map(|l| (l.stream, l.text.as_str())).collect();
    // stdout and stderr are separate pipes: only the order within each is certain.
    let stdout: Vec<&str> = text
        .iter()
        .filter(|(s, _)| *s == LogStream::Stdout)
        .map(|(_, t)| *t)
        .collect();
    assert_eq!(stdout, ["hello", "bye"], "{text:?}");
    assert!(text.contains(&(LogStream::Stderr, "oops")), "{text:?}");
    assert!(lines.iter().all(|l| l.timestamp.is_some()));

    let tail: Vec<_> = h.rt().logs(&id, false, Some(1)).collect().await;
    assert_eq!(tail.len(), 1, "{tail:?}");
}

pub async fn logs_follow_until_exit(h: &dyn Harness) {
    let spec = sh(h, "follow", "echo one; sleep 0.5; echo two");
    h.program(
        &spec.name,
        FakeBehavior {
            output: vec![
                (LogStream::Stdout, "one".into()),
                (LogStream::Stdout, "two".into()),
            ],
            exit_after: Some((Duration::from_millis(500), 0)),
            ..FakeBehavior::default()
        },
    );
    let id = create_and_start(h, &spec).await;
    let lines = tokio::time::timeout(
        Duration::from_secs(10),
        h.rt().logs(&id, true, None).collect::<Vec<_>>(),
    )
    .await
    .expect("a followed log ends when the container exits");
    let text: Vec<String> = lines.into_iter().map(|l| l.expect("line").text).collect();
    assert_eq!(text, ["one", "two"]);
}

pub async fn shared_network_namespace(h: &dyn Harness) {
    let server = ContainerSpec {
        command: Some(vec![
            "httpd".into(),
            "-f".into(),
            "-p".into(),
            "8080".into(),
            "-h".into(),
            "/www".into(),
        ]),
        labels: run_labels(h),
        ..ContainerSpec::new(name(h, "ns-server"), h.image())
    };
    let server_id = h.rt().create(&server).await.expect("create server");
    let client = ContainerSpec {
        network: NetworkAttach::Container(server_id.clone()),
        ..sh(h, "ns-client", IDLE)
    };
    h.program(
        &client.name,
        FakeBehavior {
            exec_output: ExecOutput {
                exit_code: 0,
                stdout: "<h1>ecsctl busybox</h1>\n".into(),
                stderr: String::new(),
            },
            ..idle()
        },
    );
    let client_id = h.rt().create(&client).await.expect("create client");
    // The namespace's owner must run first.
    let early = h.rt().start(&client_id).await;
    assert!(matches!(early, Err(RuntimeError::Conflict(_))), "{early:?}");

    h.rt().start(&server_id).await.expect("start server");
    h.rt().start(&client_id).await.expect("start client");
    let wget: Vec<String> = ["wget", "-qO-", "http://127.0.0.1:8080/"]
        .map(String::from)
        .into();
    let out = eventually(Duration::from_secs(5), || async {
        let out = h.rt().exec(&client_id, &wget).await.expect("exec");
        (out.exit_code == 0).then_some(out)
    })
    .await
    .expect("the client reaches the server on 127.0.0.1");
    assert!(out.stdout.contains("ecsctl busybox"), "{out:?}");
}

pub async fn list_filters_by_labels(h: &dyn Harness) {
    let mut a = sh(h, "list-a", IDLE);
    a.labels.insert("role".into(), "a".into());
    let mut b = sh(h, "list-b", IDLE);
    b.labels.insert("role".into(), "b".into());
    let a_id = create_and_start(h, &a).await;
    let b_id = h.rt().create(&b).await.expect("create b");

    let mut only_a = run_labels(h);
    only_a.insert("role".into(), "a".into());
    let listed = h.rt().list(&only_a, true).await.expect("list");
    assert_eq!(listed.iter().map(|c| &c.id).collect::<Vec<_>>(), [&a_id]);
    assert_eq!(listed[0].name, a.name);
    assert_eq!(listed[0].state, ContainerState::Running);

    let running = h.rt().list(&run_labels(h), false).await.expect("list");
    assert_eq!(running.iter().map(|c| &c.id).collect::<Vec<_>>(), [&a_id]);
    let all = h.rt().list(&run_labels(h), true).await.expect("list all");
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .any(|c| c.id == b_id && c.state == ContainerState::Created)
    );
}

pub async fn exec_runs_in_the_container(h: &dyn Harness) {
    let spec = sh(h, "exec", IDLE);
    h.program(
        &spec.name,
        FakeBehavior {
            exec_output: ExecOutput {
                exit_code: 0,
                stdout: "hi\n".into(),
                stderr: String::new(),
            },
            ..idle()
        },
    );
    let id = h.rt().create(&spec).await.expect("create");
    let cmd: Vec<String> = ["echo", "hi"].map(String::from).into();
    let early = h.rt().exec(&id, &cmd).await;
    assert!(matches!(early, Err(RuntimeError::Conflict(_))), "{early:?}");
    h.rt().start(&id).await.expect("start");
    let out = h.rt().exec(&id, &cmd).await.expect("exec");
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.stdout, "hi\n");
}

pub async fn stats_stream_samples(h: &dyn Harness) {
    let spec = ContainerSpec {
        memory_bytes: Some(64 * 1024 * 1024),
        ..sh(h, "stats", IDLE)
    };
    let id = create_and_start(h, &spec).await;
    let mut stats = h.rt().stats(&id);
    let first = tokio::time::timeout(Duration::from_secs(5), stats.next())
        .await
        .expect("a sample within 5 s")
        .expect("stream open")
        .expect("sample");
    assert_eq!(first.memory_limit_bytes, 64 * 1024 * 1024);
    assert!(first.cpu_percent_of_host >= 0.0);
}

pub async fn networks_and_aliases(h: &dyn Harness) {
    let net = name(h, "net");
    let labels = run_labels(h);
    let id1 = h.rt().ensure_network(&net, &labels).await.expect("ensure");
    let id2 = h
        .rt()
        .ensure_network(&net, &labels)
        .await
        .expect("ensure again");
    assert_eq!(id1, id2);
    let spec = ContainerSpec {
        network: NetworkAttach::Named {
            network: net.clone(),
            aliases: vec!["web".into()],
        },
        ..sh(h, "on-net", IDLE)
    };
    let c = create_and_start(h, &spec).await;
    let info = h.rt().inspect(&c).await.expect("inspect");
    assert!(info.ip_addresses.contains_key(&net), "{info:?}");
    let busy = h.rt().remove_network(&net).await;
    assert!(matches!(busy, Err(RuntimeError::Conflict(_))), "{busy:?}");
    h.rt().remove(&c, true).await.expect("remove");
    h.rt().remove_network(&net).await.expect("remove network");
    let again = h.rt().remove_network(&net).await;
    assert!(matches!(again, Err(RuntimeError::NotFound(_))), "{again:?}");
}

pub async fn volumes_are_kept_while_used(h: &dyn Harness) {
    let vol = name(h, "vol");
    let opts = BTreeMap::new();
    h.rt()
        .create_volume(&vol, &run_labels(h), &opts)
        .await
        .expect("create volume");
    h.rt()
        .create_volume(&vol, &run_labels(h), &opts)
        .await
        .expect("create again");
    let spec = ContainerSpec {
        mounts: vec![
            MountSpec {
                source: MountSource::Volume(vol.clone()),
                target: "/data".into(),
                read_only: false,
            },
            MountSpec {
                source: MountSource::Tmpfs {
                    size: Some(1 << 20),
                },
                target: "/scratch".into(),
                read_only: false,
            },
        ],
        ..sh(h, "vol-user", IDLE)
    };
    let c = h.rt().create(&spec).await.expect("create");
    let busy = h.rt().remove_volume(&vol).await;
    assert!(matches!(busy, Err(RuntimeError::Conflict(_))), "{busy:?}");
    h.rt().remove(&c, true).await.expect("remove container");
    h.rt().remove_volume(&vol).await.expect("remove volume");
    let again = h.rt().remove_volume(&vol).await;
    assert!(matches!(again, Err(RuntimeError::NotFound(_))), "{again:?}");
}

pub async fn invalid_specs_are_refused(h: &dyn Harness) {
    let spec = ContainerSpec {
        ports: vec![PortSpec::tcp(80)],
        network: NetworkAttach::None,
        ..sh(h, "invalid", IDLE)
    };
    let err = h.rt().create(&spec).await;
    assert!(matches!(err, Err(RuntimeError::InvalidSpec(_))), "{err:?}");
    let bad_name = ContainerSpec::new("-bad", h.image());
    let err = h.rt().create(&bad_name).await;
    assert!(matches!(err, Err(RuntimeError::InvalidSpec(_))), "{err:?}");
}

/// Expands to one `#[tokio::test]` per contract behaviour; `$harness` is an async
/// expression that yields a value implementing [`Harness`], and `$attr` the test attribute.
#[macro_export]
macro_rules! contract_tests {
    ($attr:meta, $harness:expr) => {
        $crate::contract_tests!(@each $attr, $harness;
            ping_answers, create_start_inspect_running, stop_records_the_exit_code,
            stop_kills_after_the_timeout, kill_sends_a_signal, missing_image_is_image_not_found,
            duplicate_name_is_conflict, unknown_ids_are_not_found, remove_running_needs_force,
            ephemeral_port_is_reported_and_reachable, events_report_start_and_die,
            health_check_healthy, health_check_unhealthy, logs_return_the_output,
            logs_follow_until_exit, shared_network_namespace, list_filters_by_labels,
            exec_runs_in_the_container, stats_stream_samples, networks_and_aliases,
            volumes_are_kept_while_used, invalid_specs_are_refused);
    };
    (@each $attr:meta, $harness:expr; $($name:ident),* $(,)?) => {
        $(
            #[$attr]
            async fn $name() {
                let h = $harness;
                contract::$name(&h).await;
            }
        )*
    };
}
