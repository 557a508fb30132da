//! Measured metrics on real Docker: a task burning a core against a quarter-core reservation
//! shows far more than 100% CPU in `ecsctl top tasks` within seconds, an idle one almost none.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use std::time::{Duration, Instant};
use support::Server;

const MANIFESTS: &str = "\
apiVersion: ecs/v1
kind: TaskDefinition
metadata: {name: burn}
spec:
  containerDefinitions:
    - {name: main, image: ecsctl/busybox:local, cpu: 256, memory: 32, stopTimeout: 1, command: [sh, -c, 'while :; do :; done']}
---
apiVersion: ecs/v1
kind: TaskDefinition
metadata: {name: idle}
spec:
  containerDefinitions:
    - {name: main, image: ecsctl/busybox:local, cpu: 256, memory: 32, stopTimeout: 1, command: [sleep, '3600']}
---
apiVersion: ecs/v1
kind: Task
metadata: {name: t-burn}
spec: {taskDefinition: burn}
---
apiVersion: ecs/v1
kind: Task
metadata: {name: t-idle}
spec: {taskDefinition: idle}
";

/// The CPU% column of a task in `ecsctl top tasks`.
fn cpu_of(top: &str, task: &str) -> Option<f64> {
    let mut lines = top.lines();
    let header = lines.next()?;
    let col = header.split_whitespace().position(|h| h == "CPU%")?;
    lines
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&task))
        .and_then(|cells| cells.get(col)?.trim_end_matches('%').parse().ok())
}

#[test]
fn top_tasks_shows_a_burning_task_above_its_reservation_and_an_idle_one_near_zero() {
    let s = Server::start_with(&["--metrics-interval", "1s"]);
    s.apply(MANIFESTS);
    for t in ["t-burn", "t-idle"] {
        s.wait_task(t, Duration::from_secs(20), |st| {
            st["lastStatus"] == "RUNNING"
        });
    }
    let running = Instant::now();
    let (mut burn, mut idle, mut last) = (None, None, String::new());
    while running.elapsed() < Duration::from_secs(5) {
        let o = s.run(&["top", "tasks"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        last = String::from_utf8_lossy(&o.stdout).to_string();
        burn = cpu_of(&last, "t-burn");
        idle = cpu_of(&last, "t-idle");
        if burn.is_some_and(|b| b > 100.0) && idle.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        burn.is_some_and(|b| b > 100.0),
        "burning task not above 100% within 5 s:\n{last}\nserver log:\n{}",
        s.log()
    );
    assert!(idle.is_some_and(|i| i < 10.0), "idle task:\n{last}");

    // The service-less tasks are not services; `top services` says there is nothing.
    let o = s.run(&["top", "services"]);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("No metrics of services"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // A service's tasks are averaged: `top services` and `get service -o json` show it.
    s.apply(
        "apiVersion: ecs/v1\nkind: Service\nmetadata: {name: hot}\nspec: {taskDefinition: burn, desiredCount: 1}\n",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = s.run(&["get", "service", "hot", "-o", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        let cpu = v["status"]["metrics"]["cpuPercent"].as_f64();
        if cpu.is_some_and(|c| c > 100.0) && v["status"]["metrics"]["tasks"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "service metrics: {v:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let top = String::from_utf8_lossy(&s.run(&["top", "services"]).stdout).to_string();
    assert!(top.starts_with("NAME") && top.contains("hot"), "{top}");
}
