//! Helpers of the service end-to-end tests (`services.rs`, `services_failures.rs`): the
//! manifests they apply, reading a service's tasks, and sampling them during a rollout.

use super::Server;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A task definition of one container that stops at once on SIGTERM (stopTimeout 1).
pub fn td(family: &str, tag: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {family}}}\nspec:\n  containerDefinitions:\n    - {{name: main, image: ecsctl/busybox:local, memory: 16, stopTimeout: 1, command: [sh, -c, 'trap \"exit 0\" TERM; echo {tag}; while true; do sleep 0.2; done']}}\n"
    )
}

/// A revision whose only container exits with code 1 at once. It has a health check, so its
/// tasks never count as healthy: without one a task counts once RUNNING (as in ECS), and a
/// loaded machine can show all three RUNNING before their exits are seen, which lets the
/// rollout stop the old tasks (seen once in CI).
pub fn crashing_td(family: &str) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {{name: {family}}}\nspec:\n  containerDefinitions:\n    - {{name: main, image: ecsctl/busybox:local, memory: 16, stopTimeout: 1, command: [sh, -c, 'exit 1'], healthCheck: {{command: [CMD-SHELL, 'true'], interval: 5}}}}\n"
    )
}

pub fn service(
    name: &str,
    family: &str,
    desired: u32,
    min: u32,
    max: u32,
    breaker: bool,
) -> String {
    let breaker = if breaker {
        ", deploymentCircuitBreaker: {enable: true, rollback: true}"
    } else {
        ""
    };
    format!(
        "apiVersion: ecs/v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  taskDefinition: {family}\n  desiredCount: {desired}\n  deploymentConfiguration: {{minimumHealthyPercent: {min}, maximumPercent: {max}{breaker}}}\n"
    )
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs ecsctl and insists on exit 0.
pub fn ok(s: &Server, args: &[&str]) -> String {
    let o = s.run(args);
    assert!(o.status.success(), "ecsctl {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `ecsctl apply -f FILE EXTRA...` of a YAML text.
pub fn apply(s: &Server, yaml: &str, extra: &[&str]) -> Output {
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

/// Applies the task definition `web` (its container echoes `tag`) and the service `web` with
/// `desired` tasks (min 100% / max 200%, no circuit breaker), and waits for the rollout.
pub fn deploy_web(s: &Server, tag: &str, desired: u32) {
    let o = apply(
        s,
        &format!(
            "{}---\n{}",
            td("web", tag),
            service("web", "web", desired, 100, 200, false)
        ),
        &["--wait", "--timeout", "60s"],
    );
    assert!(o.status.success(), "{}", text(&o));
}

/// The Task objects of a service (`get tasks -l ecsctl.service=NAME -o json`).
pub fn tasks(s: &Server, svc: &str) -> Vec<Value> {
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

pub fn field<'a>(t: &'a Value, ptr: &str) -> &'a str {
    t.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// Not STOPPED yet (still counts against maximumPercent).
pub fn present(t: &Value) -> bool {
    field(t, "/status/lastStatus") != "STOPPED"
}

/// RUNNING and not asked to stop (what counts against minimumHealthyPercent here: the task
/// definitions have no health checks).
pub fn healthy(t: &Value) -> bool {
    field(t, "/status/lastStatus") == "RUNNING"
        && field(t, "/spec/desiredStatus") != "STOPPED"
        && field(t, "/status/desiredStatus") != "STOPPED"
}

pub fn task_definition(t: &Value) -> String {
    let st = field(t, "/status/taskDefinition");
    if st.is_empty() {
        field(t, "/spec/taskDefinition").to_string()
    } else {
        st.to_string()
    }
}

pub fn get_service(s: &Server, name: &str) -> Value {
    serde_json::from_str(&ok(s, &["get", "service", name, "-o", "json"])).expect("json")
}

/// Waits until `pred` holds for the service's tasks; panics with them and the log.
pub fn wait_tasks(
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
pub fn containers(s: &Server, svc: &str) -> Vec<String> {
    s.containers(&format!("label=ecsctl.service={svc}"))
}

pub fn wait_containers(s: &Server, svc: &str, n: usize, within: Duration) {
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
pub struct Sample {
    pub at: Duration,
    pub healthy: usize,
    pub total: usize,
    /// Healthy tasks by task definition.
    pub by_td: BTreeMap<String, usize>,
    /// Ids of tasks not STOPPED.
    pub present: BTreeSet<String>,
}

pub fn sample(s: &Server, svc: &str, t0: Instant) -> Sample {
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
pub fn sampled<T: Send>(
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

pub fn summary(samples: &[Sample]) -> String {
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
