//! What is left of a service DeleteService deleted, so that ECS clients still see it
//! DRAINING while its tasks stop and then INACTIVE (the `services-inactive` waiter looks
//! for that), for an hour, as ECS keeps deleted services visible.
//!
//! The record lives in the store (it survives a restart): a system-owned Deployment object
//! `deleted-NAME` in the service's cluster, labelled `ecsctl.dev/deleted-service: NAME`
//! (not the `ecsctl.service` label, so the service controller's clean-up of the service's
//! deployments leaves it alone). Its spec and status are those of the service's last
//! deployment (so `ecsctl get deployments` shows it, INACTIVE); an annotation holds what
//! DescribeServices needs (the spec, the creation time, the last events). The Service object
//! itself is gone: `ecsctl get services` no longer lists it, and a service of the same name
//! may be created again (which removes the record). Records older than [`TTL`] are removed
//! by the next CreateService or DeleteService, and never shown.

use api::deployment::{DeploymentSpec, DeploymentStatus, DeploymentSummary, RolloutState};
use api::service::ServiceStatus;
use api::task::TaskStatus;
use api::{Kind, Object, ObjectKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use store::{ListQuery, Store, StoreError};
use time::OffsetDateTime;

/// How long a deleted service stays visible (ECS: about an hour).
pub(crate) const TTL: Duration = Duration::from_secs(3600);
/// The label naming the deleted service.
pub(crate) const LABEL: &str = "ecsctl.dev/deleted-service";
/// The annotation holding the [`Snapshot`] (JSON).
const SNAPSHOT: &str = "ecsctl.dev/deleted-service-snapshot";
/// Events kept from the service's last status.
const KEPT_EVENTS: usize = 20;

/// The object name of a deleted service's record.
pub(crate) fn object_name(service: &str) -> String {
    format!("deleted-{service}")
}

/// What DescribeServices needs of a deleted service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Snapshot {
    /// The service's spec, as stored.
    pub spec: Value,
    /// When the service was created (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it was deleted (RFC 3339).
    pub deleted_at: String,
    /// The revision it ran, `family:N`.
    pub task_definition: String,
    /// Its last status (deployments that were live, the newest events).
    pub status: ServiceStatus,
}

/// A deleted service, read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tombstone {
    pub snapshot: Snapshot,
    pub deleted_at: OffsetDateTime,
}

/// The record of `service` (a Service object being deleted at `now`, running
/// `task_definition`), with `status` its description's last status.
pub(crate) fn make(
    service: &Object,
    task_definition: &str,
    mut status: ServiceStatus,
    now: OffsetDateTime,
) -> Result<Object, serde_json::Error> {
    let cluster = service.metadata.cluster_or_default().to_string();
    let name = service.metadata.name.clone();
    let deleted_at = controllers::timefmt::rfc3339(now);
    status
        .deployments
        .retain(|d| d.status.is_primary() || d.status.is_active());
    status.events.truncate(KEPT_EVENTS);
    status.events.insert(
        0,
        api::service::Event {
            id: format!("{}-deleted", now.unix_timestamp_nanos()),
            created_at: deleted_at.clone(),
            message: format!("(service {name}) was deleted."),
        },
    );
    let last = status.primary().cloned().unwrap_or(DeploymentSummary {
        id: "ecs-svc/deleted".to_string(),
        status: DeploymentStatus::Primary,
        task_definition: task_definition.to_string(),
        desired_count: 0,
        running_count: 0,
        pending_count: 0,
        failed_tasks: 0,
        rollout_state: RolloutState::Completed,
        rollout_state_reason: String::new(),
        created_at: deleted_at.clone(),
        updated_at: deleted_at.clone(),
        generation: 0,
        rolled_back_from: String::new(),
    });
    let snapshot = Snapshot {
        spec: service.spec.clone(),
        created_at: service.metadata.creation_timestamp.clone(),
        deleted_at: deleted_at.clone(),
        task_definition: task_definition.to_string(),
        status,
    };
    let spec = DeploymentSpec {
        service: name.clone(),
        task_definition: last.task_definition.clone(),
        desired_count: 0,
        labels: Default::default(),
    };
    let mut o = Object::with_spec(Kind::Deployment, object_name(&name), &spec)?;
    o.metadata.cluster = Some(cluster);
    o.metadata.labels.insert(LABEL.to_string(), name);
    o.metadata
        .annotations
        .insert(SNAPSHOT.to_string(), serde_json::to_string(&snapshot)?);
    let summary = DeploymentSummary {
        status: DeploymentStatus::Inactive,
        desired_count: 0,
        rollout_state_reason: "The service was deleted.".to_string(),
        updated_at: deleted_at,
        ..last
    };
    o.set_status(&summary)?;
    Ok(o)
}

