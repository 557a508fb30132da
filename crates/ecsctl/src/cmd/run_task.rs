//! `ecsctl run-task --task-definition FAMILY[:N]`: start standalone tasks (N `kind: Task`
//! objects applied in one request), optionally waiting until they run.

use super::{parse_duration, show_duration};
use crate::client::{Client, objects_path};
use crate::error::{Reported, is_not_found, usage};
use crate::output::progress::{Mode, TasksView, task_line};
use anyhow::Result;
use api::task::{TaskSpec, TaskStatus};
use api::wire::{ApplyRequest, ApplyResponse};
use api::{Kind, Object};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How often `--wait` looks at the tasks.
const POLL: Duration = Duration::from_millis(200);

/// Start standalone tasks of a task definition
#[derive(Debug, clap::Args)]
#[command(after_help = "\
EXAMPLES:
  ecsctl run-task --task-definition web            # one task of the latest revision of web
  ecsctl run-task --task-definition web:3 --count 5 --cluster prod
  ecsctl run-task --task-definition migrate --started-by ci --wait --timeout 2m
  ecsctl run-task --task-definition web --enable-execute-command --wait   # then: ecsctl exec ID -- sh
  ecsctl run-task --task-definition api --security-groups api,metrics   # awsvpc: in these groups
  ID=$(ecsctl run-task --task-definition web) && ecsctl logs \"$ID\" -f

Prints the id of each task started, one per line. With --wait, progress (`ID PENDING -> RUNNING`)
goes to stderr (on a terminal: a line per task, redrawn with its lastStatus) and the command exits 0 once every task is RUNNING, or 1 when a task stopped
(`task ID stopped: STOPCODE: REASON`) or the timeout passed.")]
pub struct Args {
    /// `FAMILY` (its latest revision) or `FAMILY:N`
    #[arg(long = "task-definition", value_name = "FAMILY[:N]")]
    pub task_definition: String,
    /// How many tasks to start (1..10)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub count: u32,
    /// The cluster [default: default]
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Who started the tasks (recorded in spec.startedBy)
    #[arg(long, value_name = "TEXT")]
    pub started_by: Option<String>,
    /// Let `ecsctl exec` run commands in the tasks (ECS's enableExecuteCommand)
    #[arg(long)]
    pub enable_execute_command: bool,
    /// The security groups of the tasks (awsvpc task definitions; none: the cluster's
    /// `default` group), as RunTask's networkConfiguration.awsvpcConfiguration.securityGroups
    #[arg(long, value_name = "NAME[,NAME...]", value_delimiter = ',')]
    pub security_groups: Vec<String>,
    /// Wait until every task is RUNNING (or one stopped)
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration, requires = "wait")]
    pub timeout: Duration,
}

pub async fn run(client: Client, args: Args) -> Result<()> {
    let task_definition = resolve_task_definition(&client, &args.task_definition).await?;
    if !args.security_groups.is_empty() {
        require_awsvpc(&client, &task_definition).await?;
    }
    if let Some(c) = args
        .cluster
        .as_deref()
        .filter(|c| *c != api::DEFAULT_CLUSTER)
    {
        match client
            .get::<Object>(&objects_path(Kind::Cluster, Some(c), None, None))
            .await
        {
            Err(e) if is_not_found(&e) => {
                anyhow::bail!("cluster {c:?} not found: create it first (kind: Cluster)")
            }
            r => {
                r?;
            }
        }
    }
    let ids: Vec<String> = (0..args.count).map(|_| new_task_id()).collect();
    let objects: Vec<Object> = ids
        .iter()
        .map(|id| {
            task_object(
                id,
                args.cluster.as_deref(),
                &task_definition,
                args.started_by.as_deref(),
                args.enable_execute_command,
            )
            .and_then(|mut t| {
                if !args.security_groups.is_empty() {
                    t.merge_spec(
                        &serde_json::json!({"networkConfiguration": {"awsvpcConfiguration": {
                        "subnets": [], "securityGroups": args.security_groups}}}),
                    )?;
                }
                Ok(t)
            })
        })
        .collect::<Result<_, _>>()?;
    client
        .post::<_, ApplyResponse>("/v1/apply", &ApplyRequest { objects })
        .await?;
    for id in &ids {
        outln!("{id}");
    }
    if args.wait {
        let cluster = args.cluster.as_deref().unwrap_or(api::DEFAULT_CLUSTER);
        wait_for(&client, cluster, &ids, Goal::Running, args.timeout).await?;
    }
    Ok(())
}

