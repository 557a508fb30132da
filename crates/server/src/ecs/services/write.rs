//! CreateService, UpdateService and DeleteService: the Service object written through the
//! admission chain as the caller (the same validation as `ecsctl apply`), answered with the
//! service's description.

use super::shape::{self, Described, Lifecycle};
use super::{
    Found, cluster_exists, current_task_definition, describe_active, find, resolve_task_definition,
    run, service_arg, service_key, tombstone,
};
use crate::ecs::input::{check_name, parse as input};
use crate::ecs::{Caller, EcsState, denied};
use api::service::{SchedulingStrategy, ServiceSpec, ServiceStatus};
use api::{Kind, Object};
use controllers::service::reconciler::FORCE_ANNOTATION;
use ecsapi::EcsError;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use store::{ListQuery, StoreError};
use time::OffsetDateTime;

/// The clientToken of the CreateService that made a service.
const TOKEN_ANNOTATION: &str = "ecsctl.dev/ecs-client-token";
/// A fingerprint of that CreateService request (its JSON, keys sorted).
const REQUEST_ANNOTATION: &str = "ecsctl.dev/ecs-client-request";
/// ECS fields ecsctl does not implement: refused, naming them.
const UNSUPPORTED: &[&str] = &["volumeConfigurations", "vpcLatticeConfigurations"];
/// Writes retried when the controller wrote the service between our read and our write.
const ATTEMPTS: usize = 5;

/// ECS's rule for client tokens: up to 36 ASCII characters from `!` to `~`.
fn check_token(token: &str) -> Result<(), EcsError> {
    if !token.is_empty() && token.len() <= 36 && token.bytes().all(|b| (33..=126).contains(&b)) {
        Ok(())
    } else {
        Err(EcsError::invalid_parameter(
            "clientToken: 1 to 36 ASCII characters from 33 to 126 are allowed",
        ))
    }
}

/// Refuses the ECS fields ecsctl cannot honour.
fn refuse_unsupported(op: &str, body: &Map<String, Value>) -> Result<(), EcsError> {
    for field in UNSUPPORTED {
        if body
            .get(*field)
            .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        {
            return Err(EcsError::invalid_parameter(format!(
                "{op}: {field} is not supported by ecsctl yet (leave it out)"
            )));
        }
    }
    Ok(())
}

