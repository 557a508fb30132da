//! Wall time of a rolling update of 10 tasks against the waits its configuration imposes.
//! The task definition's health check (interval 5 s: Docker's first check comes one interval
//! after start) and its stopTimeout (2 s, spent in full: the process ignores SIGTERM) are the
//! waits; with minimumHealthyPercent 100 / maximumPercent 200 all 10 new tasks start at once,
//! so the configuration imposes 5 s + 2 s. `cargo bench -p ecsctl --bench rollout`.

mod common;

use common::{Server, wait_rolled};
use std::time::{Duration, Instant};

const HEALTH_INTERVAL: u64 = 5;
const STOP_TIMEOUT: u64 = 2;

fn td(version: &str) -> String {
    format!(
        r#"{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"roll"}},"spec":{{"containerDefinitions":[{{"name":"main","image":"ecsctl/busybox:local","memory":16,"stopTimeout":{STOP_TIMEOUT},"command":["sh","-c","trap '' TERM; echo {version}; while true; do sleep 1; done"],"healthCheck":{{"command":["CMD-SHELL","true"],"interval":{HEALTH_INTERVAL},"timeout":2,"retries":1}}}}]}}}}"#
    )
}

const SERVICE: &str = r#"{"apiVersion":"ecs/v1","kind":"Service","metadata":{"name":"roll"},"spec":{"taskDefinition":"roll","desiredCount":10,"deploymentConfiguration":{"minimumHealthyPercent":100,"maximumPercent":200}}}"#;

fn main() {
    let server = Server::start();
    server.apply(&format!("[{},{SERVICE}]", td("v1")));
    wait_rolled(&server, "roll:1", Duration::from_secs(120));
    let t0 = Instant::now();
    server.apply(&format!("[{}]", td("v2")));
    wait_rolled(&server, "roll:2", Duration::from_secs(120));
    let wall = t0.elapsed().as_secs_f64();
    let imposed = (HEALTH_INTERVAL + STOP_TIMEOUT) as f64;
    println!(
        "rolling update of 10 tasks (min 100%, max 200%): {wall:.2} s wall against {imposed:.0} s of waits the configuration imposes (health check interval {HEALTH_INTERVAL} s + stopTimeout {STOP_TIMEOUT} s): overhead ratio {:.2}",
        wall / imposed
    );
}
