//! A task's page: its status (why it stopped, when), its containers, its events, and the
//! place where its logs follow live (filled by `static/logs.js` from the page's log stream,
//! whose events [`log_event`] shapes).

use super::{
    EventRow, MAX_EVENTS, When, cluster_of, name_of, newest_first, service_href, task_service,
    taskdef_href,
};
use api::task::TaskStatus;
use api::wire::{LogLine, LogStream};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

/// How many lines of each container the log box starts with.
pub const LOG_TAIL: usize = 200;

#[derive(Debug, Serialize)]
pub struct Model {
    pub cluster: String,
    pub id: String,
    pub last_status: String,
    pub desired_status: String,
    pub health: String,
    pub task_definition: Link,
    /// The service that started it, if one did.
    pub service: Option<Link>,
    pub container_instance: String,
    pub private_ip: String,
    pub created: Option<When>,
    pub started: Option<When>,
    pub stopping: Option<When>,
    pub stopped: Option<When>,
    pub stop_code: String,
    pub stopped_reason: String,
    pub containers: Vec<ContainerRow>,
    pub events: Vec<EventRow>,
    /// The page's log stream (SSE).
    pub logs_href: String,
    /// More than one container: log lines carry their container's name.
    pub several_containers: bool,
    /// How many lines of each container the log box starts with.
    pub log_tail: usize,
}

/// A name and where it links to (`None`: it has no page).
#[derive(Debug, Serialize, PartialEq)]
pub struct Link {
    pub text: String,
    pub href: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ContainerRow {
    pub name: String,
    pub image: String,
    pub last_status: String,
    /// "" while it runs (or when the engine did not say).
    pub exit_code: String,
    pub health: String,
    pub essential: bool,
    /// `HOST_IP:HOST_PORT->CONTAINER_PORT/PROTO`, one per binding.
    pub ports: Vec<String>,
    pub reason: String,
}

/// A task object's status, read leniently (a partial status reads as its defaults).
fn task_status(task: &Value) -> TaskStatus {
    task.get("status")
        .cloned()
        .and_then(|s| serde_json::from_value(s).ok())
        .unwrap_or_default()
}

pub fn view(task: &Value, now: OffsetDateTime) -> Model {
    let (cluster, id) = (cluster_of(task), name_of(task));
    let status = task_status(task);
    let when = |t: &Option<String>| t.as_deref().and_then(|t| When::of(t, now));
    let containers = status
        .containers
        .iter()
        .map(|c| ContainerRow {
            name: c.name.clone(),
            image: c.image.clone(),
            last_status: c.last_status.as_str().to_string(),
            exit_code: c.exit_code.map(|e| e.to_string()).unwrap_or_default(),
            health: c.health_status.as_str().to_string(),
            essential: c.essential,
            ports: c
                .network_bindings
                .iter()
                .map(|b| {
                    format!(
                        "{}:{}->{}/{}",
                        b.host_ip,
                        b.host_port,
                        b.container_port,
                        b.protocol.as_str()
                    )
                })
                .collect(),
            reason: c.reason.clone().unwrap_or_default(),
        })
        .collect::<Vec<_>>();
    let events = status
        .events
        .iter()
        .map(|e| EventRow {
            about: format!("task/{id}"),
            href: None,
            when: When::of(&e.created_at, now),
            message: e.message.clone(),
            created_at: e.created_at.clone(),
        })
        .collect();
    // The status says which revision it runs; a task not placed yet has only its spec's.
    let td = if status.task_definition.is_empty() {
        super::str_at(task, "/spec/taskDefinition").to_string()
    } else {
        status.task_definition.clone()
    };
    Model {
        cluster: cluster.to_string(),
        id: id.to_string(),
        last_status: status.last_status.as_str().to_string(),
        desired_status: status.desired_status.as_str().to_string(),
        health: status.health_status.as_str().to_string(),
        task_definition: Link {
            href: taskdef_href(&td),
            text: td,
        },
        service: task_service(task).map(|s| Link {
            text: s.to_string(),
            href: Some(service_href(cluster, s)),
        }),
        container_instance: status.container_instance.clone().unwrap_or_default(),
        private_ip: status.private_ip.clone().unwrap_or_default(),
        created: when(&status.created_at),
        started: when(&status.started_at),
        stopping: when(&status.stopping_at),
        stopped: when(&status.stopped_at),
        stop_code: status
            .stop_code
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        stopped_reason: status.stopped_reason.clone().unwrap_or_default(),
        several_containers: containers.len() > 1,
        containers,
        events: newest_first(events, MAX_EVENTS),
        logs_href: format!("{}/logs", super::task_href(cluster, id)),
        log_tail: LOG_TAIL,
    }
}

/// One log line as the page shows it (the `data` of an SSE `line` event). The page sets it
/// as text, never as markup.
#[derive(Debug, Serialize, PartialEq)]
pub struct LogEvent {
    /// `[container] ` when the task has several containers, else "".
    pub prefix: String,
    pub text: String,
    pub stderr: bool,
}

/// `several`: whether the stream holds more than one container's lines.
pub fn log_event(line: &LogLine, several: bool) -> LogEvent {
    LogEvent {
        prefix: if several {
            format!("[{}] ", line.container)
        } else {
            String::new()
        },
        text: line.text.clone(),
        stderr: line.stream == LogStream::Stderr,
    }
}

/// Why a task's log stream ended (the `data` of its last SSE event, `end`).
#[derive(Debug, Serialize, PartialEq)]
pub struct LogEnd {
    pub why: String,
    /// Whether opening it again may show more: not when the containers stopped, but when it
    /// could not be read (no containers yet, the server went away). The page opens it again
    /// once the task shows RUNNING.
    pub retry: bool,
}

impl LogEnd {
    /// Every container of the task stopped: nothing more will come.
    pub fn stopped() -> LogEnd {
        LogEnd {
            why: "The task's containers stopped.".into(),
            retry: false,
        }
    }

