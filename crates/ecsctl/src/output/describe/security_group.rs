//! Security groups in `describe`: a SecurityGroup's rules and members, and a task's groups.

use super::super::fields::{or_dash, text};
use super::super::table::Table;
use super::{Block, indent_into};
use api::securitygroup::{DEFAULT_GROUP, SecurityGroupSpec, task_groups};
use api::task::TaskSpec;
use serde_json::Value;

/// A SecurityGroup's spec: its rules in words, one table per direction.
pub(super) fn security_group_spec(spec: &Value, out: &mut String) {
    let Ok(sg) = serde_json::from_value::<SecurityGroupSpec>(spec.clone()) else {
        super::generic(spec, out, 2);
        return;
    };
    let mut b = Block::default();
    b.opt("Description", sg.description.clone());
    b.render(out, 2);
    let mut inbound = Table::new(&["protocol", "ports", "from"]);
    for r in sg.ingress_rules() {
        inbound.push(rule_row(&r));
    }
    out.push_str("  Inbound:\n");
    if sg.ingress.is_empty() {
        out.push_str(
            "    <none: nothing comes in but replies and the host's side of the network>\n",
        );
    } else {
        indent_into(&inbound.render(), 4, out);
    }
    out.push_str("  Outbound:\n");
    match sg.egress_rules() {
        None => out.push_str("    everything (no egress list)\n"),
        Some(rules) => {
            let mut t = Table::new(&["protocol", "ports", "to"]);
            let mut any = false;
            for r in rules {
                any = true;
                t.push(rule_row(&r));
            }
            if any {
                indent_into(&t.render(), 4, out);
            } else {
                out.push_str("    <none: nothing goes out but replies and to the host's side of the network>\n");
            }
        }
    }
}

fn rule_row(r: &api::securitygroup::Rule<'_>) -> Vec<String> {
    let words = r.to_string();
    let ports = words
        .split_once(' ')
        .map_or_else(|| "all".to_string(), |(_, p)| p.to_string());
    vec![r.protocol.to_string(), ports, r.peer.to_string()]
}

/// The groups of a task, for an awsvpc task (one with an address) or one that names some.
pub(super) fn task_groups_of(obj: &Value) -> Option<String> {
    let spec: TaskSpec = serde_json::from_value(obj.get("spec")?.clone()).ok()?;
    let named = spec
        .network_configuration
        .as_ref()
        .is_some_and(|n| !n.awsvpc_configuration.security_groups.is_empty());
    if !named && text(obj, "/status/privateIp").is_none() {
        return None;
    }
    Some(task_groups(spec.network_configuration.as_ref()).join(", "))
}

/// The tasks of `tasks` (one cluster's) that are in group `name` and not stopped.
pub fn security_group_members(name: &str, tasks: &[Value]) -> String {
    let mut t = Table::new(&["task", "private ip", "last status", "container instance"]);
    let mut n = 0;
    for task in tasks {
        let Some(spec) = task
            .get("spec")
            .and_then(|s| serde_json::from_value::<TaskSpec>(s.clone()).ok())
        else {
            continue;
        };
        let stopped = text(task, "/status/lastStatus").as_deref() == Some("STOPPED");
        let groups = task_groups(spec.network_configuration.as_ref());
        let in_default_by_absence = name == DEFAULT_GROUP
            && spec
                .network_configuration
                .as_ref()
                .is_none_or(|n| n.awsvpc_configuration.security_groups.is_empty());
        // An implicit `default` member is an awsvpc task: one with an address.
        let member = if in_default_by_absence {
            text(task, "/status/privateIp").is_some()
        } else {
            groups.iter().any(|g| g == name)
        };
        if !member || stopped {
            continue;
        }
        n += 1;
        t.push(vec![
            or_dash(task, "/metadata/name"),
            or_dash(task, "/status/privateIp"),
            or_dash(task, "/status/lastStatus"),
            or_dash(task, "/status/containerInstance"),
        ]);
    }
    if n == 0 {
        return "Members:  <none>\n".to_string();
    }
    let mut out = String::from("Members:\n");
    indent_into(&t.render(), 2, &mut out);
    out
}
