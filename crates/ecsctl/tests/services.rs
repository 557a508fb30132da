//! Services end to end on real Docker, through the real binary: desired count kept (a killed
//! container replaced), scale out and in, delete drains; rolling updates sampled every 100 ms
//! against ECS's bounds. The circuit breaker and a server killed mid-rollout are in
//! `services_failures.rs`. Each test's containers are removed by its server's drop guard.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::services::*;
use support::{Server, docker};

#[test]
fn keeps_desired_count_replaces_killed_scales_and_drains_on_delete() {
    let s = Server::start();
    let t0 = Instant::now();
    let o = apply(
        &s,
        &format!(
            "{}---\n{}",
            td("web", "v1"),
            service("web", "web", 3, 100, 200, false)
        ),
        &["--wait", "--timeout", "30s"],
    );
    assert!(o.status.success(), "apply --wait: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("service/web created") && out.contains("service/web successfully rolled out"),
        "{out}"
    );
    eprintln!(
        "timing: 3 tasks RUNNING after apply --wait: {:?}",
        t0.elapsed()
    );
    let ts = tasks(&s, "web");
    assert_eq!(ts.iter().filter(|t| healthy(t)).count(), 3, "{ts:#?}");
    wait_containers(&s, "web", 3, Duration::from_secs(5));

    // docker kill one container behind ecsctl's back: a replacement runs within 2 s.
    let victim = containers(&s, "web")[0].clone();
    let before: BTreeSet<String> = ts
        .iter()
        .map(|t| field(t, "/metadata/name").to_string())
        .collect();
    let killed = docker(&["kill", &victim]);
    assert!(killed.status.success(), "{}", text(&killed));
    let t0 = Instant::now();
    wait_tasks(&s, "web", Duration::from_secs(5), "replacement", |ts| {
        let running: Vec<&Value> = ts.iter().filter(|t| healthy(t)).collect();
        running.len() == 3
            && running
                .iter()
                .any(|t| !before.contains(field(t, "/metadata/name")))
    });
    let replaced_in = t0.elapsed();
    eprintln!("timing: docker kill -> replacement task RUNNING: {replaced_in:?}");
    assert!(
        replaced_in < Duration::from_secs(2),
        "replacement took {replaced_in:?}"
    );
    wait_tasks(
        &s,
        "web",
        Duration::from_secs(2),
        "killed task STOPPED",
        |ts| ts.iter().filter(|t| present(t)).count() == 3,
    );
    let events = ok(&s, &["events"]);
    assert!(
        events.contains("(service web) has started 1 tasks: (task "),
        "{events}"
    );

    // Scale out to 5 (seen by a running `events -w`), then in to 1.
    let mut follow = std::process::Command::new(support::BIN)
        .args(["events", "-w"])
        .env("ECSCTL_HOME", s.home())
        .env_remove("ECSCTL_SERVER")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("events -w");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        ok(&s, &["scale", "service", "web", "--replicas", "5"]),
        "service/web scaled to 5\n"
    );
    let t0 = Instant::now();
    ok(
        &s,
        &["rollout", "status", "service/web", "--timeout", "20s"],
    );
    eprintln!("timing: scale 3 -> 5 steady: {:?}", t0.elapsed());
    let ts = tasks(&s, "web");
    assert_eq!(ts.iter().filter(|t| healthy(t)).count(), 5);
    wait_containers(&s, "web", 5, Duration::from_secs(5));
    let _ = follow.kill();
    let followed = follow.wait_with_output().expect("events -w output");
    let followed = String::from_utf8_lossy(&followed.stdout);
    assert!(
        followed.starts_with("AGE ")
            && followed.contains("service/web   (service web) has started 2 tasks: (task ")
            && followed
                .lines()
                .last()
                .is_some_and(|l| l.ends_with("(service web) has reached a steady state.")),
        "{followed}"
    );

    assert_eq!(
        ok(&s, &["scale", "svc/web", "--replicas", "1"]),
        "service/web scaled to 1\n"
    );
    let t0 = Instant::now();
    ok(
        &s,
        &["rollout", "status", "service/web", "--timeout", "20s"],
    );
    wait_containers(&s, "web", 1, Duration::from_secs(10));
    eprintln!("timing: scale 5 -> 1, containers gone: {:?}", t0.elapsed());
    wait_tasks(&s, "web", Duration::from_secs(5), "4 tasks STOPPED", |ts| {
        ts.iter().filter(|t| present(t)).count() == 1
    });
    let svc = get_service(&s, "web");
    assert_eq!(svc["status"]["desiredCount"], 1);
    assert_eq!(svc["status"]["runningCount"], 1);

    // Delete: every container of the service stops.
    ok(&s, &["delete", "service", "web"]);
    let t0 = Instant::now();
    wait_containers(&s, "web", 0, Duration::from_secs(10));
    eprintln!("timing: delete service -> no container: {:?}", t0.elapsed());
    wait_tasks(
        &s,
        "web",
        Duration::from_secs(5),
        "all tasks STOPPED",
        |ts| ts.iter().all(|t| !present(t)),
    );
}

