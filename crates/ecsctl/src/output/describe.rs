//! `ecsctl describe`: a readable summary of one object, in the manner of kubectl describe.

use super::fields::{age, array, display_name, labels, or_dash, parse_time, scalar, text};
use super::table::Table;
use serde_json::Value;
use std::fmt::Write;
use time::OffsetDateTime;

/// Lines of `Key:   value`, aligned within one block, indented by a level.
#[derive(Default)]
struct Block {
    rows: Vec<(String, String)>,
}

impl Block {
    fn kv(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.rows.push((key.to_string(), value.into()));
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
        "Secret" => {
            let status = obj.get("status").unwrap_or(&Value::Null);
            let mut b = Block::default();
            b.kv("Source", api::secret::describe_source(spec, status));
            b.kv("Value", "<hidden: ecsctl never shows secret values>");
            b.render(&mut out, 2);
        }
        _ => generic(spec, &mut out, 2),
    }

    let status = obj.get("status").unwrap_or(&Value::Null);
    if is_empty(status) {
        out.push_str("Status:   <none>\n");
    } else {
        out.push_str("Status:\n");
        match kind {
            "Service" => service_status(status, &mut out),
            "Task" => task_status(status, &mut out),
            _ => generic(&without(status, &["events"]), &mut out, 2),
        }
    }

