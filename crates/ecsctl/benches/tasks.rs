//! Tasks on real Docker: time from one apply to all RUNNING for 20 single-container tasks,
//! against creating and starting the same 20 containers straight through the Docker API in
//! the same run; then the CPU an idle server uses with 50 running tasks over 60 s.
//! `cargo bench -p ecsctl --bench tasks` (needs the ecsctl/busybox:local image:
//! scripts/build-images.sh). Targets: ratio <= 1.2x; idle < 1% of a core.

mod common;

use common::{DOCKER, Server, cpu_ticks, remove_labelled, request, running_tasks};
use std::time::{Duration, Instant};

const IMAGE: &str = "ecsctl/busybox:local";
const TD: &str = r#"{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{"name":"sleeper"},"spec":{"containerDefinitions":[{"name":"main","image":"ecsctl/busybox:local","memory":16,"stopTimeout":1,"command":["sleep","3600"]}]}}"#;

fn tasks(prefix: &str, n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"apiVersion":"ecs/v1","kind":"Task","metadata":{{"name":"{prefix}-{i}"}},"spec":{{"taskDefinition":"sleeper"}}}}"#))
        .collect();
    format!("[{}]", items.join(","))
}

fn running(server: &Server) -> usize {
    running_tasks(server).len()
}

fn wait_running(server: &Server, n: usize, within: Duration) -> Duration {
    let t0 = Instant::now();
    while running(server) < n {
        assert!(
            t0.elapsed() < within,
            "only {} of {n} tasks RUNNING after {within:?}",
            running(server)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    t0.elapsed()
}

/// Creates and starts `n` containers through the Docker API, one after the other.
fn docker_direct(n: usize, label: &str) -> Duration {
    let t0 = Instant::now();
    for i in 0..n {
        let body = format!(
            r#"{{"Image":"{IMAGE}","Cmd":["sleep","3600"],"Labels":{{"ecsctl.bench":"{label}"}},"HostConfig":{{"Memory":16777216}}}}"#
        );
        let (status, resp) = request(
            DOCKER.as_ref(),
            "POST",
            &format!("/containers/create?name=bench-{label}-{i}"),
            &body,
        );
        assert_eq!(status, 201, "{resp}");
        let id = resp
            .split("\"Id\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string();
        let (status, resp) = request(
            DOCKER.as_ref(),
            "POST",
            &format!("/containers/{id}/start"),
            "",
        );
        assert_eq!(status, 204, "{resp}");
    }
    t0.elapsed()
}

fn main() {
    let label = format!("{}", std::process::id());
    let direct = docker_direct(20, &label);
    remove_labelled(&format!("ecsctl.bench={label}"));

    let server = Server::start();
    server.apply(&format!("[{TD}]"));
    let t0 = Instant::now();
    server.apply(&tasks("b", 20));
    wait_running(&server, 20, Duration::from_secs(60));
    let ours = t0.elapsed();
    println!(
        "20 tasks apply -> all RUNNING: ecsctl {:.0} ms, Docker API create+start directly {:.0} ms; ratio {:.2} (target <= 1.2)",
        ours.as_secs_f64() * 1000.0,
        direct.as_secs_f64() * 1000.0,
        ours.as_secs_f64() / direct.as_secs_f64()
    );

    server.apply(&tasks("idle", 30));
    wait_running(&server, 50, Duration::from_secs(120));
    std::thread::sleep(Duration::from_secs(2)); // let the start-up work settle
    let secs = std::env::var("IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60u64);
    let before = cpu_ticks(server.child.id());
    std::thread::sleep(Duration::from_secs(secs));
    let used = cpu_ticks(server.child.id()) - before;
    let hz = 100.0; // USER_HZ on Linux
    println!(
        "idle server with 50 running tasks: {:.2}% of one core over {secs} s (target < 1%)",
        used as f64 / hz / secs as f64 * 100.0
    );
}
