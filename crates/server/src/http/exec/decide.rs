//! Whether a task may be exec'd into, and which container: pure decisions on the stored
//! task and its containers, each refusal one line in ECS's words where ECS has them.

use crate::error::ApiError;
use api::Object;
use api::task::{TaskSpec, TaskStatus};
use axum::http::StatusCode;
use runtime::ContainerId;

/// How much of a command an event quotes.
const MAX_COMMAND_IN_EVENT: usize = 200;

/// The task runs, on this server's instance, with execute command enabled; or why not.
pub(crate) fn check_task(task: &Object, local_instance: &str) -> Result<(), ApiError> {
    let id = &task.metadata.name;
    let spec: TaskSpec = task
        .spec_as()
        .map_err(|e| conflict(format!("task {id} has a spec this server cannot read: {e}")))?;
    let status: TaskStatus = task.status_as().unwrap_or_default();
    if !status.last_status.is_running() || spec.stop_requested() {
        let mut why = format!(
            "The execute command failed because task {id} is not in RUNNING state (last status {}, desired {})",
            status.last_status.as_str(),
            if spec.stop_requested() {
                "STOPPED"
            } else {
                status.desired_status.as_str()
            }
        );
        if let Some(r) = status.stopped_reason.filter(|r| !r.is_empty()) {
            why.push_str(&format!(": {r}"));
        }
        return Err(conflict(why));
    }
    if !spec.execute_command_enabled() {
        let how = match task.metadata.labels.get(runtime::labels::SERVICE) {
            Some(svc) => format!(
                "set enableExecuteCommand: true on service {svc}, then `ecsctl rollout restart service/{svc}` starts tasks that have it"
            ),
            None => "start a new task with `ecsctl run-task --enable-execute-command`".to_string(),
        };
        return Err(conflict(format!(
            "The execute command failed because execute command was not enabled when task {id} was run: {how}"
        )));
    }
    match spec.bound_instance(&status) {
        Some(instance) if instance != local_instance => Err(conflict(format!(
            "task {id} runs on container instance {instance} (an ecsctl agent's host): exec reaches only the tasks of the server's own instance {local_instance} for now"
        ))),
        _ => Ok(()),
    }
}

/// The container to run in: the one named, else the task's only one (ECS asks for a name
/// when a task has several).
pub(crate) fn pick_container(
    task_id: &str,
    containers: &[(String, ContainerId)],
    wanted: Option<&str>,
) -> Result<(String, ContainerId), ApiError> {
    let names = || {
        containers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) => containers
            .iter()
            .find(|(n, _)| n == w)
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    if containers.is_empty() {
                        format!("task {task_id} has no containers on this host")
                    } else {
                        format!(
                            "task {task_id} has no container {w:?}: its containers are {}",
                            names()
                        )
                    },
                )
            }),
        None => match containers {
            [] => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("task {task_id} has no containers on this host"),
            )),
            [only] => Ok(only.clone()),
            _ => Err(ApiError::bad_request(format!(
                "task {task_id} has several containers ({}): name one with -c CONTAINER",
                names()
            ))),
        },
    }
}

/// The command as a shell would read it back (`sh -c 'exit 3'`), cut to a length an event
/// can hold.
pub(crate) fn command_line(cmd: &[String]) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    let mut line = cmd
        .iter()
        .map(|w| {
            if !w.is_empty() && w.chars().all(plain) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() > MAX_COMMAND_IN_EVENT {
        line = line.chars().take(MAX_COMMAND_IN_EVENT).collect::<String>() + "...";
    }
    line
}

fn conflict(message: String) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(spec: serde_json::Value, status: serde_json::Value) -> Object {
        let mut o = Object::new(api::Kind::Task, "t1", spec);
        o.status = status;
        o
    }

    fn running() -> serde_json::Value {
        json!({"lastStatus": "RUNNING", "desiredStatus": "RUNNING", "healthStatus": "UNKNOWN"})
    }

    #[test]
    fn only_running_tasks_with_execute_command_on_this_host() {
        let on = json!({"taskDefinition": "web:1", "enableExecuteCommand": true, "containerInstance": "i1"});
        assert!(check_task(&task(on.clone(), running()), "i1").is_ok());

        let off = json!({"taskDefinition": "web:1"});
        let e = check_task(&task(off.clone(), running()), "i1").unwrap_err();
        assert_eq!(e.status, StatusCode::CONFLICT);
        assert_eq!(
            e.error,
            "The execute command failed because execute command was not enabled when task t1 was run: start a new task with `ecsctl run-task --enable-execute-command`"
        );
        let mut of_service = task(off, running());
        of_service
            .metadata
            .labels
            .insert(runtime::labels::SERVICE.into(), "web".into());
        let e = check_task(&of_service, "i1").unwrap_err();
        assert!(
            e.error.ends_with(
                "set enableExecuteCommand: true on service web, then `ecsctl rollout restart service/web` starts tasks that have it"
            ),
            "{}",
            e.error
        );

        let stopped = json!({"lastStatus": "STOPPED", "desiredStatus": "STOPPED",
            "healthStatus": "UNKNOWN", "stoppedReason": "Essential container in task exited"});
        let e = check_task(&task(on.clone(), stopped), "i1").unwrap_err();
        assert!(
            e.error
                .contains("not in RUNNING state (last status STOPPED")
                && e.error.ends_with("Essential container in task exited"),
            "{}",
            e.error
        );

        let e = check_task(&task(on, running()), "server").unwrap_err();
        assert!(
            e.error.contains("container instance i1") && e.error.contains("server"),
            "{}",
            e.error
        );
    }

    #[test]
    fn the_only_container_or_the_one_named() {
        let one = vec![("app".to_string(), ContainerId("c1".into()))];
        assert_eq!(pick_container("t1", &one, None).unwrap().0, "app");
        let two = vec![
            ("app".to_string(), ContainerId("c1".into())),
            ("side".to_string(), ContainerId("c2".into())),
        ];
        assert_eq!(pick_container("t1", &two, Some("side")).unwrap().0, "side");
        let e = pick_container("t1", &two, None).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.error.contains("(app, side): name one with -c"),
            "{}",
            e.error
        );
        let e = pick_container("t1", &two, Some("db")).unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert!(
            e.error.contains("its containers are app, side"),
            "{}",
            e.error
        );
    }

    #[test]
    fn commands_read_back_as_a_shell_would() {
        let cmd = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            command_line(&cmd(&["sh", "-c", "exit 3"])),
            "sh -c 'exit 3'"
        );
        assert_eq!(command_line(&cmd(&["echo", "it's"])), r"echo 'it'\''s'");
        assert_eq!(command_line(&cmd(&["cat", ""])), "cat ''");
        let long = command_line(&cmd(&[&"x".repeat(500)]));
        assert_eq!(long.chars().count(), MAX_COMMAND_IN_EVENT + 3);
    }
}
