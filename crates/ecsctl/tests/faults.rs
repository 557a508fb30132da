//! Crash safety: the server is killed with -9 twenty times at arbitrary moments while
//! applies, scale changes and a rollout are in flight. After each restart every
//! acknowledged write is there, and in the end the system converges with no duplicated or
//! orphaned container (an audit by label).
// The Docker tier: built with `--features docker-tests` (scripts/test.sh), so that
// `cargo test` of the logic passes on a machine without Docker.
#![cfg(feature = "docker-tests")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::{Server, docker};

const TD: &str = "apiVersion: ecs/v1\nkind: TaskDefinition\nmetadata: {name: crashy}\nspec:\n  containerDefinitions:\n    - {name: main, image: ecsctl/busybox:local, memory: 16, stopTimeout: 1, command: [sh, -c, 'trap \"exit 0\" TERM; echo VERSION; while true; do sleep 0.2; done']}\n";

fn service(count: u32) -> String {
    format!(
        "apiVersion: ecs/v1\nkind: Service\nmetadata: {{name: crashy}}\nspec: {{taskDefinition: crashy, desiredCount: {count}}}\n"
    )
}

fn json(s: &Server, args: &[&str]) -> serde_json::Value {
    let o = s.run(args);
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

/// A cheap pseudo-random sequence (no dependency): the moments of the kills.
fn delays(n: usize) -> Vec<u64> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 400
        })
        .collect()
}

#[test]
fn twenty_kill_9s_lose_no_acknowledged_write_and_leave_no_duplicate() {
    let mut s = Server::start();
    s.apply(&TD.replace("VERSION", "v0"));
    s.apply(&service(2));
    let mut acknowledged: BTreeMap<&str, String> = BTreeMap::new();
    for (i, delay) in delays(20).into_iter().enumerate() {
        // Something in flight: a scale change, a new revision (a rollout), or both.
        let count = 1 + (i as u32 % 3);
        let yaml = if i % 4 == 0 {
            format!(
                "{}---\n{}",
                TD.replace("VERSION", &format!("v{i}")),
                service(count)
            )
        } else {
            service(count)
        };
        let path = s.dir.path().join(format!("change-{i}.yaml"));
        std::fs::write(&path, &yaml).expect("write");
        let o = s.run(&["apply", "-f", &path.display().to_string()]);
        if o.status.success() {
            acknowledged.insert("desiredCount", count.to_string());
            if i % 4 == 0 {
                acknowledged.insert("revision", format!("v{i}"));
            }
        }
        std::thread::sleep(Duration::from_millis(delay));
        s.kill9();
        s.spawn();
        // Every acknowledged write survived the crash.
        let svc = json(&s, &["get", "svc", "crashy", "-o", "json"]);
        assert_eq!(
            svc["spec"]["desiredCount"].to_string(),
            acknowledged["desiredCount"],
            "after kill {i}"
        );
        if let Some(v) = acknowledged.get("revision") {
            let td = json(&s, &["get", "td", "crashy", "-o", "json"]);
            assert!(
                td["spec"].to_string().contains(v.as_str()),
                "after kill {i}: {td}"
            );
        }
    }
    // Converge: the service runs exactly its desired count of the latest revision.
    let want: usize = acknowledged["desiredCount"].parse().expect("count");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tasks = json(&s, &["get", "tasks", "-o", "json"]);
        let running: Vec<&serde_json::Value> = tasks["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|t| {
                        t["status"]["lastStatus"] == "RUNNING"
                            && t["status"]["desiredStatus"] == "RUNNING"
                    })
                    .collect()
            })
            .unwrap_or_default();
        let containers = s.containers("label=ecsctl.container=main");
        if running.len() == want && containers.len() == want {
            // Label audit: one container per running task, none without a task object.
            let names: BTreeSet<String> = tasks["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t["metadata"]["name"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let mut per_task: BTreeMap<String, usize> = BTreeMap::new();
            for id in &containers {
                let o = docker(&[
                    "inspect",
                    "-f",
                    "{{index .Config.Labels \"ecsctl.task\"}}",
                    id,
                ]);
                let task = String::from_utf8_lossy(&o.stdout).trim().to_string();
                assert!(
                    names.contains(&task),
                    "container {id} of unknown task {task}: an orphan"
                );
                *per_task.entry(task).or_default() += 1;
            }
            assert!(
                per_task.values().all(|n| *n == 1),
                "duplicated containers: {per_task:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not converge: {} running tasks, {} containers, want {want}\n{}",
            running.len(),
            containers.len(),
            s.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
