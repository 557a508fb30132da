//! `PUT /v1/instances/{id}/state?cluster=`: an admin drains a container instance (it takes
//! no new tasks and the service controller moves its service tasks elsewhere) or makes it
//! ACTIVE again. [`set_draining`] is the one write, shared with ECS's
//! UpdateContainerInstancesState.
//!
//! A ContainerInstance is system-owned (users cannot apply one), so the write goes to the
//! store directly rather than through the admission chain, which would refuse it; who may
//! ask is [`admission::access::Action::SetInstanceState`]'s (admins only).

use super::{AppState, ClusterQuery, blocking, json_body, path_param, query};
use crate::error::ApiError;
use admission::access::{self, Action, Identity};
use api::instance::{ContainerInstanceSpec, ContainerInstanceStatus, InstanceStatus};
use api::wire::{InstanceStateRequest, InstanceStateResponse};
use api::{DEFAULT_CLUSTER, Kind, Object, ObjectKey};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use store::{Store, StoreError};

/// Writes lost to a heartbeat (which writes the instance's status every few seconds)
/// before giving up.
const CAS_ATTEMPTS: usize = 5;

/// What [`set_draining`] found and did.
#[derive(Debug)]
pub(crate) enum StateChange {
    /// Written: the instance as stored now.
    Changed(Object),
    /// Already in that state: nothing written.
    Unchanged(Object),
    /// No such instance in the cluster.
    Missing,
    /// Deregistered: its state no longer changes.
    Inactive(Object),
}

/// The instance's state as ECS shows it: INACTIVE once deregistered, else DRAINING as soon
/// as its spec asks (its agent reports the same at its next heartbeat; a disconnected one
/// never would), else what the agent reported.
pub(crate) fn effective_status(o: &Object) -> InstanceStatus {
    let reported = o
        .status_as::<ContainerInstanceStatus>()
        .unwrap_or_default()
        .status;
    let draining = o
        .spec_as::<ContainerInstanceSpec>()
        .is_ok_and(|s| s.draining);
    match reported {
        InstanceStatus::Inactive => InstanceStatus::Inactive,
        _ if draining => InstanceStatus::Draining,
        InstanceStatus::Draining => InstanceStatus::Active,
        other => other,
    }
}

/// `spec.draining` as a merge patch: `true`, or removed (its default) for ACTIVE, so an
/// undrained spec reads as it did before the drain.
#[derive(Serialize)]
struct DrainingPatch {
    draining: Option<bool>,
}

/// Sets `spec.draining` of the instance `key` (blocking: call it inside
/// `AsyncStore::run`), with compare-and-swap on the revision it read, read again and
/// retried when a heartbeat wrote in between. The rest of the spec stays as it was.
pub(crate) fn set_draining(
    s: &dyn Store,
    key: &ObjectKey,
    draining: bool,
) -> Result<StateChange, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Some(o) = s.get(key)? else {
            return Ok(StateChange::Missing);
        };
        if effective_status(&o) == InstanceStatus::Inactive {
            return Ok(StateChange::Inactive(o));
        }
        let spec: ContainerInstanceSpec = o.spec_as().unwrap_or_default();
        if spec.draining == draining {
            return Ok(StateChange::Unchanged(o));
        }
        let mut request = o.cas_request();
        request
            .merge_spec(&DrainingPatch {
                draining: draining.then_some(true),
            })
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        match s.apply(request) {
            Ok(_) => {
                tracing::info!(instance = %key.name, cluster = key.cluster.as_deref().unwrap_or(DEFAULT_CLUSTER), draining, "container instance state changed");
                let now = s
                    .get(key)?
                    .ok_or_else(|| StoreError::NotFound(key.clone()))?;
                return Ok(StateChange::Changed(now));
            }
            Err(StoreError::Conflict { .. }) if attempt < CAS_ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `PUT /v1/instances/{id}/state?cluster=` with `{"status": "DRAINING" | "ACTIVE"}`: the
/// instance as stored and whether this changed it; 404 naming the instance and cluster
/// when there is none, 409 when it is INACTIVE.
pub(crate) async fn set_state(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<ClusterQuery>, QueryRejection>,
    req: Result<Json<InstanceStateRequest>, JsonRejection>,
) -> Result<Json<InstanceStateResponse>, ApiError> {
    let id = path_param(path)?;
    let req = json_body(req)?;
    let cluster = query(q)?.cluster_or_default();
    access::authorize(
        &who,
        &Action::SetInstanceState {
            cluster: cluster.clone(),
        },
    )?;
    let draining = match req.status {
        InstanceStatus::Draining => true,
        InstanceStatus::Active => false,
        // Unknown: a word this release does not know (serde keeps no copy of it).
        other => {
            let word = Some(other.as_str()).filter(|w| !w.is_empty());
            return Err(ApiError::bad_request(format!(
                "status {}: a container instance is set to ACTIVE or DRAINING only",
                word.unwrap_or("(not a status)")
            )));
        }
    };
    let key = ObjectKey::new(Kind::ContainerInstance, Some(&cluster), &id);
    let change = blocking(&state.store, move |s: &dyn Store| {
        set_draining(s, &key, draining)
    })
    .await?;
    match change {
        StateChange::Changed(instance) => Ok(Json(InstanceStateResponse {
            instance,
            changed: true,
        })),
        StateChange::Unchanged(instance) => Ok(Json(InstanceStateResponse {
            instance,
            changed: false,
        })),
        StateChange::Missing => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "container instance {id} not found in cluster {cluster} (`ecsctl get containerinstances --cluster {cluster}` lists them)"
            ),
        )),
        StateChange::Inactive(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "container instance {id} in cluster {cluster} is INACTIVE (deregistered): it can be neither drained nor made ACTIVE"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An instance whose spec is `spec` and whose agent last reported `reported` (`None`:
    /// never).
    fn instance(spec: serde_json::Value, reported: Option<InstanceStatus>) -> Object {
        let status = reported.map(|status| {
            serde_json::to_value(ContainerInstanceStatus {
                status,
                agent_connected: true,
                ..ContainerInstanceStatus::default()
            })
            .unwrap()
        });
        serde_json::from_value(json!({"apiVersion": "ecs/v1", "kind": "ContainerInstance",
            "metadata": {"name": "i-1", "cluster": "default"}, "spec": spec, "status": status}))
        .unwrap()
    }

    #[test]
    fn the_spec_says_draining_before_the_agent_does() {
        use InstanceStatus::{Active, Draining, Inactive};
        let cases = [
            (json!({}), Some(Active), Active),
            (json!({"draining": true}), Some(Active), Draining),
            (json!({"draining": true}), Some(Draining), Draining),
            // Undrained, before the next heartbeat.
            (json!({}), Some(Draining), Active),
            (json!({"draining": true}), Some(Inactive), Inactive),
            (json!({}), Some(Inactive), Inactive),
            // Registered, never reported.
            (json!({}), None, Active),
            (json!({"draining": true}), None, Draining),
        ];
        for (spec, reported, want) in cases {
            let o = instance(spec.clone(), reported);
            if reported.is_some() {
                assert_eq!(
                    o.status_as::<ContainerInstanceStatus>()
                        .ok()
                        .map(|s| s.status),
                    reported,
                    "the status reads back"
                );
            }
            assert_eq!(effective_status(&o), want, "{spec} {reported:?}");
        }
    }
}
