//! A ContainerInstance's status: connection, resources, attributes and task counts.

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
