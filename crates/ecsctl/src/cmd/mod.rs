//! One module per command. Each holds its clap arguments (with EXAMPLES) and a `run` function.

pub mod agent;
pub mod apply;
pub mod aws_env;
pub mod console;
pub mod delete;
pub mod describe;
pub mod diff;
pub mod drain;
pub mod events;
pub mod exec;
pub mod get;
pub mod logs;
pub mod rollout;
pub mod run_task;
pub mod scale;
pub mod schema;
pub mod server;
pub mod service_update;
pub mod status;
pub mod stop_task;
pub mod sync;
pub mod top;
pub mod validate;

use crate::error::usage;
use api::Kind;
use std::time::Duration;

/// `60s`, `2m`, `1m30s`, `500ms`, `1h` or a number of seconds, for `--timeout`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: expected e.g. 60s, 2m, 1m30s or 500ms");
    let s = s.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let secs_per_unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += Duration::try_from_secs_f64(value * secs_per_unit).map_err(|_| bad())?;
    }
    Ok(total)
}

/// `90s` -> `90s`, `2m0s` -> `2m`: a duration as the user would type it.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if ms.is_multiple_of(60_000) && ms >= 60_000 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// Parses a kind as the user typed it (singular, plural or short form).
pub fn parse_kind(s: &str) -> anyhow::Result<Kind> {
    Kind::parse_user(s).ok_or_else(|| {
        usage(format!(
            "unknown kind {s:?}: expected one of {}",
            kind_list()
        ))
    })
}

/// `clusters (cl), taskdefinitions (td), ...` for error messages.
pub fn kind_list() -> String {
    Kind::ALL
        .iter()
        .map(|k| match k.short_names().first() {
            Some(short) => format!("{} ({short})", k.plural()),
            None => k.plural().to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `-l a=b -l c=d,e=f` -> `a=b,c=d,e=f`, checking the shape of each pair.
pub fn label_selector(selectors: &[String]) -> anyhow::Result<Option<String>> {
    let mut pairs = Vec::new();
    for s in selectors {
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() && !v.contains('=') => {
                    pairs.push(format!("{}={}", k.trim(), v.trim()));
                }
                _ => {
                    return Err(usage(format!(
                        "invalid label selector {pair:?}: expected KEY=VALUE"
                    )));
                }
            }
        }
    }
    Ok((!pairs.is_empty()).then(|| pairs.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::UsageError;

    #[test]
    fn kinds_parse_in_every_form() {
        for (s, k) in [
            ("td", Kind::TaskDefinition),
            ("taskdefinitions", Kind::TaskDefinition),
            ("TaskDefinition", Kind::TaskDefinition),
            ("svc", Kind::Service),
            ("service", Kind::Service),
            ("tasks", Kind::Task),
            ("lb", Kind::LoadBalancer),
            ("cl", Kind::Cluster),
            ("deployments", Kind::Deployment),
        ] {
            assert_eq!(parse_kind(s).unwrap(), k, "{s}");
        }
        let err = parse_kind("pods").unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "unknown kind \"pods\": expected one of clusters (cl), taskdefinitions (td)"
            ),
            "{msg}"
        );
        assert!(
            msg.contains("services (svc)") && msg.contains("tasks,"),
            "{msg}"
        );
    }

    #[test]
    fn durations() {
        for (s, ms) in [
            ("60s", 60_000),
            ("60", 60_000),
            ("2m", 120_000),
            ("1m30s", 90_000),
            ("500ms", 500),
            ("1.5s", 1500),
            ("1h", 3_600_000),
        ] {
            assert_eq!(parse_duration(s).unwrap(), Duration::from_millis(ms), "{s}");
        }
        for s in ["", "s", "5x", "m5", "-1s"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
        assert_eq!(show_duration(Duration::from_secs(60)), "1m");
        assert_eq!(show_duration(Duration::from_secs(90)), "90s");
        assert_eq!(show_duration(Duration::from_millis(2500)), "2500ms");
    }

    #[test]
    fn selectors_join_and_check() {
        assert_eq!(label_selector(&[]).unwrap(), None);
        assert_eq!(
            label_selector(&["team=shop".into(), "tier = web,env=prod".into()])
                .unwrap()
                .as_deref(),
            Some("team=shop,tier=web,env=prod")
        );
        assert!(label_selector(&["team".into()]).is_err());
        assert!(label_selector(&["=x".into()]).is_err());
    }
}