/// `web` -> `web:N` of its latest revision; `web:N` checked to exist.
async fn resolve_task_definition(client: &Client, given: &str) -> Result<String> {
    let given = given.trim();
    let (family, revision) = match given.split_once(':') {
        Some((f, n)) => (f, Some(n)),
        None => (given, None),
    };
    let valid_revision = revision.is_none_or(|n| n.parse::<u64>().is_ok_and(|n| n > 0));
    if family.is_empty() || !valid_revision {
        return Err(usage(format!(
            "invalid --task-definition {given:?}: expected FAMILY or FAMILY:N"
        )));
    }
    let obj: Object = match client
        .get(&objects_path(Kind::TaskDefinition, Some(given), None, None))
        .await
    {
        Err(e) if is_not_found(&e) => anyhow::bail!(
            "task definition {given} not found: apply it first (`ecsctl get td` lists them)"
        ),
        r => r?,
    };
    match obj.metadata.revision {
        Some(n) => Ok(format!("{}:{n}", obj.metadata.name)),
        None => anyhow::bail!("the server sent task definition {given} without a revision"),
    }
}

/// Security groups are for awsvpc tasks (as RunTask's networkConfiguration): a usage error
/// otherwise.
async fn require_awsvpc(client: &Client, task_definition: &str) -> Result<()> {
    let td: Object = client
        .get(&objects_path(
            Kind::TaskDefinition,
            Some(task_definition),
            None,
            None,
        ))
        .await?;
    let mode = td
        .spec_as::<api::taskdef::TaskDefinitionSpec>()
        .ok()
        .map(|s| s.network_mode());
    if mode != Some(api::taskdef::NetworkMode::Awsvpc) {
        let shown = mode
            .and_then(|m| serde_json::to_value(m).ok())
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".to_string());
        return Err(usage(format!(
            "--security-groups needs an awsvpc task definition; {task_definition} has networkMode {shown}"
        )));
    }
    Ok(())
}

/// A task id as ECS makes them: 32 hex digits.
fn new_task_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The `kind: Task` object of one task.
fn task_object(
    id: &str,
    cluster: Option<&str>,
    task_definition: &str,
    started_by: Option<&str>,
    enable_execute_command: bool,
) -> Result<Object, serde_json::Error> {
    let spec = TaskSpec {
        enable_execute_command: enable_execute_command.then_some(true),
        ..TaskSpec::new(task_definition, started_by.map(str::to_string))
    };
    let mut task = Object::with_spec(Kind::Task, id, &spec)?;
    task.metadata.cluster = cluster.map(str::to_string);
    Ok(task)
}

/// What `--wait` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Goal {
    /// Every task RUNNING (a task that stops instead is a failure).
    Running,
    /// Every task STOPPED.
    Stopped,
}

impl Goal {
    fn word(self) -> &'static str {
        match self {
            Goal::Running => "RUNNING",
            Goal::Stopped => "STOPPED",
        }
    }
}

/// What one look at a task tells `--wait`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Waiting,
    Done,
    /// It stopped when it should run: `STOPCODE: REASON`.
    Failed(String),
}

/// The task's status; one this release cannot read counts as none yet (PROVISIONING).
fn status_of(task: &Object) -> TaskStatus {
    task.status_as().unwrap_or_default()
}

/// Reads a task as `--wait` sees it.
fn verdict(task: &Object, goal: Goal) -> Verdict {
    let st = status_of(task);
    let asked_to_stop = task
        .spec_as::<TaskSpec>()
        .ok()
        .and_then(|s| s.desired_status)
        .is_some_and(|d| d.is_stopped());
    let stopping = asked_to_stop || st.desired_status.is_stopped();
    match goal {
        Goal::Stopped if st.last_status.is_terminal() => Verdict::Done,
        Goal::Running if st.last_status.is_terminal() => Verdict::Failed(format!(
            "{}: {}",
            st.stop_code.map_or("-", |c| c.as_str()),
            st.stopped_reason.as_deref().unwrap_or("no reason given")
        )),
        // A task on its way out (an essential container exited) is not a running one.
        Goal::Running if st.last_status.is_running() && !stopping => Verdict::Done,
        _ => Verdict::Waiting,
    }
}

/// Polls the tasks every 200 ms until each reached `goal` (Ok), one failed (`Reported(1)`
/// after saying why), or `timeout` passed. When stderr is a terminal, a line per task shows
/// its lastStatus live (`output::progress`); otherwise a line goes to stderr whenever a
/// task's lastStatus changes.
pub(super) async fn wait_for(
    client: &Client,
    cluster: &str,
    ids: &[String],
    goal: Goal,
    timeout: Duration,
) -> Result<()> {
    let view = match Mode::detect() {
        Mode::Live { color } => Some(TasksView::new(color, ids)),
        Mode::Plain => None,
    };
    let result = follow_tasks(client, cluster, ids, goal, timeout, view.as_ref()).await;
    if let Some(v) = view {
        v.finish();
    }
    result
}