    if let Some(events) = status.get("events") {
        events_section(events, now, &mut out);
    }
    out
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

fn task_definition_spec(obj: &Value, spec: &Value, out: &mut String) {
    let mut b = Block::default();
    b.kv(
        "Family",
        text(spec, "/family").unwrap_or_else(|| or_dash(obj, "/metadata/name")),
    );
    b.opt("Revision", text(obj, "/metadata/revision"));
    b.kv("CPU", or_dash(spec, "/cpu"));
    b.kv("Memory", or_dash(spec, "/memory"));
    b.kv("Network Mode", or_dash(spec, "/networkMode"));
    b.opt("Task Role", text(spec, "/taskRoleArn"));
    b.opt("Execution Role", text(spec, "/executionRoleArn"));
    let compat: Vec<String> = array(spec, "/requiresCompatibilities")
        .iter()
        .filter_map(scalar)
        .collect();
    if !compat.is_empty() {
        b.kv("Compatibilities", compat.join(", "));
    }
    let volumes: Vec<String> = array(spec, "/volumes")
        .iter()
        .filter_map(|v| text(v, "/name"))
        .collect();
    if !volumes.is_empty() {
        b.kv("Volumes", volumes.join(", "));
    }
    b.render(out, 2);
    out.push_str("  Containers:\n");
    let containers = array(spec, "/containerDefinitions");
    if containers.is_empty() {
        out.push_str("    <none>\n");
    }
    for c in containers {
        let _ = writeln!(out, "    {}:", or_dash(c, "/name"));
        container(c, out);
    }
}

fn container(c: &Value, out: &mut String) {
    let mut b = Block::default();
    b.kv("Image", or_dash(c, "/image"));
    b.kv("CPU", or_dash(c, "/cpu"));
    let memory = match (text(c, "/memory"), text(c, "/memoryReservation")) {
        (Some(m), Some(r)) => format!("{m} (reservation {r})"),
        (Some(m), None) => m,
        (None, Some(r)) => format!("reservation {r}"),
        (None, None) => "-".to_string(),
    };
    b.kv("Memory", memory);
    let ports: Vec<String> = array(c, "/portMappings")
        .iter()
        .map(|p| {
            let proto = text(p, "/protocol")
                .unwrap_or_else(|| "tcp".into())
                .to_lowercase();
            match text(p, "/hostPort") {
                Some(h) => format!("{h}:{}/{proto}", or_dash(p, "/containerPort")),
                None => format!("{}/{proto}", or_dash(p, "/containerPort")),
            }
        })
        .collect();
    b.kv(
        "Ports",
        if ports.is_empty() {
            "<none>".into()
        } else {
            ports.join(", ")
        },
    );
    b.kv(
        "Essential",
        text(c, "/essential").unwrap_or_else(|| "true".into()),
    );
    b.opt("Entry Point", words(c.get("entryPoint")));
    b.opt("Command", words(c.get("command")));
    b.opt("User", text(c, "/user"));
    b.opt("Working Directory", text(c, "/workingDirectory"));
    if let Some(hc) = c.get("healthCheck").filter(|h| !is_empty(h)) {
        let mut s = words(hc.get("command")).unwrap_or_else(|| "-".into());
        let mut params = Vec::new();
        for (key, label) in [
            ("interval", "interval"),
            ("timeout", "timeout"),
            ("startPeriod", "start period"),
        ] {
            if let Some(v) = text(hc, &format!("/{key}")) {
                params.push(format!("{label} {v}s"));
            }
        }
        if let Some(r) = text(hc, "/retries") {
            params.push(format!("retries {r}"));
        }
        if !params.is_empty() {
            s = format!("{s} ({})", params.join(", "));
        }
        b.kv("Health Check", s);
    }
    let deps: Vec<String> = array(c, "/dependsOn")
        .iter()
        .map(|d| {
            format!(
                "{} ({})",
                or_dash(d, "/containerName"),
                or_dash(d, "/condition")
            )
        })
        .collect();
    if !deps.is_empty() {
        b.kv("Depends On", deps.join(", "));
    }
    let env = array(c, "/environment");
    if env.is_empty() {
        b.kv("Environment", "<none>");
    } else {
        b.kv("Environment", "");
    }
    b.render(out, 6);
    for e in env {
        let _ = writeln!(
            out,
            "        {}={}",
            or_dash(e, "/name"),
            text(e, "/value").unwrap_or_default()
        );
    }
    let secrets = array(c, "/secrets");
    if !secrets.is_empty() {
        out.push_str("      Secrets:\n");
        for s in secrets {
            let _ = writeln!(
                out,
                "        {} from {}",
                or_dash(s, "/name"),
                or_dash(s, "/valueFrom")
            );
        }
    }
}

/// A command as a shell-like line: `["CMD-SHELL", "curl -f x"]` -> `CMD-SHELL curl -f x`.
fn words(v: Option<&Value>) -> Option<String> {
    let a = v?.as_array()?;
    if a.is_empty() {
        return None;
    }
    Some(
        a.iter()
            .map(|w| {
                let s = scalar(w).unwrap_or_default();
                if s.contains(' ') && a.len() > 2 {
                    format!("{s:?}")
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn service_spec(spec: &Value, out: &mut String) {
    let mut b = Block::default();
    b.kv("Task Definition", or_dash(spec, "/taskDefinition"));
    b.kv("Desired Count", or_dash(spec, "/desiredCount"));
    b.opt("Launch Type", text(spec, "/launchType"));
    b.opt("Scheduling Strategy", text(spec, "/schedulingStrategy"));
    if let Some(dc) = spec.get("deploymentConfiguration") {
        b.kv(
            "Deployment",
            format!(
                "min healthy {}%, max {}%",
                text(dc, "/minimumHealthyPercent").unwrap_or_else(|| "100".into()),
                text(dc, "/maximumPercent").unwrap_or_else(|| "200".into())
            ),
        );
        if let Some(cb) = dc.get("deploymentCircuitBreaker") {
            b.kv(
                "Circuit Breaker",
                format!(
                    "enable={}, rollback={}",
                    or_dash(cb, "/enable"),
                    or_dash(cb, "/rollback")
                ),
            );
        }
    }
    b.opt(
        "Health Check Grace",
        text(spec, "/healthCheckGracePeriodSeconds").map(|s| format!("{s}s")),
    );
    let lbs: Vec<String> = array(spec, "/loadBalancers")
        .iter()
        .map(|l| {
            format!(
                "{} -> {}:{}",
                or_dash(l, "/loadBalancerName"),
                or_dash(l, "/containerName"),
                or_dash(l, "/containerPort")
            )
        })
        .collect();
    if !lbs.is_empty() {
        b.kv("Load Balancers", lbs.join(", "));
    }
    let sc = spec.get("serviceConnectConfiguration").and_then(|v| {
        serde_json::from_value::<api::service::ServiceConnectConfiguration>(v.clone()).ok()
    });
    if let Some(sc) = &sc {
        // The names other tasks of the cluster resolve: `name (portName P)` reaches the
        // container port itself, `name:port` is a client alias.
        let names: Vec<String> = sc
            .names()
            .into_iter()
            .map(|(name, port_name, port)| match port {
                Some(p) => format!("{name}:{p}"),
                None => format!("{name} (portName {port_name})"),
            })
            .collect();
        b.kv(
            "Service Connect",
            if !sc.enabled {
                "disabled".to_string()
            } else if names.is_empty() {
                "client only".to_string()
            } else {
                names.join(", ")
            },
        );
    }
    b.render(out, 2);
    let mut shown = vec![
        "taskDefinition",
        "desiredCount",
        "launchType",
        "schedulingStrategy",
        "deploymentConfiguration",
        "healthCheckGracePeriodSeconds",
        "loadBalancers",
    ];
    if sc.is_some() {
        shown.push("serviceConnectConfiguration");
    }
    let rest = without(spec, &shown);
    if !is_empty(&rest) {
        generic(&rest, out, 2);
    }
}

fn service_status(status: &Value, out: &mut String) {
    let mut b = Block::default();
    b.kv("Desired", or_dash(status, "/desiredCount"));
    b.kv("Running", or_dash(status, "/runningCount"));
    b.kv("Pending", or_dash(status, "/pendingCount"));
    b.opt("Observed Generation", text(status, "/observedGeneration"));
    b.render(out, 2);
    let deployments = array(status, "/deployments");
    if !deployments.is_empty() {
        out.push_str("  Deployments:\n");
        let mut t = Table::new(&[
            "id",
            "status",
            "task definition",
            "desired",
            "running",
            "failed",
            "rollout",
        ]);
        for d in deployments {
            t.push(vec![
                or_dash(d, "/id"),
                or_dash(d, "/status"),
                or_dash(d, "/taskDefinition"),
                or_dash(d, "/desiredCount"),
                or_dash(d, "/runningCount"),
                or_dash(d, "/failedTasks"),
                or_dash(d, "/rolloutState"),
            ]);
        }
        indent_into(&t.render(), 4, out);
    }
    let conditions = array(status, "/conditions");
    if !conditions.is_empty() {
        out.push_str("  Conditions:\n");
        let mut t = Table::new(&["type", "status", "reason", "message"]);
        for c in conditions {
            t.push(vec![
                or_dash(c, "/type"),
                or_dash(c, "/status"),
                or_dash(c, "/reason"),
                or_dash(c, "/message"),
            ]);
        }
        indent_into(&t.render(), 4, out);
    }
}

fn task_status(status: &Value, out: &mut String) {
    let mut b = Block::default();
    b.kv("Task Definition", or_dash(status, "/taskDefinition"));
    b.kv("Last Status", or_dash(status, "/lastStatus"));
    b.kv("Desired Status", or_dash(status, "/desiredStatus"));
    b.kv("Health", or_dash(status, "/healthStatus"));
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
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> OffsetDateTime {
        parse_time("2024-05-01T12:00:00Z").unwrap()
    }

    #[test]
    fn task_definition_summary() {
        let o = json!({"kind": "TaskDefinition",
            "metadata": {"name": "web", "revision": 2, "generation": 1, "resourceVersion": 7,
                         "creationTimestamp": "2024-05-01T11:55:00Z", "labels": {"team": "shop"}},
            "spec": {"family": "web", "cpu": "256", "memory": "512", "networkMode": "bridge",
                "containerDefinitions": [{"name": "web", "image": "nginx:1.25", "cpu": 128, "memory": 256,
                    "portMappings": [{"containerPort": 80, "hostPort": 8080}], "essential": true,
                    "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 30, "retries": 3},
                    "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}],
                    "environment": [{"name": "MODE", "value": "prod"}]}]}});
        let d = describe(&o, now());
        for want in [
            "Name:             web:2\n",
            "Kind:             TaskDefinition\n",
            "Labels:           team=shop\n",
            "Created:          2024-05-01T11:55:00Z (5m ago)\n",
            "ResourceVersion:  7\n",
            "  Family:        web\n",
            "  Containers:\n    web:\n",
            "      Image:         nginx:1.25\n",
            "      Ports:         8080:80/tcp\n",
            "      Health Check:  CMD-SHELL curl -f http://localhost/ || exit 1 (interval 30s, retries 3)\n",
            "      Depends On:    db (HEALTHY)\n",
            "        MODE=prod\n",
            "Status:   <none>\n",
        ] {
            assert!(d.contains(want), "missing {want:?} in\n{d}");
        }
        assert!(
            !d.contains("Cluster:"),
            "task definitions are not clustered:\n{d}"
        );
        assert!(!d.contains("Events"), "{d}");
    }

    #[test]
    fn service_connect_names_are_listed() {
        let o = json!({"kind": "Service", "metadata": {"name": "shop", "cluster": "default"},
            "spec": {"taskDefinition": "shop", "desiredCount": 1,
                "serviceConnectConfiguration": {"enabled": true, "namespace": "internal",
                    "services": [{"portName": "http", "discoveryName": "shop-http",
                        "clientAliases": [{"port": 8080, "dnsName": "shop.internal"}]}]}}});
        let d = describe(&o, now());
        assert!(
            d.contains("Service Connect:  shop-http (portName http), shop.internal:8080\n"),
            "{d}"
        );
        assert!(
            !d.contains("namespace"),
            "shown once, not again as the rest of the spec:\n{d}"
        );
    }

    #[test]
    fn task_status_and_events_newest_first() {
        let o = json!({"kind": "Task", "metadata": {"name": "abc"},
            "spec": {"taskDefinition": "web:1"},
            "status": {"lastStatus": "STOPPED", "desiredStatus": "STOPPED", "stopCode": "TaskFailedToStart",
                "stoppedReason": "CannotPullContainerError: image nope:latest not found",
                "events": [
                    {"createdAt": "2024-05-01T11:00:00Z", "message": "older"},
                    {"createdAt": "2024-05-01T11:59:00Z", "message": "newer"}]}});
        let d = describe(&o, now());
        assert!(d.contains("Cluster:          default\n"), "{d}");
        assert!(d.contains("  Stop Code:        TaskFailedToStart\n"), "{d}");
        assert!(
            d.contains(
                "  Stopped Reason:   CannotPullContainerError: image nope:latest not found\n"
            ),
            "{d}"
        );
        let events = &d[d.find("Events:").unwrap()..];
        assert_eq!(
            events,
            "Events:\n  AGE   MESSAGE\n  60s   newer\n  60m   older\n"
        );
    }
}
