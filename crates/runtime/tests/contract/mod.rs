//! The contract every [`ContainerRuntime`] keeps: one async fn per behaviour, run against
//! FakeRuntime (`fake_contract.rs`) and the real Docker Engine (`docker_contract.rs`).
//!
//! The commands are busybox shell one-liners; a [`Harness`] scripts the fake to do what
//! they do on Docker (a no-op there). Time is tokio's, so the fake runs with paused time.
#![allow(dead_code)] // each test binary uses all of it, but rustc checks them one by one

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

mod exec;
mod lifecycle;
mod network;
mod observe;

pub use exec::*;
pub use lifecycle::*;
pub use network::*;
pub use observe::*;

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

/// Waits until the container has printed the line `line` (a script says it is ready: a
/// trap is set only once the shell runs, some time after the engine says it started).
pub async fn wait_for_line(h: &dyn Harness, id: &ContainerId, line: &str, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let lines: Vec<_> = h.rt().logs(id, false, None).collect().await;
        if lines
            .iter()
            .any(|l| l.as_ref().is_ok_and(|l| l.text.trim_end() == line))
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{id} did not print {line:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs until SIGTERM, then exits 0 at once. It prints [`IDLE_READY`] once the trap is set:
/// a SIGTERM before that is ignored (the shell is PID 1), so a test that stops it and looks
/// at the exit code waits for the line first.
pub const IDLE: &str = "trap 'exit 0' TERM; echo idle-ready; while true; do sleep 0.1; done";
/// The line [`IDLE`] prints once SIGTERM makes it exit.
pub const IDLE_READY: &str = "idle-ready";

/// The fake's version of [`IDLE`]: prints [`IDLE_READY`], runs until SIGTERM, then exits 0.
pub fn idle() -> FakeBehavior {
    FakeBehavior {
        on_term: SignalReaction::Exit(0),
        output: vec![(LogStream::Stdout, IDLE_READY.into())],
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
pub async fn eventually<T, F, Fut>(within: Duration, mut f: F) -> Option<T>
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

pub async fn create_and_start(h: &dyn Harness, spec: &ContainerSpec) -> ContainerId {
    let id = h.rt().create(spec).await.expect("create");
    h.rt().start(&id).await.expect("start");
    id
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
            exec_runs_in_the_container, stats_read_the_counters, networks_and_aliases,
            volumes_are_kept_while_used, invalid_specs_are_refused,
            interactive_exec_streams_and_exits, packet_filters_go_into_running_namespaces);
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
