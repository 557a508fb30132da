//! Services end to end on real Docker, through the real binary: desired count kept (a killed
//! container replaced), scale out and in, delete drains; rolling updates sampled every 100 ms
//! against ECS's bounds; the circuit breaker rolling back; a server killed with -9 in the
//! middle of a rollout. Each test's containers are removed by its server's drop guard.
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::{Server, docker};

/// A task definition of one container that stops at once on SIGTERM (stopTimeout 1).
fn td(family: &str, tag: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {family}}}\nspec:\n  containerDefinitions:\n    - {{name: main, image: ecsctl/busybox:local, memory: 16, stopTimeout: 1, command: [sh, -c, 'trap \"exit 0\" TERM; echo {tag}; while true; do sleep 0.2; done']}}\n"
    )
}

/// A revision whose only container exits with code 1 at once. It has a health check, so its
/// tasks never count as healthy: without one a task counts once RUNNING (as in ECS), and a
/// loaded machine can show all three RUNNING before their exits are seen, which lets the
/// rollout stop the old tasks (seen once in CI).
fn crashing_td(family: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {family}}}\nspec:\n  containerDefinitions:\n    - {{name: main, image: ecsctl/busybox:local, memory: 16, stopTimeout: 1, command: [sh, -c, 'exit 1'], healthCheck: {{command: [CMD-SHELL, 'true'], interval: 5}}}}\n"
    )
}

