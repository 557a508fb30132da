//! The ecsctl side: the same workloads applied through the server, and its idle cost.

use crate::common::{Server, cpu_ticks, rss_mib, running_tasks, task_metrics, wait_rolled};
use crate::docker::{container_pid, core_pct, docker, dockerd_pid, inspect, kill9};
use crate::{FAILOVER_TASKS, HEALTH_INTERVAL, IMAGE, STOP_TIMEOUT, service, sleeper_td};
use serde_json::Value;
use std::time::{Duration, Instant};

/// RUNNING tasks: (task id, container runtime id, startedAt), oldest first.
pub(crate) fn running(server: &Server) -> Vec<(String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut v: Vec<(String, String, String)> = running_tasks(server)
        .iter()
        .map(|t| {
            (
                text(&t["metadata"]["name"]),
                text(&t["status"]["containers"][0]["runtimeId"]),
                text(&t["status"]["startedAt"]),
            )
        })
        .collect();
    v.sort_by(|a, b| a.2.cmp(&b.2));
    v
}

/// Polls (every 10 ms) until `n` tasks not in `except` are RUNNING.
pub(crate) fn wait_running(
    server: &Server,
    n: usize,
    except: &[String],
    within: Duration,
) -> Duration {
    let t0 = Instant::now();
    loop {
        let count = running(server)
            .iter()
            .filter(|(id, _, _)| !except.contains(id))
            .count();
        if count >= n {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < within,
            "only {count} of {n} tasks RUNNING after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One apply of a task definition and a service of `n` tasks -> all `n` RUNNING, on this
/// build's server or on `bin`'s.
pub(crate) fn ecsctl_up(n: usize, bin: Option<&std::path::Path>) -> Duration {
    let server = match bin {
        Some(bin) => Server::start_bin(bin, &[], "warn"),
        None => Server::start(),
    };
    let t0 = Instant::now();
    server.apply(&format!(
        "[{},{}]",
        sleeper_td(),
        service("up", "sleeper", n)
    ));
    wait_running(&server, n, &[], Duration::from_secs(300));
    t0.elapsed()
    // `server` dropped: killed, its containers removed.
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure {
    DockerKill,
    Crash,
}

/// Time from a failure of one task's container to a replacement RUNNING, `repeat` times per
/// kind of failure (alternating), always failing the oldest running task.
pub(crate) fn ecsctl_failover(repeat: usize) -> (Vec<Duration>, Vec<Duration>) {
    let server = Server::start();
    server.apply(&format!(
        "[{},{}]",
        sleeper_td(),
        service("failover", "sleeper", FAILOVER_TASKS)
    ));
    wait_running(&server, FAILOVER_TASKS, &[], Duration::from_secs(120));
    let (mut kills, mut crashes) = (Vec::new(), Vec::new());
    let mut victims: Vec<String> = Vec::new();
    for _ in 0..repeat {
        for failure in [Failure::DockerKill, Failure::Crash] {
            std::thread::sleep(Duration::from_secs(1));
            // The oldest task whose container is up: a task that has run fine fails. (Killing
            // the newest task again and again looks like tasks dying right after they start,
            // and after 3 of those the service throttles its starts, as ECS does.)
            let (task, container, _) = running(&server)
                .into_iter()
                .find(|(id, c, _)| !victims.contains(id) && inspect(c)["State"]["Running"] == true)
                .expect("a running task");
            victims.push(task.clone());
            let pid = container_pid(&container);
            let t0 = Instant::now();
            match failure {
                Failure::DockerKill => {
                    let (status, body) = docker("POST", &format!("/containers/{container}/kill"));
                    assert_eq!(status, 204, "docker kill: {body}");
                }
                Failure::Crash => kill9(pid),
            }
            wait_running(&server, FAILOVER_TASKS, &victims, Duration::from_secs(60));
            let took = t0.elapsed();
            match failure {
                Failure::DockerKill => kills.push(took),
                Failure::Crash => crashes.push(took),
            }
        }
    }
    (kills, crashes)
}

pub(crate) fn rollout_td(version: &str) -> String {
    format!(
        r#"{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"roll"}},"spec":{{"containerDefinitions":[{{"name":"main","image":"{IMAGE}","memory":16,"stopTimeout":{STOP_TIMEOUT},"command":["sh","-c","trap '' TERM; echo {version}; while true; do sleep 1; done"],"healthCheck":{{"command":["CMD-SHELL","true"],"interval":{HEALTH_INTERVAL},"timeout":2,"retries":1}}}}]}}}}"#
    )
}

/// Wall time of a rolling update of 10 tasks (min 100%, max 200%).
pub(crate) fn ecsctl_rollout() -> Duration {
    let server = Server::start();
    let svc = r#"{"apiVersion":"ecs/v1","kind":"Service","metadata":{"name":"roll"},"spec":{"taskDefinition":"roll","desiredCount":10,"deploymentConfiguration":{"minimumHealthyPercent":100,"maximumPercent":200}}}"#;
    server.apply(&format!("[{},{svc}]", rollout_td("v1")));
    wait_rolled(&server, "roll:1", Duration::from_secs(120));
    let t0 = Instant::now();
    server.apply(&format!("[{}]", rollout_td("v2")));
    wait_rolled(&server, "roll:2", Duration::from_secs(120));
    t0.elapsed()
}

pub(crate) struct Idle {
    pub(crate) server_cpu: f64,
    pub(crate) server_rss: f64,
    pub(crate) dockerd_cpu: f64,
    pub(crate) dockerd_rss: f64,
}

/// A server with 50 running tasks (their metrics being read), left alone for `secs`.
pub(crate) fn ecsctl_idle(secs: u64) -> Idle {
    let server = Server::start();
    server.apply(&format!(
        "[{},{}]",
        sleeper_td(),
        service("idle", "sleeper", 50)
    ));
    wait_running(&server, 50, &[], Duration::from_secs(300));
    let t0 = Instant::now();
    while task_metrics(&server).len() < 50 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "not every task has metrics after 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(5)); // let the start-up work settle
    let pid = server.child.id();
    let dockerd = dockerd_pid();
    let (s0, d0) = (cpu_ticks(pid), cpu_ticks(dockerd));
    std::thread::sleep(Duration::from_secs(secs));
    let (s1, d1) = (cpu_ticks(pid), cpu_ticks(dockerd));
    Idle {
        server_cpu: core_pct(s1 - s0, secs),
        server_rss: rss_mib(pid),
        dockerd_cpu: core_pct(d1 - d0, secs),
        dockerd_rss: rss_mib(dockerd),
    }
}
