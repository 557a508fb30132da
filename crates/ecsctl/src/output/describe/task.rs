//! A Task's status: containers, stop code and reason.

use super::super::fields::{array, or_dash, text};
use super::super::table::Table;
use super::{Block, indent_into};
use serde_json::Value;

pub(super) fn task_status(status: &Value, out: &mut String) {
    let mut b = Block::default();
    b.kv("Task Definition", or_dash(status, "/taskDefinition"));
    b.kv("Last Status", or_dash(status, "/lastStatus"));
    b.kv("Desired Status", or_dash(status, "/desiredStatus"));
    b.kv("Health", or_dash(status, "/healthStatus"));
    b.opt("Container Instance", text(status, "/containerInstance"));
    b.opt("Started At", text(status, "/startedAt"));
    b.opt("Stopped At", text(status, "/stoppedAt"));
    b.opt("Stop Code", text(status, "/stopCode"));
    b.opt("Stopped Reason", text(status, "/stoppedReason"));
    b.render(out, 2);
    let containers = array(status, "/containers");
    if !containers.is_empty() {
        out.push_str("  Containers:\n");
        let mut t = Table::new(&[
            "name",
            "status",
            "exit code",
            "health",
            "ports",
            "runtime id",
            "reason",
        ]);
        for c in containers {
            let ports: Vec<String> = array(c, "/networkBindings")
                .iter()
                .map(|n| {
                    format!(
                        "{}:{}->{}/{}",
                        text(n, "/hostIp").unwrap_or_else(|| "0.0.0.0".into()),
                        or_dash(n, "/hostPort"),
                        or_dash(n, "/containerPort"),
                        text(n, "/protocol").unwrap_or_else(|| "tcp".into())
                    )
                })
                .collect();
            let id = text(c, "/runtimeId")
                .map_or_else(|| "-".to_string(), |s| s.chars().take(12).collect());
            t.push(vec![
                or_dash(c, "/name"),
                or_dash(c, "/lastStatus"),
                or_dash(c, "/exitCode"),
                or_dash(c, "/healthStatus"),
                if ports.is_empty() {
                    "-".into()
                } else {
                    ports.join(",")
                },
                id,
                or_dash(c, "/reason"),
            ]);
        }
        indent_into(&t.render(), 4, out);
    }
}
