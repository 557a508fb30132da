//! The columns of `ecsctl get` for each kind.

use super::fields::{age, array, count, display_name, labels, or_dash, text};
use super::table::Table;
use api::Kind;
use api::service::ServiceStatus;
use api::task::{DesiredStatus, TaskSpec};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

/// What the table should show besides the kind's own columns.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `-o wide`: extra columns.
    pub wide: bool,
    /// Show a CLUSTER column (wide, or listing across clusters).
    pub cluster: bool,
}

/// The first of several places a value may be, as text.
fn first(obj: &Value, ptrs: &[&str]) -> Option<String> {
    ptrs.iter().find_map(|p| text(obj, p))
}

fn first_or_dash(obj: &Value, ptrs: &[&str]) -> String {
    first(obj, ptrs).unwrap_or_else(|| "-".to_string())
}

/// The table for `items` of `kind`.
pub fn table(kind: Kind, items: &[Value], opts: Options, now: OffsetDateTime) -> Table {
    let show_cluster = opts.cluster && kind.is_clustered();
    let (headers, wide_headers) = headers(kind);
    let mut all: Vec<&str> = vec![headers[0]];
    if show_cluster {
        all.push("cluster");
    }
    all.extend(&headers[1..]);
    if opts.wide {
        all.extend(wide_headers);
    }
    let mut t = Table::new(&all);
    for obj in items {
        let (mut row, wide) = row(kind, obj, now);
        if show_cluster {
            row.insert(
                1,
                text(obj, "/metadata/cluster").unwrap_or_else(|| api::DEFAULT_CLUSTER.to_string()),
            );
        }
        if opts.wide {
            row.extend(wide);
        }
        t.push(row);
    }
    t
}

/// (columns, extra columns of `-o wide`); the first column is the name.
fn headers(kind: Kind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        Kind::Cluster => (&["name", "age"], &["labels"]),
        Kind::TaskDefinition => (
            &["name", "containers", "cpu", "memory", "network mode", "age"],
            &["status", "images", "labels"],
        ),
        Kind::Service => (
            &[
                "name",
                "task definition",
                "desired",
                "running",
                "pending",
                "age",
            ],
            &["rollout", "launch type", "labels"],
        ),
        Kind::Task => (
            &[
                "id",
                "task definition",
                "last status",
                "desired status",
                "health",
                "age",
            ],
            &["service", "stop code", "stopped reason"],
        ),
        Kind::Autoscaler => (
            &["name", "service", "min", "max", "current", "age"],
            &["labels"],
        ),
        Kind::LoadBalancer => (&["name", "listeners", "age"], &["labels"]),
        Kind::Secret => (&["name", "source", "age"], &["updated", "labels"]),
        Kind::SecurityGroup => (
            &["name", "inbound", "outbound", "age"],
            &["description", "labels"],
        ),
        Kind::Role => (&["name", "source", "age"], &["labels"]),
        Kind::Deployment => (
            &[
                "name",
                "service",
                "task definition",
                "status",
                "desired",
                "running",
                "rollout",
                "age",
            ],
            &["failed tasks"],
        ),
        Kind::ContainerInstance => (
            &["id", "status", "connected", "cpu", "memory", "tasks", "age"],
            &["address", "pending", "last heartbeat", "agent version"],
        ),
    }
}

