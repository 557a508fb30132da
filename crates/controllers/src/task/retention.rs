//! Stopped tasks are kept, with their exit codes and reasons, but not forever: beyond a
//! bound per cluster the oldest are deleted (and the task controller then removes their
//! containers).

use api::task::{TaskPhase, TaskStatus};
use api::{Object, ObjectKey};
use std::collections::BTreeMap;

/// Stopped tasks kept per cluster by default.
pub const DEFAULT_KEEP_STOPPED: usize = 100;

/// Whether the controller has reported `task` STOPPED.
pub fn is_stopped(task: &Object) -> bool {
    task.status.get("lastStatus").and_then(|v| v.as_str()) == Some("STOPPED")
}

/// The stopped tasks to delete so that at most `keep` remain in each cluster: the ones that
/// stopped first go first.
pub fn expired(tasks: &[Object], keep: usize) -> Vec<ObjectKey> {
    let mut by_cluster: BTreeMap<&str, Vec<(String, ObjectKey)>> = BTreeMap::new();
    for t in tasks {
        let Ok(status) = t.status_as::<TaskStatus>() else {
            continue;
        };
        if status.last_status == TaskPhase::Stopped {
            let at = status.stopped_at.unwrap_or_default();
            by_cluster
                .entry(t.metadata.cluster_or_default())
                .or_default()
                .push((at, t.key()));
        }
    }
    let mut out = Vec::new();
    for (_, mut stopped) in by_cluster {
        if stopped.len() > keep {
            stopped.sort();
            let extra = stopped.len() - keep;
            out.extend(stopped.into_iter().take(extra).map(|(_, k)| k));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Kind;
    use serde_json::json;

    fn task(name: &str, cluster: &str, phase: &str, stopped_at: &str) -> Object {
        let mut o = Object::new(Kind::Task, name, json!({"taskDefinition": "x"}));
        o.metadata.cluster = Some(cluster.into());
        o.status = json!({"lastStatus": phase, "desiredStatus": "STOPPED", "healthStatus": "UNKNOWN", "stoppedAt": stopped_at});
        o
    }

    #[test]
    fn keeps_the_newest_stopped_tasks_per_cluster() {
        let tasks = vec![
            task("a", "one", "STOPPED", "2026-01-01T00:00:03Z"),
            task("b", "one", "STOPPED", "2026-01-01T00:00:01Z"),
            task("c", "one", "RUNNING", ""),
            task("d", "one", "STOPPED", "2026-01-01T00:00:02Z"),
            task("e", "two", "STOPPED", "2026-01-01T00:00:00Z"),
        ];
        let names: Vec<String> = expired(&tasks, 1).into_iter().map(|k| k.name).collect();
        assert_eq!(names, vec!["b", "d"]);
        assert!(expired(&tasks, 3).is_empty());
    }
}
