//! One module per command. Each holds its clap arguments (with EXAMPLES) and a `run` function.

pub mod apply;
pub mod delete;
pub mod describe;
pub mod diff;
pub mod get;
pub mod schema;
pub mod server;
pub mod validate;

use crate::error::usage;
use api::Kind;

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
