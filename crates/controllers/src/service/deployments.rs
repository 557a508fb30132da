//! Deployment objects: the system-owned mirror of a service's deployments (its status is the
//! source), so `ecsctl get deployments` lists them. Written only when they change.

use super::reconciler::ServiceError;
use crate::Context;
use api::deployment::DeploymentSpec;
use api::service::ServiceStatus;
use api::{Kind, Object, ObjectKey};
use runtime::labels;
use store::{ListQuery, Write};

/// Object name of a deployment: `ecs-svc/123` -> `ecs-svc-123` (a DNS label).
pub fn object_name(id: &str) -> String {
    id.replace('/', "-")
}

/// Makes the service's Deployment objects match its status (`None`: the service is gone).
pub async fn sync(
    ctx: &Context,
    cluster: &str,
    service: &str,
    status: Option<&ServiceStatus>,
) -> Result<(), ServiceError> {
    let writes = writes(ctx, cluster, service, status).await?;
    if !writes.is_empty() {
        ctx.store.write_all(writes).await?;
    }
    Ok(())
}

/// The writes that make the service's Deployment objects match its status (`None`: the
/// service is gone), for the caller to commit with its own.
pub async fn writes(
    ctx: &Context,
    cluster: &str,
    service: &str,
    status: Option<&ServiceStatus>,
) -> Result<Vec<Write>, ServiceError> {
    let mut out = Vec::new();
    let existing = ctx
        .store
        .list(
            &ListQuery::new(Kind::Deployment)
                .in_cluster(cluster.to_string())
                .with_label(labels::SERVICE, service),
        )
        .await?
        .items;
    let wanted = status.map(|s| s.deployments.as_slice()).unwrap_or_default();
    let invalid = |e: serde_json::Error| ServiceError::Invalid {
        service: service.to_string(),
        message: e.to_string(),
    };
    for d in wanted {
        let name = object_name(&d.id);
        let spec = DeploymentSpec {
            service: service.to_string(),
            task_definition: d.task_definition.clone(),
            desired_count: d.desired_count,
            labels: Default::default(),
        };
        let mut o = Object::with_spec(Kind::Deployment, name.clone(), &spec).map_err(invalid)?;
        o.metadata.cluster = Some(cluster.to_string());
        o.metadata
            .labels
            .insert(labels::SERVICE.to_string(), service.to_string());
        // The summary is the Deployment's status.
        o.set_status(d).map_err(invalid)?;
        let current = existing.iter().find(|e| e.metadata.name == name);
        let same_spec =
            current.is_some_and(|c| c.spec == o.spec && c.metadata.labels == o.metadata.labels);
        if !same_spec {
            out.push(Write::Apply(Box::new(o.clone())));
        }
        if current.is_none_or(|c| c.status != o.status) {
            out.push(Write::Status {
                key: o.key(),
                status: o.status.clone(),
                expected_resource_version: None,
            });
        }
    }
    for e in existing
        .iter()
        .filter(|e| !wanted.iter().any(|d| object_name(&d.id) == e.metadata.name))
    {
        out.push(Write::Delete(ObjectKey::new(
            Kind::Deployment,
            Some(cluster),
            &e.metadata.name,
        )));
    }
    Ok(out)
}