/// (cells, extra cells of `-o wide`) for one object; the first cell is the name.
fn row(kind: Kind, o: &Value, now: OffsetDateTime) -> (Vec<String>, Vec<String>) {
    let name = display_name(o);
    let age = age(o, now);
    match kind {
        Kind::Cluster => (vec![name, age], vec![labels(o)]),
        Kind::TaskDefinition => {
            let containers = array(o, "/spec/containerDefinitions");
            let mut names: Vec<String> =
                containers.iter().filter_map(|c| text(c, "/name")).collect();
            // Many sidecars would push every other column off the screen.
            if names.len() > 4 {
                let more = names.len() - 3;
                names.truncate(3);
                names.push(format!("+{more}"));
            }
            let images: Vec<String> = containers
                .iter()
                .filter_map(|c| text(c, "/image"))
                .collect();
            (
                vec![
                    name,
                    join_or_dash(&names),
                    or_dash(o, "/spec/cpu"),
                    or_dash(o, "/spec/memory"),
                    or_dash(o, "/spec/networkMode"),
                    age,
                ],
                vec![
                    // ECS's state: ACTIVE unless deregistered (no status: ACTIVE).
                    first(o, &["/status/status"]).unwrap_or_else(|| "ACTIVE".into()),
                    join_or_dash(&images),
                    labels(o),
                ],
            )
        }
        Kind::Service => (
            vec![
                name,
                or_dash(o, "/spec/taskDefinition"),
                first(o, &["/status/desiredCount", "/spec/desiredCount"])
                    .unwrap_or_else(|| "0".into()),
                count(o, "/status/runningCount"),
                count(o, "/status/pendingCount"),
                age,
            ],
            vec![rollout(o), or_dash(o, "/spec/launchType"), labels(o)],
        ),
        Kind::Task => (
            vec![
                name,
                first_or_dash(o, &["/status/taskDefinition", "/spec/taskDefinition"]),
                or_dash(o, "/status/lastStatus"),
                desired_status(o),
                or_dash(o, "/status/healthStatus"),
                age,
            ],
            vec![
                first_or_dash(
                    o,
                    &[
                        "/spec/service",
                        "/status/service",
                        "/metadata/labels/ecsctl.service",
                    ],
                ),
                or_dash(o, "/status/stopCode"),
                or_dash(o, "/status/stoppedReason"),
            ],
        ),
        Kind::Autoscaler => (
            vec![
                name,
                or_dash(o, "/spec/service"),
                or_dash(o, "/spec/minCapacity"),
                or_dash(o, "/spec/maxCapacity"),
                first_or_dash(
                    o,
                    &[
                        "/status/currentCapacity",
                        "/status/desiredCount",
                        "/status/desiredCapacity",
                    ],
                ),
                age,
            ],
            vec![labels(o)],
        ),
        Kind::LoadBalancer => {
            let listeners: Vec<String> = array(o, "/spec/listeners")
                .iter()
                .map(|l| {
                    format!(
                        "{}/{}",
                        or_dash(l, "/port"),
                        text(l, "/protocol").unwrap_or_else(|| "HTTP".into())
                    )
                })
                .collect();
            (vec![name, join_or_dash(&listeners), age], vec![labels(o)])
        }
        Kind::Secret => (
            vec![
                name,
                api::secret::describe_source(
                    o.get("spec").unwrap_or(&Value::Null),
                    o.get("status").unwrap_or(&Value::Null),
                ),
                age,
            ],
            vec![or_dash(o, "/status/valueUpdatedAt"), labels(o)],
        ),
        Kind::SecurityGroup => {
            let outbound = match o.pointer("/spec/egress").and_then(Value::as_array) {
                None => "all".to_string(),
                Some(rules) => format!("{} rules", rules.len()),
            };
            (
                vec![
                    name,
                    format!("{} rules", array(o, "/spec/ingress").len()),
                    outbound,
                    age,
                ],
                vec![or_dash(o, "/spec/description"), labels(o)],
            )
        }
        Kind::Role => (
            vec![
                name,
                o.get("spec")
                    .and_then(|s| serde_json::from_value::<api::role::RoleSpec>(s.clone()).ok())
                    .map_or_else(|| "-".to_string(), |s| s.source()),
                age,
            ],
            vec![labels(o)],
        ),
        Kind::Deployment => (
            vec![
                name,
                first_or_dash(o, &["/spec/service", "/status/service"]),
                first_or_dash(o, &["/spec/taskDefinition", "/status/taskDefinition"]),
                first_or_dash(o, &["/status/status", "/spec/status"]),
                first(o, &["/status/desiredCount", "/spec/desiredCount"])
                    .unwrap_or_else(|| "0".into()),
                count(o, "/status/runningCount"),
                or_dash(o, "/status/rolloutState"),
                age,
            ],
            vec![count(o, "/status/failedTasks")],
        ),
        Kind::ContainerInstance => {
            // What is left of what it has: `1024/2048`.
            let share = |what: &str| match (
                text(o, &format!("/status/remainingResources/{what}")),
                text(o, &format!("/status/registeredResources/{what}")),
            ) {
                (Some(left), Some(all)) => format!("{left}/{all}"),
                _ => "-".to_string(),
            };
            (
                vec![
                    name,
                    or_dash(o, "/status/status"),
                    or_dash(o, "/status/agentConnected"),
                    share("cpu"),
                    share("memory"),
                    count(o, "/status/runningTasksCount"),
                    age,
                ],
                vec![
                    or_dash(o, "/status/address"),
                    count(o, "/status/pendingTasksCount"),
                    or_dash(o, "/status/lastHeartbeat"),
                    or_dash(o, "/status/agentVersion"),
                ],
            )
        }
    }
}

/// A task's desired status: STOPPED as soon as someone asked it to stop (`ecsctl stop-task`
/// writes the spec; the controller's status follows), else what the controller reports.
fn desired_status(o: &Value) -> String {
    let asked = o
        .get("spec")
        .and_then(|s| TaskSpec::deserialize(s).ok())
        .and_then(|s| s.desired_status);
    if asked.is_some_and(DesiredStatus::is_stopped) {
        return DesiredStatus::Stopped.to_string();
    }
    first_or_dash(o, &["/status/desiredStatus", "/spec/desiredStatus"])
}