/// The loop of [`wait_for`].
async fn follow_tasks(
    client: &Client,
    cluster: &str,
    ids: &[String],
    goal: Goal,
    timeout: Duration,
    view: Option<&TasksView>,
) -> Result<()> {
    // Prints `line` above the live lines, or as a plain line.
    let say = |line: String| match view {
        Some(v) => v.println(&line),
        None => eprintln!("{line}"),
    };
    let deadline = Instant::now() + timeout;
    let mut last: BTreeMap<&str, String> = BTreeMap::new();
    let mut pending: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut failed = false;
    loop {
        let mut still = Vec::new();
        for &id in &pending {
            let task: Object = match client
                .get(&objects_path(Kind::Task, Some(id), Some(cluster), None))
                .await
            {
                Err(e) if is_not_found(&e) => {
                    if let Some(v) = view {
                        v.done(id, "deleted");
                    }
                    say(format!("task {id} was deleted"));
                    failed = true;
                    continue;
                }
                r => r?,
            };
            let status = status_of(&task).last_status.to_string();
            if view.is_none() {
                match last.get(id) {
                    Some(prev) if *prev == status => {}
                    Some(prev) => eprintln!("{id} {prev} -> {status}"),
                    None => eprintln!("{id} {status}"),
                }
            }
            let verdict = verdict(&task, goal);
            if let Some(v) = view {
                match &verdict {
                    Verdict::Waiting => v.set(id, &task_line(&status, None)),
                    Verdict::Done => v.done(id, &task_line(&status, None)),
                    Verdict::Failed(why) => v.done(id, &task_line(&status, Some(why))),
                }
            }
            last.insert(id, status);
            match verdict {
                Verdict::Waiting => still.push(id),
                Verdict::Done => {}
                Verdict::Failed(why) => {
                    if view.is_none() {
                        eprintln!("task {id} stopped: {}", api::text::escape(&why));
                    }
                    failed = true;
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            return if failed {
                Err(Reported(1).into())
            } else {
                Ok(())
            };
        }
        if Instant::now() >= deadline {
            let waiting: Vec<String> = pending
                .iter()
                .map(|id| format!("{id} ({})", last.get(id).map_or("-", String::as_str)))
                .collect();
            anyhow::bail!(
                "timed out after {} waiting for {} to be {}: {}",
                show_duration(timeout),
                if pending.len() == 1 { "task" } else { "tasks" },
                goal.word(),
                waiting.join(", ")
            );
        }
        tokio::time::sleep(POLL.min(deadline - Instant::now())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn task_ids_look_like_ecs_ones() {
        let id = new_task_id();
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(id, new_task_id());
    }

    #[test]
    fn task_objects() {
        assert_eq!(
            serde_json::to_value(task_object("abc", None, "web:3", None, false).unwrap()).unwrap(),
            json!({"apiVersion": "ecs/v1", "kind": "Task", "metadata": {"name": "abc"},
                   "spec": {"taskDefinition": "web:3"}})
        );
        assert_eq!(
            serde_json::to_value(
                task_object("abc", Some("prod"), "web:3", Some("ci"), true).unwrap()
            )
            .unwrap(),
            json!({"apiVersion": "ecs/v1", "kind": "Task",
                   "metadata": {"name": "abc", "cluster": "prod"},
                   "spec": {"taskDefinition": "web:3", "startedBy": "ci", "enableExecuteCommand": true}})
        );
    }

    #[test]
    fn verdicts() {
        let task = |status: serde_json::Value| -> Object {
            serde_json::from_value(json!({"apiVersion": "ecs/v1", "kind": "Task",
                   "metadata": {"name": "abc"}, "spec": {"taskDefinition": "web:1"},
                   "status": status}))
            .unwrap()
        };
        let t = |last: &str, desired: &str| {
            task(json!({"lastStatus": last, "desiredStatus": desired,
                        "stopCode": "TaskFailedToStart", "stoppedReason": "image x not found"}))
        };
        assert_eq!(verdict(&task(json!(null)), Goal::Running), Verdict::Waiting);
        assert_eq!(
            verdict(&t("PENDING", "RUNNING"), Goal::Running),
            Verdict::Waiting
        );
        assert_eq!(
            verdict(&t("RUNNING", "RUNNING"), Goal::Running),
            Verdict::Done
        );
        assert_eq!(
            verdict(&t("RUNNING", "STOPPED"), Goal::Running),
            Verdict::Waiting
        );
        assert_eq!(
            verdict(&t("STOPPED", "STOPPED"), Goal::Running),
            Verdict::Failed("TaskFailedToStart: image x not found".into())
        );
        assert_eq!(
            verdict(&t("RUNNING", "STOPPED"), Goal::Stopped),
            Verdict::Waiting
        );
        assert_eq!(
            verdict(&t("STOPPED", "STOPPED"), Goal::Stopped),
            Verdict::Done
        );
    }
}
