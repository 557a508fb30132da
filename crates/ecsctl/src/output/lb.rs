//! The live part of `describe lb`: listeners and targets as the built-in load balancer sees
//! them (health and reason, requests, in flight, rate).

use super::fields::{human_duration, parse_time};
use super::table::Table;
use api::kinds::LbProtocol;
use api::wire::{ListenerStatus, LoadBalancerStatus};
use time::OffsetDateTime;

/// Renders the load balancer's live status (`None` when it is not running yet).
pub fn live_status(v: Option<&LoadBalancerStatus>, now: OffsetDateTime) -> String {
    let Some(v) = v else {
        return "Live:\n  not serving yet (no listener bound)\n".to_string();
    };
    let mut out = String::from("Listeners:\n");
    // HTTPS listeners name their certificates' Secrets and when each expires; the column is
    // there only then.
    let names = |l: &ListenerStatus| {
        let names: Vec<String> = l
            .certificates
            .iter()
            .filter(|c| !c.name.is_empty())
            .map(|c| {
                let name = c.name.clone();
                match c.not_after.as_deref().and_then(parse_time) {
                    Some(t) if t <= now => format!("{name} (EXPIRED {})", t.date()),
                    Some(t) => format!(
                        "{name} (expires {}, in {})",
                        t.date(),
                        human_duration(t - now)
                    ),
                    None => name,
                }
            })
            .collect();
        names.join(", ")
    };
    let tls = v.listeners.iter().any(|l| !names(l).is_empty());
    let mut columns = vec!["PORT", "PROTOCOL", "ADDRESS", "BOUND"];
    if tls {
        columns.push("CERTIFICATES");
    }
    columns.push("ERROR");
    let mut t = Table::new(&columns);
    for l in &v.listeners {
        let mut row = vec![
            l.port.to_string(),
            protocol_word(l.protocol).to_string(),
            dash(&l.address),
            l.bound.to_string(),
        ];
        if tls {
            let n = names(l);
            row.push(if n.is_empty() { "-".to_string() } else { n });
        }
        row.push(dash(l.error.as_deref().unwrap_or("")));
        t.push(row);
    }
    indent(&t.render(), &mut out);
    out.push_str("Targets:\n");
    if v.targets.is_empty() {
        out.push_str("  <none>\n");
        return out;
    }
    let mut t = Table::new(&[
        "SERVICE",
        "TASK",
        "ADDRESS",
        "HEALTH",
        "REQUESTS",
        "IN FLIGHT",
        "RATE/S",
        "REASON",
    ]);
    for x in &v.targets {
        t.push(vec![
            dash(&x.service),
            dash(&x.task_id),
            x.addr.to_string(),
            x.health.state().to_string(),
            x.requests.to_string(),
            x.in_flight.to_string(),
            format!("{:.1}", x.rate_per_sec),
            dash(x.health.reason().unwrap_or("")),
        ]);
    }
    indent(&t.render(), &mut out);
    out
}

/// The text, or `-` when it is empty.
fn dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_string()
    } else {
        text.to_string()
    }
}

/// The protocol as the manifest spells it.
fn protocol_word(p: LbProtocol) -> &'static str {
    match p {
        LbProtocol::Http => "HTTP",
        LbProtocol::Https => "HTTPS",
        LbProtocol::Tcp => "TCP",
    }
}

fn indent(text: &str, out: &mut String) {
    for line in text.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(v: serde_json::Value) -> LoadBalancerStatus {
        serde_json::from_value(v).expect("a load balancer status")
    }

    fn now() -> OffsetDateTime {
        parse_time("2024-05-01T12:00:00Z").expect("time")
    }

    #[test]
    fn shows_listeners_and_targets_with_reasons() {
        let v = json!({"name": "web", "cluster": "default",
            "listeners": [{"port": 8080, "protocol": "HTTP", "address": "127.0.0.1", "bound": true, "error": null}],
            "targets": [{"service": "web", "taskId": "abc", "addr": "172.20.0.2:8080",
                         "health": {"state": "unhealthy", "reason": "Connection refused"},
                         "requests": 10, "inFlight": 0, "ratePerSec": 0.5}]});
        let s = live_status(Some(&status(v)), now());
        assert!(s.contains("8080"), "{s}");
        assert!(
            s.contains("unhealthy") && s.contains("Connection refused"),
            "{s}"
        );
        assert!(live_status(None, now()).contains("not serving yet"));
        assert!(!s.contains("CERTIFICATES"), "{s}");
    }

    #[test]
    fn https_listeners_name_their_certificates() {
        let v = json!({"name": "edge", "cluster": "default",
            "listeners": [
                {"port": 443, "protocol": "HTTPS", "address": "127.0.0.1", "bound": true,
                 "error": null, "certificates": [
                     {"name": "web-cert", "notAfter": "2024-05-31T12:00:00Z"},
                     {"name": "api-cert", "notAfter": "2024-04-30T12:00:00Z"},
                     {"name": "new-cert"}]},
                {"port": 80, "protocol": "HTTP", "address": "127.0.0.1", "bound": true, "error": null}],
            "targets": []});
        let s = live_status(Some(&status(v)), now());
        assert!(s.contains("CERTIFICATES"), "{s}");
        assert!(
            s.contains(
                "web-cert (expires 2024-05-31, in 30d), api-cert (EXPIRED 2024-04-30), new-cert"
            ),
            "{s}"
        );
    }
}