/// The rollout state of the PRIMARY deployment of a service.
fn rollout(o: &Value) -> String {
    o.get("status")
        .and_then(|s| ServiceStatus::deserialize(s).ok())
        .and_then(|st| st.primary().map(|d| d.rollout_state.to_string()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".to_string())
}

fn join_or_dash(v: &[String]) -> String {
    if v.is_empty() {
        "-".to_string()
    } else {
        v.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> OffsetDateTime {
        super::super::fields::parse_time("2024-05-01T12:00:00Z").unwrap()
    }

    #[test]
    fn task_definitions_show_revisions() {
        let items = [
            json!({"kind": "TaskDefinition", "metadata": {"name": "web", "revision": 1, "creationTimestamp": "2024-05-01T11:00:00Z"},
                   "spec": {"family": "web", "cpu": "256", "memory": "512", "networkMode": "bridge",
                            "containerDefinitions": [{"name": "web", "image": "nginx"}, {"name": "log", "image": "fluent"}]}}),
            json!({"kind": "TaskDefinition", "metadata": {"name": "web", "revision": 2}, "spec": {"containerDefinitions": []}}),
        ];
        let t = table(Kind::TaskDefinition, &items, Options::default(), now()).render();
        assert_eq!(
            t,
            "NAME    CONTAINERS   CPU   MEMORY   NETWORK MODE   AGE\n\
             web:1   web,log      256   512      bridge         60m\n\
             web:2   -            -     -        -              -\n"
        );
        let mut inactive = items[1].clone();
        inactive["status"] = json!({"status": "INACTIVE"});
        let wide = Options {
            wide: true,
            ..Options::default()
        };
        let t = table(
            Kind::TaskDefinition,
            &[items[0].clone(), inactive],
            wide,
            now(),
        )
        .render();
        let status: Vec<&str> = t
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().nth(6).unwrap_or_default())
            .collect();
        assert_eq!(status, ["ACTIVE", "INACTIVE"], "{t}");
    }

    #[test]
    fn container_instances_show_what_is_left() {
        let items = [
            json!({"kind": "ContainerInstance", "metadata": {"name": "0a1b2c", "creationTimestamp": "2024-05-01T11:00:00Z"},
                   "spec": {},
                   "status": {"status": "ACTIVE", "agentConnected": true, "runningTasksCount": 2,
                              "registeredResources": {"cpu": 2048, "memory": 3900},
                              "remainingResources": {"cpu": 1536, "memory": 2876}}}),
            json!({"kind": "ContainerInstance", "metadata": {"name": "new"}, "spec": {}}),
        ];
        let t = table(Kind::ContainerInstance, &items, Options::default(), now()).render();
        assert_eq!(
            t,
            "ID       STATUS   CONNECTED   CPU         MEMORY      TASKS   AGE\n\
             0a1b2c   ACTIVE   true        1536/2048   2876/3900   2       60m\n\
             new      -        -           -           -           0       -\n"
        );
    }

    #[test]
    fn a_stop_request_shows_at_once() {
        let row = |o: Value| {
            table(Kind::Task, &[o], Options::default(), now())
                .render()
                .lines()
                .nth(1)
                .unwrap()
                .split_whitespace()
                .skip(2)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let asked = row(json!({"metadata": {"name": "t1"},
            "spec": {"taskDefinition": "web:1", "desiredStatus": "STOPPED"},
            "status": {"lastStatus": "RUNNING", "desiredStatus": "RUNNING"}}));
        assert_eq!(asked, "RUNNING STOPPED");
        let running = row(
            json!({"metadata": {"name": "t1"}, "spec": {"taskDefinition": "web:1"},
            "status": {"lastStatus": "RUNNING", "desiredStatus": "RUNNING"}}),
        );
        assert_eq!(running, "RUNNING RUNNING");
        let failed = row(
            json!({"metadata": {"name": "t1"}, "spec": {"taskDefinition": "web:1"},
            "status": {"lastStatus": "STOPPED", "desiredStatus": "STOPPED"}}),
        );
        assert_eq!(failed, "STOPPED STOPPED");
    }

    #[test]
    fn services_wide_and_across_clusters() {
        let items = [
            json!({"kind": "Service", "metadata": {"name": "web", "cluster": "prod"},
            "spec": {"taskDefinition": "web:2", "desiredCount": 3},
            "status": {"runningCount": 2, "deployments": [
                {"id": "ecs-svc/2", "status": "PRIMARY", "taskDefinition": "web:2",
                 "desiredCount": 3, "runningCount": 2, "failedTasks": 0,
                 "rolloutState": "IN_PROGRESS"}]}}),
        ];
        let t = table(
            Kind::Service,
            &items,
            Options {
                wide: true,
                cluster: true,
            },
            now(),
        )
        .render();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "NAME   CLUSTER   TASK DEFINITION   DESIRED   RUNNING   PENDING   AGE   ROLLOUT       LAUNCH TYPE   LABELS"
        );
        assert_eq!(
            lines[1],
            "web    prod      web:2             3         2         0         -     IN_PROGRESS   -             <none>"
        );
        // Clusters themselves have no cluster column.
        let t = table(
            Kind::Cluster,
            &[json!({"metadata": {"name": "default"}})],
            Options {
                wide: false,
                cluster: true,
            },
            now(),
        );
        assert_eq!(t.render(), "NAME      AGE\ndefault   -\n");
    }
}
