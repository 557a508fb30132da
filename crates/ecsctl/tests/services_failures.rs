//! Services that fail, end to end on real Docker, through the real binary: the circuit
//! breaker rolling back (old tasks survive), and a server killed with -9 in the middle of a
//! rollout. Each test's containers are removed by its server's drop guard.
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
