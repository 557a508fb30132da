//! Shared by `scale` and `rollout`: naming a service on the command line, and changing a
//! service with compare-and-swap (read, change, write with the resourceVersion read; on 409
//! read again and retry), so that a concurrent write is never lost.

use crate::client::{Client, objects_path};
use crate::error::{ApiError, is_not_found, usage};
use anyhow::{Context, Result};
use api::service::ServiceSpec;
use api::wire::{ApplyRequest, ApplyResponse};
use api::{Kind, Object};

/// Attempts when someone else writes the service between our read and our write.
const CAS_ATTEMPTS: usize = 5;

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

/// GETs a service; "not found" reads as one clear line.
pub async fn get_service(client: &Client, cluster: &str, name: &str) -> Result<Object> {
    match client
        .get(&objects_path(
            Kind::Service,
            Some(name),
            Some(cluster),
            None,
        ))
        .await
    {
        Err(e) if is_not_found(&e) => {
            anyhow::bail!("service/{name} not found in cluster {cluster}")
        }
        r => r,
    }
}

/// The typed spec of a service as the server returned it.
pub fn service_spec(svc: &Object) -> Result<ServiceSpec> {
    svc.spec_as()
        .with_context(|| format!("reading the spec of service/{}", svc.metadata.name))
}

/// Reads the service, lets `change` edit it (returning whether it changed anything), and
/// writes it back with compare-and-swap, retrying on a conflict. Returns the object as
/// written (or as read, when `change` changed nothing) and whether it was written.
pub async fn update_service<F>(
    client: &Client,
    cluster: &str,
    name: &str,
    mut change: F,
) -> Result<(Object, bool)>
where
    F: FnMut(&mut Object) -> Result<bool>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut svc = get_service(client, cluster, name).await?;
        if !change(&mut svc)? {
            return Ok((svc, false));
        }
        match client
            .post::<_, ApplyResponse>(
                "/v1/apply",
                &ApplyRequest {
                    objects: vec![svc.cas_request()],
                },
            )
            .await
        {
            Ok(_) => return Ok((svc, true)),
            Err(e)
                if attempt < CAS_ATTEMPTS
                    && e.downcast_ref::<ApiError>()
                        .is_some_and(|a| a.status == 409) => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::UsageError;
    use serde_json::json;

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

    #[test]
    fn apply_requests_keep_user_metadata_and_compare_and_swap() {
        let svc = json!({"apiVersion": "ecs/v1", "kind": "Service",
            "metadata": {"name": "web", "cluster": "prod", "labels": {"a": "b"},
                         "annotations": {"x": "y"}, "resourceVersion": 7, "uid": "u",
                         "generation": 3, "creationTimestamp": "2024-05-01T11:00:00Z"},
            "spec": {"taskDefinition": "web", "desiredCount": 2},
            "status": {"runningCount": 2}});
        let svc: Object = serde_json::from_value(svc).unwrap();
        assert_eq!(
            serde_json::to_value(svc.cas_request()).unwrap(),
            json!({"apiVersion": "ecs/v1", "kind": "Service",
                "metadata": {"name": "web", "cluster": "prod", "labels": {"a": "b"},
                             "annotations": {"x": "y"}, "resourceVersion": 7},
                "spec": {"taskDefinition": "web", "desiredCount": 2}})
        );
    }
}
