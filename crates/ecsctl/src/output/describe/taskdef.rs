//! The spec of a TaskDefinition: containers, ports, health checks, dependencies.

use super::super::fields::{array, or_dash, scalar, text};
use super::Block;
use super::is_empty;
use serde_json::Value;
use std::fmt::Write;

pub(super) fn task_definition_spec(obj: &Value, spec: &Value, out: &mut String) {
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