    pub fn failed(why: String) -> LogEnd {
        LogEnd { why, retry: true }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;
    use serde_json::json;

    fn stopped_task() -> Value {
        json!({"metadata": {"name": "abc123", "cluster": "shop", "labels": {"ecsctl.service": "web"}},
               "spec": {"taskDefinition": "web"},
               "status": {"taskDefinition": "web:2", "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                          "healthStatus": "UNKNOWN", "startedAt": "2026-01-01T00:02:00Z",
                          "stoppedAt": "2026-01-01T00:09:00Z", "stopCode": "EssentialContainerExited",
                          "stoppedReason": "Essential container in task exited",
                          "containerInstance": "i-1",
                          "containers": [
                              {"name": "app", "image": "ecsctl/busybox:local", "lastStatus": "STOPPED",
                               "exitCode": 137, "reason": "OOMKilled", "healthStatus": "UNHEALTHY", "essential": true,
                               "networkBindings": [{"containerPort": 80, "hostPort": 32768, "hostIp": "0.0.0.0", "protocol": "tcp"}]},
                              {"name": "side", "image": "ecsctl/busybox:local", "lastStatus": "RUNNING",
                               "healthStatus": "UNKNOWN", "essential": false}],
                          "events": [{"id": "1", "createdAt": "2026-01-01T00:09:00Z", "message": "stopped"}]}})
    }

    #[test]
    fn why_and_when_it_stopped_with_its_containers() {
        let m = view(&stopped_task(), now());
        assert_eq!(
            (m.cluster.as_str(), m.id.as_str(), m.last_status.as_str()),
            ("shop", "abc123", "STOPPED")
        );
        assert_eq!(m.stop_code, "EssentialContainerExited");
        assert_eq!(m.stopped_reason, "Essential container in task exited");
        assert_eq!(m.stopped.as_ref().unwrap().ago, "60s ago");
        assert_eq!(m.started.as_ref().unwrap().at, "2026-01-01T00:02:00Z");
        assert_eq!(m.stopping, None);
        assert_eq!(
            m.task_definition,
            Link {
                text: "web:2".into(),
                href: Some("/taskdefinitions/web?b=2".into())
            }
        );
        assert_eq!(
            m.service.unwrap().href.as_deref(),
            Some("/clusters/shop/services/web")
        );
        assert_eq!(m.container_instance, "i-1");
        assert_eq!(
            m.containers[0],
            ContainerRow {
                name: "app".into(),
                image: "ecsctl/busybox:local".into(),
                last_status: "STOPPED".into(),
                exit_code: "137".into(),
                health: "UNHEALTHY".into(),
                essential: true,
                ports: vec!["0.0.0.0:32768->80/tcp".into()],
                reason: "OOMKilled".into(),
            }
        );
        assert_eq!(
            m.containers[1].exit_code, "",
            "a running container has none"
        );
        assert!(m.several_containers);
        assert_eq!(m.logs_href, "/clusters/shop/tasks/abc123/logs");
        assert_eq!(m.events[0].message, "stopped");
    }

    #[test]
    fn a_task_not_placed_yet_shows_its_spec_revision() {
        let m = view(
            &json!({"metadata": {"name": "t1"}, "spec": {"taskDefinition": "batch"}}),
            now(),
        );
        assert_eq!(m.cluster, "default");
        assert_eq!(m.last_status, "PROVISIONING");
        assert_eq!(m.task_definition.text, "batch");
        assert_eq!(
            m.task_definition.href.as_deref(),
            Some("/taskdefinitions/batch")
        );
        assert_eq!(m.service, None);
        assert!(m.containers.is_empty() && !m.several_containers);
    }

    #[test]
    fn log_lines_name_their_container_when_there_are_several() {
        let line = LogLine {
            container: "app".into(),
            stream: LogStream::Stderr,
            text: "<b>hi</b>".into(),
            timestamp: None,
        };
        assert_eq!(
            log_event(&line, true),
            LogEvent {
                prefix: "[app] ".into(),
                text: "<b>hi</b>".into(),
                stderr: true
            }
        );
        assert_eq!(log_event(&line, false).prefix, "");
        assert!(!LogEnd::stopped().retry && LogEnd::failed("gone".into()).retry);
    }
}
