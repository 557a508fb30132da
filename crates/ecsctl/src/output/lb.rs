//! The live part of `describe lb`: listeners and targets as the built-in load balancer sees
//! them (health and reason, requests, in flight, rate).

use super::fields::{array, human_duration, or_dash, parse_time, text};
use super::table::Table;
use serde_json::Value;
use time::OffsetDateTime;

/// Renders the load balancer's live status (`null` when it is not running yet).
pub fn live_status(v: &Value, now: OffsetDateTime) -> String {
    if v.is_null() {
        return "Live:\n  not serving yet (no listener bound)\n".to_string();
    }
    let mut out = String::from("Listeners:\n");
    let listeners = array(v, "/listeners");
    // HTTPS listeners name their certificates' Secrets and when each expires; the column is
    // there only then.
    let names = |l: &Value| {
        let names: Vec<String> = array(l, "/certificates")
            .iter()
            .filter_map(|c| {
                let name = text(c, "/name")?;
                Some(match text(c, "/notAfter").as_deref().and_then(parse_time) {
                    Some(t) if t <= now => format!("{name} (EXPIRED {})", t.date()),
                    Some(t) => format!(
                        "{name} (expires {}, in {})",
                        t.date(),
                        human_duration(t - now)
                    ),
                    None => name,
                })
            })
            .collect();
        names.join(", ")
    };
    let tls = listeners.iter().any(|l| !names(l).is_empty());
    let mut columns = vec!["PORT", "PROTOCOL", "ADDRESS", "BOUND"];
    if tls {
        columns.push("CERTIFICATES");
    }
    columns.push("ERROR");
    let mut t = Table::new(&columns);
    for l in listeners {
        let mut row = vec![
            or_dash(l, "/port"),
            or_dash(l, "/protocol"),
            or_dash(l, "/address"),
            or_dash(l, "/bound"),
        ];
        if tls {
            let n = names(l);
            row.push(if n.is_empty() { "-".to_string() } else { n });
        }
        row.push(or_dash(l, "/error"));
        t.push(row);
    }
    indent(&t.render(), &mut out);
    out.push_str("Targets:\n");
    let targets = array(v, "/targets");
    if targets.is_empty() {
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
    for x in targets {
        t.push(vec![
            or_dash(x, "/service"),
            or_dash(x, "/taskId"),
            or_dash(x, "/addr"),
            or_dash(x, "/health/state"),
            or_dash(x, "/requests"),
            or_dash(x, "/inFlight"),
            x.pointer("/ratePerSec")
                .and_then(Value::as_f64)
                .map_or("-".to_string(), |r| format!("{r:.1}")),
            or_dash(x, "/health/reason"),
        ]);
    }
    indent(&t.render(), &mut out);
    out
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
        let s = live_status(&v, now());
        assert!(s.contains("8080"), "{s}");
        assert!(
            s.contains("unhealthy") && s.contains("Connection refused"),
            "{s}"
        );
        assert!(live_status(&Value::Null, now()).contains("not serving yet"));
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
        let s = live_status(&v, now());
        assert!(s.contains("CERTIFICATES"), "{s}");
        assert!(
            s.contains(
                "web-cert (expires 2024-05-31, in 30d), api-cert (EXPIRED 2024-04-30), new-cert"
            ),
            "{s}"
        );
    }
}