/// The record `o` holds, if it is one (a Deployment with a readable snapshot).
pub(crate) fn read(o: &Object) -> Option<Tombstone> {
    if o.kind != Kind::Deployment || !o.metadata.labels.contains_key(LABEL) {
        return None;
    }
    let snapshot: Snapshot = serde_json::from_str(o.metadata.annotations.get(SNAPSHOT)?).ok()?;
    let deleted_at = controllers::timefmt::parse_rfc3339(&snapshot.deleted_at)?;
    Some(Tombstone {
        snapshot,
        deleted_at,
    })
}

/// Whether a service deleted at `deleted_at` is no longer shown at `now`.
pub(crate) fn expired(deleted_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    now - deleted_at > TTL
}

/// The key of `service`'s record in `cluster`.
pub(crate) fn key(cluster: &str, service: &str) -> ObjectKey {
    ObjectKey::new(Kind::Deployment, Some(cluster), &object_name(service))
}

/// The record of `service` in `cluster`, unless there is none or it expired.
pub(crate) fn get(
    s: &dyn Store,
    cluster: &str,
    service: &str,
    now: OffsetDateTime,
) -> Result<Option<Tombstone>, StoreError> {
    Ok(s.get(&key(cluster, service))?
        .as_ref()
        .and_then(read)
        .filter(|t| !expired(t.deleted_at, now)))
}

/// Every unexpired record of `cluster` (or of every cluster), with its service's name.
pub(crate) fn list(
    s: &dyn Store,
    cluster: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<(String, Tombstone)>, StoreError> {
    let mut q = ListQuery::new(Kind::Deployment);
    q.cluster = cluster.map(str::to_string);
    Ok(s.list(&q)?
        .items
        .iter()
        .filter_map(|o| Some((o.metadata.labels.get(LABEL)?.clone(), read(o)?)))
        .filter(|(_, t)| !expired(t.deleted_at, now))
        .collect())
}

/// Removes the expired records (and unreadable ones); returns how many went.
pub(crate) fn sweep(s: &dyn Store, now: OffsetDateTime) -> Result<usize, StoreError> {
    let mut gone = 0;
    for o in s.list(&ListQuery::new(Kind::Deployment))?.items {
        if !o.metadata.labels.contains_key(LABEL) {
            continue;
        }
        if read(&o).is_none_or(|t| expired(t.deleted_at, now)) {
            match s.delete(&o.key()) {
                Ok(_) | Err(StoreError::NotFound(_)) => gone += 1,
                Err(e) => return Err(e),
            }
        }
    }
    if gone > 0 {
        tracing::info!(
            count = gone,
            "removed records of services deleted over an hour ago"
        );
    }
    Ok(gone)
}

/// The running and pending tasks a deleted service still has, and whether any is not yet
/// stopped (then the service is DRAINING).
pub(crate) fn tasks_left(
    s: &dyn Store,
    cluster: &str,
    service: &str,
) -> Result<(u32, u32, bool), StoreError> {
    let tasks = s
        .list(
            &ListQuery::new(Kind::Task)
                .in_cluster(cluster.to_string())
                .with_label(runtime::labels::SERVICE, service),
        )?
        .items;
    let (mut running, mut pending, mut left) = (0, 0, false);
    for t in &tasks {
        // A task whose status cannot be read is counted as not stopped.
        let phase = t.status_as::<TaskStatus>().ok().map(|st| st.last_status);
        match phase {
            Some(p) if p.is_terminal() => {}
            Some(p) => {
                left = true;
                running += u32::from(p.is_running());
                pending += u32::from(p.is_pending());
            }
            None => left = true,
        }
    }
    Ok((running, pending, left))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_reads_back_and_expires_after_an_hour() {
        let mut svc = Object::new(
            Kind::Service,
            "web",
            json!({"taskDefinition": "web:3", "desiredCount": 0}),
        );
        svc.metadata.cluster = Some("shop".into());
        svc.metadata.creation_timestamp = Some("2026-01-01T00:00:00Z".into());
        let now = controllers::timefmt::parse_rfc3339("2026-01-01T01:00:00Z").unwrap();
        let o = make(&svc, "web:3", ServiceStatus::default(), now).unwrap();
        assert_eq!(o.key(), key("shop", "web"));
        assert_eq!(o.metadata.labels[LABEL], "web");
        assert!(!o.metadata.labels.contains_key(runtime::labels::SERVICE));
        assert_eq!(o.status["status"], "INACTIVE");
        let t = read(&o).unwrap();
        assert_eq!(t.snapshot.spec["taskDefinition"], "web:3");
        assert_eq!(
            t.snapshot.status.events[0].message,
            "(service web) was deleted."
        );
        assert_eq!(t.deleted_at, now);
        assert!(!expired(t.deleted_at, now + Duration::from_secs(3599)));
        assert!(expired(t.deleted_at, now + Duration::from_secs(3601)));
        // The record is a valid Deployment as the api crate reads one.
        assert!(o.spec_as::<DeploymentSpec>().is_ok());
        assert!(serde_json::from_value::<DeploymentSummary>(o.status.clone()).is_ok());
    }
}
