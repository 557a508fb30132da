//! Shared by `scale` and `rollout`: naming a service on the command line. Reading and
//! changing a service is [`crate::actions`]'s, shared with the console.

use crate::error::usage;
use anyhow::Result;
use api::Kind;

/// `service/web`, `svc/web`, or `service` and `web` as two words -> `web`.
pub fn service_name(first: &str, second: Option<&str>) -> Result<String> {
    let bad = || {
        usage(format!(
            "expected service/NAME (or `service NAME`), got {:?}",
            match second {
                Some(s) => format!("{first} {s}"),
                None => first.to_string(),
            }
        ))
    };
    let (kind, name) = match (first.split_once('/'), second) {
        (Some((k, n)), None) => (k, n),
        (None, Some(n)) => (first, n),
        _ => return Err(bad()),
    };
    match Kind::parse_user(kind) {
        Some(Kind::Service) if !name.is_empty() && !name.contains('/') => Ok(name.to_string()),
        Some(Kind::Service) => Err(bad()),
        _ => Err(usage(format!(
            "only services can be scaled or rolled out, not {kind:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::UsageError;

    #[test]
    fn service_names_in_every_form() {
        assert_eq!(service_name("service/web", None).unwrap(), "web");
        assert_eq!(service_name("svc/web", None).unwrap(), "web");
        assert_eq!(service_name("services", Some("web")).unwrap(), "web");
        for (a, b) in [
            ("web", None),
            ("service/", None),
            ("service/web", Some("x")),
            ("service/a/b", None),
            ("task/abc", None),
            ("td", Some("web")),
        ] {
            let err = service_name(a, b).unwrap_err();
            assert!(err.downcast_ref::<UsageError>().is_some(), "{a} {b:?}");
        }
    }
}
