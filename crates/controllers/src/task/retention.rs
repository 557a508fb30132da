//! Stopped tasks are kept, with their exit codes and reasons, but not forever: beyond a
//! bound per cluster the oldest are deleted (and the task controller of their instance then
//! removes their containers). A control-plane loop ([`run`]): agents only report.

use crate::Context;
use api::task::{TaskPhase, TaskStatus};
use api::{Kind, Object, ObjectKey};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::{info, warn};

/// How often the pass runs without a task stopping.
const EVERY: Duration = Duration::from_secs(30);
/// The shortest time between two passes started by tasks stopping.
const PAUSE: Duration = Duration::from_secs(1);

/// Runs the retention pass soon after tasks stop (at most once a second, however many
/// stop), so that the bound holds between resyncs: every write that counts a cluster's
/// tasks (admission's caps) reads them all. And every 30 s.
pub async fn run(ctx: Context, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
    let notify = ctx.task_stopped.clone();
    let watcher = tokio::spawn(notice_stops(ctx.clone()));
    let passes = async {
        loop {
            forget_old_stopped_tasks(&ctx).await;
            tokio::time::sleep(PAUSE).await;
            let _ = tokio::time::timeout(EVERY, notify.notified()).await;
        }
    };
    tokio::select! {
        () = passes => {}
        () = shutdown => {}
    }
    watcher.abort();
}

/// Wakes the pass whenever the store shows a task STOPPED.
async fn notice_stops(ctx: Context) {
    loop {
        let mut watch = match ctx.store.watch(ctx.store.revision()).await {
            Ok(w) => w,
            Err(e) => {
                warn!(error = %e, "retention: cannot watch the store; retrying");
                tokio::time::sleep(PAUSE).await;
                continue;
            }
        };
        while let Some(Ok(ev)) = watch.next().await {
            if ev.object.kind == Kind::Task
                && ev.event_type != store::WatchEventType::Deleted
                && is_stopped(&ev.object)
            {
                ctx.task_stopped.notify_one();
            }
        }
    }
}

/// Deletes the stopped tasks beyond the retention bound; their containers go with them.
async fn forget_old_stopped_tasks(ctx: &Context) {
    let Ok(list) = ctx.store.list(&store::ListQuery::new(Kind::Task)).await else {
        return;
    };
    let expired = expired(&list.items, ctx.keep_stopped_tasks);
    if expired.is_empty() {
        return;
    }
    // One transaction for them all: a write per task would hold up every other write.
    match ctx.store.delete_all(expired).await {
        Ok(deleted) => {
            for t in &deleted {
                info!(task = %t.metadata.name, "forgot a stopped task (retention bound)");
            }
        }
        Err(e) => warn!(error = %e, "cannot delete the stopped tasks beyond the bound"),
    }
}

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
