//! The CPU cost of metrics collection: a server with 50 running tasks (one engine stats reading
//! each per interval), its CPU over 30 s (from /proc/PID/stat) with the default --metrics-interval 10s and
//! again with 1s. `cargo bench -p ecsctl --bench metrics` (needs the ecsctl/busybox:local
//! image: scripts/build-images.sh; METRICS_SECS overrides the 30 s). Target: < 2% of a core.

mod common;

use common::{Server, cpu_ticks, running_tasks, task_metrics};
use std::time::{Duration, Instant};

const TD: &str = r#"{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{"name":"sleeper"},"spec":{"containerDefinitions":[{"name":"main","image":"ecsctl/busybox:local","memory":16,"stopTimeout":1,"command":["sleep","3600"]}]}}"#;
const TASKS: usize = 50;

fn tasks(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"apiVersion":"ecs/v1","kind":"Task","metadata":{{"name":"m-{i}"}},"spec":{{"taskDefinition":"sleeper"}}}}"#))
        .collect();
    format!("[{}]", items.join(","))
}

fn wait_for(what: &str, within: Duration, f: impl Fn() -> usize, n: usize) {
    let t0 = Instant::now();
    while f() < n {
        assert!(
            t0.elapsed() < within,
            "only {} of {n} {what} after {within:?}",
            f()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// % of one core the server uses over `secs` with 50 sampled tasks.
fn measure(interval: &str, secs: u64) -> f64 {
    let server = Server::start_with(&["--metrics-interval", interval]);
    server.apply(&format!("[{TD}]"));
    server.apply(&tasks(TASKS));
    wait_for(
        "tasks RUNNING",
        Duration::from_secs(180),
        || running_tasks(&server).len(),
        TASKS,
    );
    // Every task sampled at least once: the streams are open.
    wait_for(
        "tasks with metrics",
        Duration::from_secs(60),
        || task_metrics(&server).len(),
        TASKS,
    );
    std::thread::sleep(Duration::from_secs(2)); // let the start-up work settle
    let before = cpu_ticks(server.child.id());
    std::thread::sleep(Duration::from_secs(secs));
    let used = cpu_ticks(server.child.id()) - before;
    let hz = 100.0; // USER_HZ on Linux
    used as f64 / hz / secs as f64 * 100.0
}

fn main() {
    let secs = std::env::var("METRICS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30u64);
    for interval in ["10s", "1s"] {
        let pct = measure(interval, secs);
        println!(
            "server with {TASKS} running tasks, --metrics-interval {interval}: {pct:.2}% of one core over {secs} s (target < 2%)"
        );
    }
}
