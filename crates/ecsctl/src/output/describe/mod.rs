//! `ecsctl describe`: a readable summary of one object, in the manner of kubectl describe.

use super::fields::{age, display_name, labels, or_dash, parse_time, scalar, text};
use super::table::Table;
use serde_json::Value;
use std::fmt::Write;
use time::OffsetDateTime;

mod instance;
mod security_group;
mod service;
mod task;
mod taskdef;

use instance::instance_status;
pub use instance::instance_tasks;
pub use security_group::security_group_members;
use service::{service_spec, service_status};
use task::task_status;
use taskdef::task_definition_spec;

/// Lines of `Key:   value`, aligned within one block, indented by a level.
#[derive(Default)]
struct Block {
    rows: Vec<(String, String)>,
}

impl Block {
    /// A row; control characters in the value are escaped (one line, shown not obeyed).
    fn kv(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        let value = match api::text::escape(&value) {
            std::borrow::Cow::Borrowed(_) => value,
            std::borrow::Cow::Owned(e) => e,
        };
        self.rows.push((key.to_string(), value));
        self
    }

    /// Adds the row only when the value is there.
    fn opt(&mut self, key: &str, value: Option<String>) -> &mut Self {
        if let Some(v) = value {
            self.kv(key, v);
        }
        self
    }

    fn render(&self, out: &mut String, indent: usize) {
        let width = self
            .rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0)
            + 1;
        let pad = " ".repeat(indent);
        for (k, v) in &self.rows {
            let key = format!("{k}:");
            let line = format!("{pad}{key:<w$}  {v}", w = width);
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
}

/// The description of one object (as the server sent it).
pub fn describe(obj: &Value, now: OffsetDateTime) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut out = String::new();

    let mut head = Block::default();
    head.kv("Name", display_name(obj)).kv("Kind", kind);
    if api::Kind::parse_user(kind).is_some_and(api::Kind::is_clustered) {
        head.kv(
            "Cluster",
            text(obj, "/metadata/cluster").unwrap_or_else(|| api::DEFAULT_CLUSTER.into()),
        );
    }
    head.kv("Labels", labels(obj));
    if let Some(a) = obj
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .filter(|a| !a.is_empty())
    {
        let text: Vec<String> = a
            .iter()
            .map(|(k, v)| format!("{k}={}", scalar(v).unwrap_or_default()))
            .collect();
        head.kv("Annotations", text.join(","));
    }
    head.kv(
        "Created",
        match text(obj, "/metadata/creationTimestamp") {
            Some(t) => format!("{t} ({} ago)", age(obj, now)),
            None => "-".to_string(),
        },
    );
    head.kv("Generation", or_dash(obj, "/metadata/generation"));
    head.kv("ResourceVersion", or_dash(obj, "/metadata/resourceVersion"));
    head.opt("UID", text(obj, "/metadata/uid"));
    head.render(&mut out, 0);

    let spec = obj.get("spec").unwrap_or(&Value::Null);
    out.push_str("Spec:\n");
    match kind {
        "TaskDefinition" => task_definition_spec(obj, spec, &mut out),
        "Service" => service_spec(spec, &mut out),
        "SecurityGroup" => security_group::security_group_spec(spec, &mut out),
        "Secret" => {
            let status = obj.get("status").unwrap_or(&Value::Null);
            let mut b = Block::default();
            b.kv("Source", api::secret::describe_source(spec, status));
            b.kv("Value", "<hidden: ecsctl never shows secret values>");
            b.render(&mut out, 2);
        }
        "Role" => role_spec(spec, &mut out),
        _ => generic(spec, &mut out, 2),
    }

    let status = obj.get("status").unwrap_or(&Value::Null);
    if is_empty(status) {
        out.push_str("Status:   <none>\n");
    } else {
        out.push_str("Status:\n");
        match kind {
            "Service" => service_status(status, &mut out),
            "Task" => {
                task_status(status, &mut out);
                let mut b = Block::default();
                b.opt("Private IP", text(status, "/privateIp"));
                b.opt("Security Groups", security_group::task_groups_of(obj));
                b.render(&mut out, 2);
            }
            "ContainerInstance" => instance_status(status, &mut out),
            _ => generic(&without(status, &["events"]), &mut out, 2),
        }
    }

    if let Some(events) = status.get("events") {
        events_section(events, now, &mut out);
    }
    out
}

/// A Role: where its credentials come from (Secrets by name, never a value).
fn role_spec(spec: &Value, out: &mut String) {
    let mut b = Block::default();
    b.opt("Profile", text(spec, "/profile"));
    b.opt("AccessKeyId", text(spec, "/accessKeyId"));
    b.opt(
        "SecretAccessKey",
        text(spec, "/secretAccessKey/secret").map(|s| format!("from Secret {s}")),
    );
    b.opt(
        "SessionToken",
        text(spec, "/sessionToken/secret").map(|s| format!("from Secret {s}")),
    );
    b.render(out, 2);
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// A copy of an object without some keys.
fn without(v: &Value, keys: &[&str]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Anything without a dedicated summary: its YAML, indented.
fn generic(v: &Value, out: &mut String, indent: usize) {
    if is_empty(v) {
        let _ = writeln!(out, "{}<none>", " ".repeat(indent));
        return;
    }
    let yaml = super::yaml(v).unwrap_or_else(|_| v.to_string());
    for line in yaml.lines() {
        let _ = writeln!(out, "{}{line}", " ".repeat(indent));
    }
}

fn events_section(events: &Value, now: OffsetDateTime, out: &mut String) {
    let list = events.as_array().map_or(&[][..], Vec::as_slice);
    if list.is_empty() {
        out.push_str("Events:   <none>\n");
        return;
    }
    out.push_str("Events:\n");
    let time_of = |e: &Value| {
        ["/createdAt", "/timestamp", "/time"]
            .iter()
            .find_map(|p| text(e, p))
            .and_then(|t| parse_time(&t))
    };
    let mut sorted: Vec<&Value> = list.iter().collect();
    // Newest first; events without a time keep their place relative to each other.
    sorted.sort_by_key(|e| std::cmp::Reverse(time_of(e)));
    let with_type = sorted.iter().any(|e| e.get("type").is_some());
    let mut t = if with_type {
        Table::new(&["age", "type", "message"])
    } else {
        Table::new(&["age", "message"])
    };
    for e in sorted {
        let age = time_of(e).map_or_else(
            || "-".to_string(),
            |t| super::fields::human_duration(now - t),
        );
        let msg = ["/message", "/reason"]
            .iter()
            .find_map(|p| text(e, p))
            .unwrap_or_else(|| e.to_string());
        if with_type {
            t.push(vec![age, or_dash(e, "/type"), msg]);
        } else {
            t.push(vec![age, msg]);
        }
    }
    indent_into(&t.render(), 2, out);
}

fn indent_into(text: &str, n: usize, out: &mut String) {
    for line in text.lines() {
        let _ = writeln!(out, "{}{line}", " ".repeat(n));
    }
}

#[cfg(test)]
mod tests;