/// The fingerprint of a request: its JSON with every object's keys sorted.
fn fingerprint(body: &Value) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), canonical(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let mut h = api::hash::Fnv::new();
    h.write(canonical(body).to_string().as_bytes());
    format!("{:016x}", h.finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateHead {
    cluster: Option<String>,
    service_name: String,
    client_token: Option<String>,
    task_definition: Option<String>,
}

/// CreateService: a new Service object; its taskDefinition pinned to the revision it
/// resolves to, as ECS pins one. The same clientToken with the same request answers the
/// service it made; an existing service is otherwise refused, as ECS refuses it.
pub(in crate::ecs) async fn create(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let head: CreateHead = input(body.clone())?;
    let Value::Object(mut spec) = body.clone() else {
        return Err(EcsError::serialization("the body must be a JSON object"));
    };
    refuse_unsupported("CreateService", &spec)?;
    check_name("serviceName", &head.service_name)?;
    if let Some(t) = &head.client_token {
        check_token(t)?;
    }
    let cluster = super::cluster_arg(head.cluster.as_deref())?;
    let Some(reference) = head.task_definition.clone() else {
        return Err(EcsError::invalid_parameter(
            "taskDefinition is required: ecsctl runs services of the ECS deployment controller",
        ));
    };
    for k in ["cluster", "serviceName", "clientToken"] {
        spec.remove(k);
    }
    spec.retain(|_, v| !v.is_null());
    let fingerprint = fingerprint(&body);
    let (admission, caller) = (state.admission.clone(), caller.clone());
    run(state, move |s| {
        let now = OffsetDateTime::now_utc();
        cluster_exists(s, &cluster)?;
        let name = head.service_name;
        let key = service_key(&cluster, &name);
        if let Some(existing) = s.get(&key)? {
            let ann = &existing.metadata.annotations;
            let same_token = head.client_token.is_some()
                && ann.get(TOKEN_ANNOTATION) == head.client_token.as_ref();
            if same_token && ann.get(REQUEST_ANNOTATION) == Some(&fingerprint) {
                let out = describe_active(s, &caller, &existing, false, now)?;
                return Ok(json!({ "service": out }));
            }
            return Err(EcsError::invalid_parameter(if same_token {
                "Creation of service was not idempotent. (The clientToken was used with a different request.)"
            } else {
                "Creation of service was not idempotent."
            })
            .into());
        }
        if let Some(token) = &head.client_token {
            let services = s
                .list(&ListQuery::new(Kind::Service).in_cluster(cluster.clone()))?
                .items;
            if let Some(other) = services
                .iter()
                .find(|o| o.metadata.annotations.get(TOKEN_ANNOTATION) == Some(token))
            {
                return Err(EcsError::invalid_parameter(format!(
                    "Creation of service was not idempotent. (The clientToken was used to create service {}.)",
                    other.metadata.name
                ))
                .into());
            }
        }
        tombstone::sweep(s, now)?;
        let deleted = tombstone::get(s, &cluster, &name, now)?;
        if deleted.is_some() && tombstone::tasks_left(s, &cluster, &name)?.2 {
            return Err(
                EcsError::invalid_parameter("Unable to Start a service that is still Draining.")
                    .into(),
            );
        }
        let td = resolve_task_definition(s, &reference)?;
        spec.insert("taskDefinition".into(), Value::String(td));
        let mut object = Object::new(Kind::Service, name.clone(), Value::Object(spec));
        object.metadata.cluster = Some(cluster.clone());
        if let Some(token) = &head.client_token {
            let ann = &mut object.metadata.annotations;
            ann.insert(TOKEN_ANNOTATION.into(), token.clone());
            ann.insert(REQUEST_ANNOTATION.into(), fingerprint);
        }
        let admitted = admission
            .admit_apply_as(&caller.identity, s, vec![object])
            .map_err(denied)?;
        s.apply_all(admitted.objects, false)?;
        if deleted.is_some() {
            match s.delete(&tombstone::key(&cluster, &name)) {
                Ok(_) | Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(cluster, service = name, identity = %caller.identity.name, "created a service (ECS API)");
        let made = s
            .get(&key)?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        Ok(json!({ "service": describe_active(s, &caller, &made, false, now)? }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateHead {
    cluster: Option<String>,
    service: String,
    task_definition: Option<String>,
    force_new_deployment: Option<bool>,
}

/// UpdateService's fields that are ServiceSpec fields under the same name.
const UPDATABLE: &[&str] = &[
    "desiredCount",
    "capacityProviderStrategy",
    "deploymentConfiguration",
    "availabilityZoneRebalancing",
    "networkConfiguration",
    "placementConstraints",
    "placementStrategy",
    "platformVersion",
    "healthCheckGracePeriodSeconds",
    "deploymentController",
    "enableExecuteCommand",
    "enableECSManagedTags",
    "loadBalancers",
    "propagateTags",
    "serviceRegistries",
    "serviceConnectConfiguration",
];

/// UpdateService: the fields given replace the Service's; a new taskDefinition is pinned to
/// its revision; forceNewDeployment sets the force-deployment annotation (what `ecsctl
/// rollout restart` sets), which makes the controller start a new deployment.
pub(in crate::ecs) async fn update(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let head: UpdateHead = input(body.clone())?;
    let Value::Object(mut patch) = body else {
        return Err(EcsError::serialization("the body must be a JSON object"));
    };
    refuse_unsupported("UpdateService", &patch)?;
    for k in ["cluster", "service", "taskDefinition", "forceNewDeployment"] {
        patch.remove(k);
    }
    patch.retain(|_, v| !v.is_null());
    if let Some(k) = patch.keys().find(|k| !UPDATABLE.contains(&k.as_str())) {
        return Err(EcsError::invalid_parameter(format!(
            "UpdateService: {k} is not a field UpdateService takes"
        )));
    }
    let Some((cluster, name)) = service_arg(head.cluster.as_deref(), &head.service)? else {
        return Err(EcsError::service_not_found());
    };
    let (admission, caller) = (state.admission.clone(), caller.clone());
    run(state, move |s| {
        let now = OffsetDateTime::now_utc();
        cluster_exists(s, &cluster)?;
        let td = head
            .task_definition
            .as_deref()
            .map(|r| resolve_task_definition(s, r))
            .transpose()?;
        let force = head.force_new_deployment == Some(true);
        for attempt in 1..=ATTEMPTS {
            let current = match find(s, &cluster, &name, now)? {
                None => return Err(EcsError::service_not_found().into()),
                Some(Found::Deleted(_)) => return Err(EcsError::service_not_active().into()),
                Some(Found::Active(o)) => *o,
            };
            let mut next = current.clone();
            let Value::Object(spec) = &mut next.spec else {
                return Err(EcsError::server("the stored service's spec is not an object").into());
            };
            for (k, v) in &patch {
                spec.insert(k.clone(), v.clone());
            }
            if let Some(td) = &td {
                spec.insert("taskDefinition".into(), Value::String(td.clone()));
            }
            if force {
                next.metadata.annotations.insert(
                    FORCE_ANNOTATION.to_string(),
                    uuid::Uuid::new_v4().to_string(),
                );
            }
            let admitted = admission
                .admit_apply_as(&caller.identity, s, vec![next])
                .map_err(denied)?;
            if patch.contains_key("desiredCount") && !admitted.ownership_warnings.is_empty() {
                return Err(EcsError::invalid_parameter(format!(
                    "desiredCount: {} (change the autoscaler's bounds instead)",
                    admitted.ownership_warnings.join("; ")
                ))
                .into());
            }
            match s.apply_all(admitted.objects, false) {
                Ok(_) => break,
                Err(StoreError::Conflict { .. }) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(cluster, service = name, identity = %caller.identity.name, "updated a service (ECS API)");
        let key = service_key(&cluster, &name);
        let done = s.get(&key)?.ok_or_else(|| StoreError::NotFound(key.clone()))?;
        Ok(json!({ "service": describe_active(s, &caller, &done, false, now)? }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteInput {
    cluster: Option<String>,
    service: String,
    force: Option<bool>,
}

/// DeleteService: refused while a REPLICA service is scaled above 0 unless `force`; the
/// Service object goes (the controller stops its tasks) and a record keeps it visible,
/// DRAINING then INACTIVE, for an hour.
pub(in crate::ecs) async fn delete(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DeleteInput = input(body)?;
    let Some((cluster, name)) = service_arg(req.cluster.as_deref(), &req.service)? else {
        return Err(EcsError::service_not_found());
    };
    let key = service_key(&cluster, &name);
    state
        .admission
        .admit_delete_as(&caller.identity, &key)
        .map_err(denied)?;
    let caller = caller.clone();
    let force = req.force == Some(true);
    run(state, move |s| {
        let now = OffsetDateTime::now_utc();
        cluster_exists(s, &cluster)?;
        let o = match find(s, &cluster, &name, now)? {
            None => return Err(EcsError::service_not_found().into()),
            Some(Found::Deleted(_)) => {
                return Err(EcsError::service_not_found_because(
                    "Service not found: it was deleted already (it is DRAINING or INACTIVE).",
                )
                .into());
            }
            Some(Found::Active(o)) => *o,
        };
        let typed: Option<ServiceSpec> = o.spec_as().ok();
        let replica = typed
            .as_ref()
            .is_none_or(|t| t.scheduling_strategy() == SchedulingStrategy::Replica);
        if replica && !force && shape::desired_count(&o.spec, typed.as_ref()) > 0 {
            return Err(EcsError::invalid_parameter(
                "The service cannot be stopped while it is scaled above 0.",
            )
            .into());
        }
        let status: ServiceStatus = o.status_as().unwrap_or_default();
        let td = current_task_definition(s, &o.spec, &status)?;
        let described = shape::service(&Described {
            region: &caller.region,
            account: &caller.account_id,
            cluster: &cluster,
            name: &name,
            lifecycle: Lifecycle::Draining,
            spec: &o.spec,
            status: &status,
            created_at: o.metadata.creation_timestamp.as_deref(),
            task_definition: &td,
            unobserved: None,
            tags: false,
        });
        super::delete_with_record(s, &o, now)?;
        tracing::info!(cluster, service = name, identity = %caller.identity.name, "deleted a service (ECS API)");
        Ok(json!({ "service": described }))
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_key_order() {
        let a =
            json!({"serviceName": "web", "desiredCount": 2, "tags": [{"key": "k", "value": "v"}]});
        let b =
            json!({"tags": [{"value": "v", "key": "k"}], "desiredCount": 2, "serviceName": "web"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = json!({"serviceName": "web", "desiredCount": 3});
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn tokens_follow_ecs_rules() {
        assert!(check_token("abc-123").is_ok());
        assert!(check_token(&"t".repeat(37)).is_err() && check_token("a b").is_err());
    }
}