/// Rolls 3 tasks from web:1 to web:2 with the given bounds and returns the samples.
fn rolling_update(min: u32, max: u32) -> Vec<Sample> {
    let s = Server::start();
    let o = apply(
        &s,
        &format!(
            "{}---\n{}",
            td("web", "v1"),
            service("web", "web", 3, min, max, false)
        ),
        &["--wait", "--timeout", "30s"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = apply(&s, &td("web", "v2"), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let t0 = Instant::now();
    let (status, samples) = sampled(&s, "web", t0, || {
        s.run(&["rollout", "status", "service/web", "--timeout", "30s"])
    });
    eprintln!(
        "timing: rolling update 3 tasks min {min} max {max}: {:?}, {} samples\n{}",
        t0.elapsed(),
        samples.len(),
        summary(&samples)
    );
    assert!(status.status.success(), "rollout status: {}", text(&status));
    let out = String::from_utf8_lossy(&status.stdout);
    assert!(out.contains("Waiting for deployment ecs-svc/"), "{out}");
    assert!(out.contains("(web:2)"), "{out}");
    let ts = tasks(&s, "web");
    let running: Vec<String> = ts
        .iter()
        .filter(|t| healthy(t))
        .map(task_definition)
        .collect();
    assert_eq!(running, ["web:2", "web:2", "web:2"], "{ts:#?}");
    assert_eq!(ts.iter().filter(|t| present(t)).count(), 3);
    let history = ok(&s, &["rollout", "history", "service/web"]);
    assert!(
        history.starts_with("ID ") && history.lines().count() == 3,
        "{history}"
    );
    assert!(
        history.contains("web:2") && history.contains("COMPLETED"),
        "{history}"
    );
    samples
}

#[test]
fn rolling_update_min_100_max_200_keeps_the_bounds() {
    let samples = rolling_update(100, 200);
    let low = samples.iter().map(|x| x.healthy).min().unwrap_or(0);
    let high = samples.iter().map(|x| x.total).max().unwrap_or(0);
    assert!(
        low >= 3 && high <= 6,
        "healthy min {low} (>= 3), total max {high} (<= 6):\n{}",
        summary(&samples)
    );
    // The rollout was seen in the middle, not only before and after.
    assert!(
        samples.iter().any(
            |x| x.total > 3 || (x.by_td.contains_key("web:2") && x.by_td.contains_key("web:1"))
        ),
        "{}",
        summary(&samples)
    );
}

#[test]
fn rolling_update_min_50_max_100_keeps_the_bounds() {
    let samples = rolling_update(50, 100);
    let low = samples.iter().map(|x| x.healthy).min().unwrap_or(0);
    let high = samples.iter().map(|x| x.total).max().unwrap_or(0);
    assert!(
        low >= 2 && high <= 3,
        "healthy min {low} (>= 2), total max {high} (<= 3):\n{}",
        summary(&samples)
    );
}
