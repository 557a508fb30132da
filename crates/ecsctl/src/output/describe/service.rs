//! A Service's spec and status: deployments, counts, conditions.

use super::super::fields::{array, or_dash, text};
use super::super::table::Table;
use super::{Block, generic, indent_into, is_empty, without};
use serde_json::Value;

pub(super) fn service_spec(spec: &Value, out: &mut String) {
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

pub(super) fn service_status(status: &Value, out: &mut String) {
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
