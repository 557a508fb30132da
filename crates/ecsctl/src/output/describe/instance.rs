//! A ContainerInstance's status: connection, resources, attributes and task counts; and
//! the tasks placed on it.

use super::super::fields::{count, or_dash, scalar, text};
use super::super::table::Table;
use super::{Block, indent_into};
use serde_json::Value;

pub(super) fn instance_status(status: &Value, out: &mut String) {
    let mut b = Block::default();
    b.kv("Status", or_dash(status, "/status"));
    b.kv("Agent Connected", or_dash(status, "/agentConnected"));
    b.kv("Last Heartbeat", or_dash(status, "/lastHeartbeat"));
    b.opt("Registered At", text(status, "/registeredAt"));
    b.opt("Address", text(status, "/address"));
    b.opt("Agent Version", text(status, "/agentVersion"));
    b.kv("Running Tasks", count(status, "/runningTasksCount"));
    b.kv("Pending Tasks", count(status, "/pendingTasksCount"));
    b.render(out, 2);

    out.push_str("  Resources:\n");
    let mut t = Table::new(&["resource", "remaining", "registered"]);
    for (name, key) in [("CPU (units)", "cpu"), ("Memory (MiB)", "memory")] {
        t.push(vec![
            name.to_string(),
            or_dash(status, &format!("/remainingResources/{key}")),
            or_dash(status, &format!("/registeredResources/{key}")),
        ]);
    }
    let ports = |which: &str| {
        let list: Vec<String> = status
            .pointer(&format!("/{which}/ports"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(scalar).collect())
            .unwrap_or_default();
        if list.is_empty() {
            "-".to_string()
        } else {
            list.join(",")
        }
    };
    t.push(vec![
        "Ports (taken)".to_string(),
        ports("remainingResources"),
        ports("registeredResources"),
    ]);
    indent_into(&t.render(), 4, out);

    if let Some(attrs) = status
        .get("attributes")
        .and_then(Value::as_object)
        .filter(|a| !a.is_empty())
    {
        out.push_str("  Attributes:\n");
        let mut b = Block::default();
        for (k, v) in attrs {
            b.kv(k, scalar(v).unwrap_or_else(|| "-".to_string()));
        }
        b.render(out, 4);
    }
}

/// The tasks placed on instance `id` that are not STOPPED (of `tasks`, as listed), one line
/// each; nothing when there are none.
pub fn instance_tasks(id: &str, tasks: &[Value]) -> String {
    let placed_here = |t: &&Value| {
        let bound =
            text(t, "/spec/containerInstance").or_else(|| text(t, "/status/containerInstance"));
        bound.as_deref() == Some(id) && text(t, "/status/lastStatus").as_deref() != Some("STOPPED")
    };
    let mut rows: Vec<&Value> = tasks.iter().filter(placed_here).collect();
    if rows.is_empty() {
        return String::new();
    }
    rows.sort_by_key(|t| (text(t, "/metadata/cluster"), text(t, "/metadata/name")));
    let mut t = Table::new(&[
        "task",
        "cluster",
        "task definition",
        "last status",
        "service",
    ]);
    for task in rows {
        t.push(vec![
            or_dash(task, "/metadata/name"),
            text(task, "/metadata/cluster").unwrap_or_else(|| api::DEFAULT_CLUSTER.into()),
            text(task, "/status/taskDefinition")
                .filter(|td| !td.is_empty())
                .or_else(|| text(task, "/spec/taskDefinition"))
                .unwrap_or_else(|| "-".to_string()),
            or_dash(task, "/status/lastStatus"),
            or_dash(task, "/metadata/labels/ecsctl.service"),
        ]);
    }
    let mut out = String::from("Tasks:\n");
    indent_into(&t.render(), 2, &mut out);
    out
}