fn service(name: &str, family: &str, desired: u32, min: u32, max: u32, breaker: bool) -> String {
    let breaker = if breaker {
        ", deploymentCircuitBreaker: {enable: true, rollback: true}"
    } else {
        ""
    };
    format!(
        "apiVersion: ecs/v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  taskDefinition: {family}\n  desiredCount: {desired}\n  deploymentConfiguration: {{minimumHealthyPercent: {min}, maximumPercent: {max}{breaker}}}\n"
    )
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs ecsctl and insists on exit 0.
fn ok(s: &Server, args: &[&str]) -> String {
    let o = s.run(args);
    assert!(o.status.success(), "ecsctl {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `ecsctl apply -f FILE EXTRA...` of a YAML text.
fn apply(s: &Server, yaml: &str, extra: &[&str]) -> Output {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let path = s
        .dir
        .path()
        .join(format!("m{}.yaml", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, yaml).expect("write manifest");
    let path = path.display().to_string();
    let mut args = vec!["apply", "-f", &path];
    args.extend_from_slice(extra);
    s.run(&args)
}

/// The Task objects of a service (`get tasks -l ecsctl.service=NAME -o json`).
fn tasks(s: &Server, svc: &str) -> Vec<Value> {
    let out = ok(
        s,
        &[
            "get",
            "tasks",
            "-l",
            &format!("ecsctl.service={svc}"),
            "-o",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&out).expect("json");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn field<'a>(t: &'a Value, ptr: &str) -> &'a str {
    t.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// Not STOPPED yet (still counts against maximumPercent).
fn present(t: &Value) -> bool {
    field(t, "/status/lastStatus") != "STOPPED"
}

/// RUNNING and not asked to stop (what counts against minimumHealthyPercent here: the task
/// definitions have no health checks).
fn healthy(t: &Value) -> bool {
    field(t, "/status/lastStatus") == "RUNNING"
        && field(t, "/spec/desiredStatus") != "STOPPED"
        && field(t, "/status/desiredStatus") != "STOPPED"
}

fn task_definition(t: &Value) -> String {
    let st = field(t, "/status/taskDefinition");
    if st.is_empty() {
        field(t, "/spec/taskDefinition").to_string()
    } else {
        st.to_string()
    }
}

fn get_service(s: &Server, name: &str) -> Value {
    serde_json::from_str(&ok(s, &["get", "service", name, "-o", "json"])).expect("json")
}

/// Waits until `pred` holds for the service's tasks; panics with them and the log.
fn wait_tasks(
    s: &Server,
    svc: &str,
    within: Duration,
    what: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let ts = tasks(s, svc);
        if pred(&ts) {
            return ts;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {within:?}; tasks: {:#}\nserver log:\n{}",
            Value::Array(ts),
            s.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Running containers of this server for a service (by label).
fn containers(s: &Server, svc: &str) -> Vec<String> {
    s.containers(&format!("label=ecsctl.service={svc}"))
}

fn wait_containers(s: &Server, svc: &str, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while containers(s, svc).len() != n {
        assert!(
            Instant::now() < deadline,
            "expected {n} running containers of {svc}, have {}\nserver log:\n{}",
            containers(s, svc).len(),
            s.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One look at the service's tasks during a rollout.
#[derive(Debug, Clone)]
struct Sample {
    at: Duration,
    healthy: usize,
    total: usize,
    /// Healthy tasks by task definition.
    by_td: BTreeMap<String, usize>,
    /// Ids of tasks not STOPPED.
    present: BTreeSet<String>,
}

fn sample(s: &Server, svc: &str, t0: Instant) -> Sample {
    let ts = tasks(s, svc);
    let mut by_td = BTreeMap::new();
    for t in ts.iter().filter(|t| healthy(t)) {
        *by_td.entry(task_definition(t)).or_insert(0) += 1;
    }
    Sample {
        at: t0.elapsed(),
        healthy: ts.iter().filter(|t| healthy(t)).count(),
        total: ts.iter().filter(|t| present(t)).count(),
        by_td,
        present: ts
            .iter()
            .filter(|t| present(t))
            .map(|t| field(t, "/metadata/name").to_string())
            .collect(),
    }
}

/// Runs `during` while sampling the service's tasks every 100 ms; returns its result and
/// the samples (one before and one after included), timed from `t0`.
fn sampled<T: Send>(
    s: &Server,
    svc: &str,
    t0: Instant,
    during: impl FnOnce() -> T + Send,
) -> (T, Vec<Sample>) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut samples = vec![sample(s, svc, t0)];
            while !stop.load(Ordering::Relaxed) {
                let next = Instant::now() + Duration::from_millis(100);
                samples.push(sample(s, svc, t0));
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            samples.push(sample(s, svc, t0));
            samples
        });
        let result = during();
        stop.store(true, Ordering::Relaxed);
        (result, sampler.join().expect("sampler"))
    })
}

fn summary(samples: &[Sample]) -> String {
    samples
        .iter()
        .map(|x| {
            format!(
                "{:>5}ms healthy {} total {} {:?}",
                x.at.as_millis(),
                x.healthy,
                x.total,
                x.by_td
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

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

#[test]
fn circuit_breaker_rolls_back_and_old_tasks_survive() {
    let s = Server::start();
    let o = apply(
        &s,
        &format!(
            "{}---\n{}",
            td("web", "v1"),
            service("web", "web", 3, 100, 200, true)
        ),
        &["--wait", "--timeout", "30s"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let old: BTreeSet<String> = tasks(&s, "web")
        .iter()
        .map(|t| field(t, "/metadata/name").to_string())
        .collect();
    assert_eq!(old.len(), 3);

    let o = apply(&s, &crashing_td("web"), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let t0 = Instant::now();
    let (status, samples) = sampled(&s, "web", t0, || {
        let status = s.run(&["rollout", "status", "service/web", "--timeout", "30s"]);
        let failed_at = t0.elapsed();
        // Keep sampling until the rollback itself has finished.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let svc = get_service(&s, "web");
            let deps = svc["status"]["deployments"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let primary = deps.iter().find(|d| d["status"] == "PRIMARY").cloned();
            let steady = svc["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "SteadyState" && c["status"] == "True")
            });
            if primary
                .as_ref()
                .is_some_and(|p| p["taskDefinition"] == "web:1" && p["rolloutState"] == "COMPLETED")
                && steady
            {
                break (status, failed_at, svc);
            }
            assert!(
                Instant::now() < deadline,
                "no rollback: {svc:#}\n{}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let (status, failed_at, svc) = status;
    eprintln!(
        "timing: rollout status failed after {failed_at:?}; rolled back to steady state after {:?}\n{}",
        t0.elapsed(),
        summary(&samples)
    );
    // rollout status: non-zero, with the reason and the rollback.
    assert_eq!(status.status.code(), Some(1), "{}", text(&status));
    let err = String::from_utf8_lossy(&status.stderr);
    assert!(
        err.contains("(web:2) failed: ECS deployment circuit breaker")
            && err.contains("rolled back to web:1"),
        "{err}"
    );
    // The breaker tripped after 3 failures; the rollback deployment points at it.
    let deps = svc["status"]["deployments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let failed = deps
        .iter()
        .find(|d| d["taskDefinition"] == "web:2")
        .expect("web:2 deployment");
    assert_eq!(failed["rolloutState"], "FAILED", "{deps:#?}");
    // The threshold is clamp(ceil(3 / 2), 3, 200) = 3. Failures seen in one pass are counted
    // together (2 -> 4 when two tasks die between looks, as in ECS), but never more than the
    // 3 tasks the 200% bound lets run beside the old ones after the 2 before the threshold.
    let failures = failed["failedTasks"].as_u64().unwrap_or(0);
    assert!((3..=5).contains(&failures), "{deps:#?}");
    let primary = deps
        .iter()
        .find(|d| d["status"] == "PRIMARY")
        .expect("primary");
    assert_eq!(primary["rolledBackFrom"], failed["id"], "{deps:#?}");
    // The old tasks were never all stopped while the bad revision was rolled out, and some
    // web:1 task ran at every moment, the rollback included.
    for x in samples.iter().filter(|x| x.at <= failed_at) {
        assert!(
            x.present.iter().any(|id| old.contains(id)),
            "at {:?} every old task had stopped:\n{}",
            x.at,
            summary(&samples)
        );
    }
    for x in &samples {
        assert!(
            x.by_td.get("web:1").is_some_and(|n| *n >= 1),
            "at {:?} no web:1 task was running:\n{}",
            x.at,
            summary(&samples)
        );
    }
    let ts = tasks(&s, "web");
    let running: Vec<String> = ts
        .iter()
        .filter(|t| healthy(t))
        .map(task_definition)
        .collect();
    assert_eq!(running, ["web:1", "web:1", "web:1"], "{ts:#?}");
    let bad_stopped = ts
        .iter()
        .filter(|t| task_definition(t) == "web:2" && !present(t))
        .count();
    assert!(bad_stopped >= 3, "{ts:#?}");
    let events = ok(&s, &["events"]);
    assert!(
        events.contains("deployment failed: tasks failed to start.")
            && events.contains("rolling back to task definition web:1"),
        "{events}"
    );
    // `rollout status` keeps saying so while the spec asks for the failed revision.
    let again = s.run(&["rollout", "status", "service/web", "--timeout", "5s"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let history = ok(&s, &["rollout", "history", "service/web"]);
    assert!(
        history.lines().count() == 4
            && history.contains("web:2             FAILED      ")
            && history
                .lines()
                .last()
                .is_some_and(|l| l.contains("PRIMARY    web:1             COMPLETED")),
        "{history}"
    );

    // undo pins the revision the breaker went back to; the rollout is then a success.
    assert_eq!(
        ok(&s, &["rollout", "undo", "service/web"]),
        "service/web rolled back to web:1\n"
    );
    let svc = get_service(&s, "web");
    assert_eq!(svc["spec"]["taskDefinition"], "web:1");
    ok(
        &s,
        &["rollout", "status", "service/web", "--timeout", "10s"],
    );

    // restart replaces every task with a new deployment of the same revision.
    let before: BTreeSet<String> = tasks(&s, "web")
        .iter()
        .filter(|t| healthy(t))
        .map(|t| field(t, "/metadata/name").to_string())
        .collect();
    assert_eq!(
        ok(&s, &["rollout", "restart", "service/web"]),
        "service/web restarted\n"
    );
    let out = ok(
        &s,
        &["rollout", "status", "service/web", "--timeout", "20s"],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    let after: BTreeSet<String> = tasks(&s, "web")
        .iter()
        .filter(|t| healthy(t))
        .map(|t| field(t, "/metadata/name").to_string())
        .collect();
    assert_eq!(after.len(), 3);
    assert!(after.is_disjoint(&before), "{before:?} {after:?}");
}

/// web:2 tasks wait ~2 s for an init container before they run: a window to kill the
/// server in.
fn slow_td(family: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {family}}}\nspec:\n  containerDefinitions:\n    - {{name: init, image: ecsctl/busybox:local, memory: 16, essential: false, command: [sh, -c, 'sleep 2']}}\n    - {{name: main, image: ecsctl/busybox:local, memory: 16, stopTimeout: 1, dependsOn: [{{containerName: init, condition: SUCCESS}}], command: [sh, -c, 'trap \"exit 0\" TERM; while true; do sleep 0.2; done']}}\n"
    )
}

#[test]
fn kill_9_mid_rollout_finishes_without_duplicates() {
    let mut s = Server::start();
    let o = apply(
        &s,
        &format!(
            "{}---\n{}",
            td("web", "v1"),
            service("web", "web", 3, 100, 200, false)
        ),
        &["--wait", "--timeout", "30s"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = apply(&s, &slow_td("web"), &[]);
    assert!(o.status.success(), "{}", text(&o));
    // Mid-rollout: web:2 tasks are starting (their init container runs), web:1 tasks still
    // run.
    wait_tasks(
        &s,
        "web",
        Duration::from_secs(10),
        "rollout started",
        |ts| {
            ts.iter().any(|t| {
                task_definition(t) == "web:2" && field(t, "/status/lastStatus") == "ACTIVATING"
            })
        },
    );
    let before = tasks(&s, "web");
    s.kill9();
    eprintln!(
        "killed mid-rollout with tasks: {:?}",
        before
            .iter()
            .filter(|t| present(t))
            .map(|t| (
                task_definition(t),
                field(t, "/status/lastStatus").to_string()
            ))
            .collect::<Vec<_>>()
    );
    s.spawn();
    let t0 = Instant::now();
    let status = s.run(&["rollout", "status", "service/web", "--timeout", "30s"]);
    eprintln!("timing: rollout finished {:?} after restart", t0.elapsed());
    assert!(status.status.success(), "{}\n{}", text(&status), s.log());
    // Settle, then count: exactly 3 tasks, all web:2 and RUNNING, one container each.
    std::thread::sleep(Duration::from_secs(1));
    let ts = tasks(&s, "web");
    let live: Vec<&Value> = ts.iter().filter(|t| present(t)).collect();
    assert_eq!(live.len(), 3, "{ts:#?}");
    assert!(
        live.iter()
            .all(|t| healthy(t) && task_definition(t) == "web:2"),
        "{ts:#?}"
    );
    let mains = s.containers("label=ecsctl.container=main");
    assert_eq!(mains.len(), 3, "running main containers: {mains:?}");
    let labels: BTreeSet<String> = mains
        .iter()
        .map(|id| {
            let o = docker(&[
                "inspect",
                "-f",
                "{{index .Config.Labels \"ecsctl.task\"}}",
                id,
            ]);
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
        .collect();
    let ids: BTreeSet<String> = live
        .iter()
        .map(|t| field(t, "/metadata/name").to_string())
        .collect();
    assert_eq!(labels, ids, "one container per live task");
}
