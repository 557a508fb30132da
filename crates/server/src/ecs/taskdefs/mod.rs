//! RegisterTaskDefinition, DescribeTaskDefinition, DeregisterTaskDefinition and
//! DeleteTaskDefinitions (the lists are in [`list`]): ECS task definitions are the
//! TaskDefinition revisions `ecsctl get taskdefinitions` lists. A registration goes through
//! the same import and validation as `ecsctl apply` of ECS JSON, and through the admission
//! chain as the caller; a revision's ECS state (ACTIVE, INACTIVE, DELETE_IN_PROGRESS) is its
//! status.

mod list;
mod render;

pub(super) use list::{families, list};

use super::input::parse as input;
use super::{Caller, EcsState, denied, store_error};
use admission::access::{self, Action, Verb};
use api::taskdef::{RevisionState, TaskDefinitionStatus};
use api::{Kind, Object, ObjectKey};
use ecsapi::EcsError;
use ecsapi::arn;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use store::{Store, StoreError};

/// What RegisterTaskDefinition takes: the TaskDefinition spec, field for field.
const REGISTER_FIELDS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

/// ECS's answer for a task definition that is not there.
const UNABLE_TO_DESCRIBE: &str = "Unable to describe task definition.";
/// ECS's reason for a revision that does not exist (DeregisterTaskDefinition,
/// DeleteTaskDefinitions).
const DOES_NOT_EXIST: &str = "The specified task definition does not exist.";
/// ECS's reason for deleting a revision still ACTIVE.
const STILL_ACTIVE: &str = "The specified task definition is still in ACTIVE status. Please deregister the target and try again.";
/// DeleteTaskDefinitions takes at most this many.
const MAX_DELETE: usize = 10;

/// The TaskDefinition object a RegisterTaskDefinition request describes, through the ECS
/// JSON import and the validation `ecsctl apply` uses; its errors name the request's field.
fn to_object(body: &Value) -> Result<Object, EcsError> {
    let fields = body.as_object().cloned().unwrap_or_default();
    if let Some(unknown) = fields
        .keys()
        .find(|k| !REGISTER_FIELDS.contains(&k.as_str()))
    {
        return Err(EcsError::invalid_parameter(format!(
            "{unknown}: RegisterTaskDefinition has no such field (it takes {})",
            REGISTER_FIELDS.join(", ")
        )));
    }
    if fields.get("family").is_none_or(Value::is_null) {
        return Err(EcsError::client("family: Family cannot be blank."));
    }
    match fields.get("containerDefinitions") {
        Some(Value::Array(list)) if !list.is_empty() => {}
        _ => {
            return Err(EcsError::client(
                "containerDefinitions: Container list cannot be empty.",
            ));
        }
    }
    let joined = |errors: Vec<String>| EcsError::client(errors.join("; "));
    let imported = api::import::import_document(&Value::Object(fields), false)
        .map_err(|es| joined(es.iter().map(ToString::to_string).collect()))?;
    let report = api::validate::check(&imported.object);
    let at = |e: &api::FieldError| {
        api::FieldError::new(imported.mapping.to_document_path(&e.path), &e.message).to_string()
    };
    if !report.errors.is_empty() {
        return Err(joined(report.errors.iter().map(at).collect()));
    }
    for w in imported
        .warnings
        .iter()
        .map(ToString::to_string)
        .chain(report.warnings.iter().map(at))
    {
        tracing::info!(family = %imported.object.metadata.name, warning = %w, "RegisterTaskDefinition");
    }
    Ok(imported.object)
}

/// RegisterTaskDefinition: a new revision on every call, as ECS does (even when the spec
/// equals the latest revision's, which `ecsctl apply` would leave unchanged).
pub(super) async fn register(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let object = to_object(&body)?;
    let (admission, who) = (state.admission.clone(), caller.identity.clone());
    let registered = state
        .store
        .run(move |s| {
            let mut admitted = match admission.admit_apply_as(&who, s, vec![object]) {
                Ok(a) => a,
                Err(e) => return Ok(Err(denied(e))),
            };
            let Some(mut object) = admitted.objects.pop() else {
                return Ok(Err(EcsError::server("admission returned no object")));
            };
            let status = TaskDefinitionStatus {
                status: RevisionState::Active,
                registered_by: Some(who.name.clone()),
                ..Default::default()
            };
            object.status = serde_json::to_value(status)
                .map_err(|e| StoreError::Invalid(format!("a TaskDefinition's status: {e}")))?;
            let done = s.register(object)?.object;
            tracing::info!(taskdefinition = %done.display_name(), identity = %who.name, "registered a task definition (ECS API)");
            Ok(Ok(done))
        })
        .await
        .map_err(store_error)??;
    Ok(json!({
        "taskDefinition": render::describe(caller, &registered),
        "tags": render::tags(&registered),
    }))
}

/// A `taskDefinition` argument as a store key (`family` or `family:N`), and whether it
/// names a revision.
fn key_of(reference: &str) -> Option<(ObjectKey, bool)> {
    let (family, revision) = arn::task_definition_ref(reference)?;
    let name = match revision {
        Some(n) => format!("{family}:{n}"),
        None => family,
    };
    Some((
        ObjectKey::new(Kind::TaskDefinition, None, &name),
        revision.is_some(),
    ))
}

/// A key that must name one revision (`family:N` or its ARN).
fn revision_key(reference: &str) -> Result<ObjectKey, EcsError> {
    match key_of(reference) {
        Some((key, true)) => Ok(key),
        _ => Err(EcsError::client(format!(
            "taskDefinition {reference:?}: give one revision, as family:revision or its ARN"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    task_definition: String,
    #[serde(default)]
    include: Vec<String>,
}

/// DescribeTaskDefinition: `family` (its latest ACTIVE revision), `family:N` or an ARN;
/// `include: ["TAGS"]` adds the tags.
pub(super) async fn describe(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DescribeInput = input(body)?;
    if let Some(bad) = req.include.iter().find(|i| *i != "TAGS") {
        return Err(EcsError::invalid_parameter(format!(
            "include {bad:?} is not TAGS"
        )));
    }
    let Some((key, _)) = key_of(&req.task_definition) else {
        return Err(EcsError::client(UNABLE_TO_DESCRIBE));
    };
    access::authorize_list(&caller.identity, Kind::TaskDefinition, None)
        .map_err(|f| denied(f.into()))?;
    let who = caller.identity.clone();
    let found = state
        .store
        .run(move |s| Ok(s.get(&key)?.filter(|o| who.may_read(o))))
        .await
        .map_err(store_error)?
        .ok_or_else(|| EcsError::client(UNABLE_TO_DESCRIBE))?;
    let mut out = Map::new();
    out.insert("taskDefinition".into(), render::describe(caller, &found));
    if !req.include.is_empty() {
        out.insert("tags".into(), render::tags(&found));
    }
    Ok(Value::Object(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeregisterInput {
    task_definition: String,
}

/// DeregisterTaskDefinition: the revision becomes INACTIVE (its status); what runs it goes
/// on, nothing new may start from it. Deregistering it again answers it as it is.
pub(super) async fn deregister(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DeregisterInput = input(body)?;
    let key = revision_key(&req.task_definition)?;
    access::authorize(&caller.identity, &Action::key(Verb::Write, &key))
        .map_err(|f| denied(f.into()))?;
    let who = caller.identity.name.clone();
    let done = state
        .store
        .run(move |s| {
            let Some(cur) = s.get(&key)? else {
                return Ok(Err(EcsError::client(DOES_NOT_EXIST)));
            };
            let mut status: TaskDefinitionStatus = cur.status_as().unwrap_or_default();
            if status.status != RevisionState::Active {
                return Ok(Ok(cur));
            }
            status.status = RevisionState::Inactive;
            status.deregistered_at = Some(render::now_rfc3339());
            let done = write_status(s, &key, &cur, &status)?;
            tracing::info!(taskdefinition = %done.display_name(), identity = %who, "deregistered a task definition (ECS API)");
            Ok(Ok(done))
        })
        .await
        .map_err(store_error)??;
    Ok(json!({ "taskDefinition": render::describe(caller, &done) }))
}

/// Writes a revision's status, if it is still the revision that was read.
fn write_status(
    s: &dyn Store,
    key: &ObjectKey,
    cur: &Object,
    status: &TaskDefinitionStatus,
) -> Result<Object, StoreError> {
    let value = serde_json::to_value(status)
        .map_err(|e| StoreError::Invalid(format!("a TaskDefinition's status: {e}")))?;
    s.update_status(key, value, cur.metadata.resource_version)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteInput {
    task_definitions: Vec<String>,
}

/// DeleteTaskDefinitions: INACTIVE revisions (up to ten) become DELETE_IN_PROGRESS and are
/// deleted at once when nothing uses them, else by the revision GC once nothing does. An
/// ACTIVE or missing revision comes back in `failures`.
pub(super) async fn delete(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: DeleteInput = input(body)?;
    if req.task_definitions.is_empty() || req.task_definitions.len() > MAX_DELETE {
        return Err(EcsError::invalid_parameter(format!(
            "taskDefinitions: between 1 and {MAX_DELETE} revisions per DeleteTaskDefinitions, got {}",
            req.task_definitions.len()
        )));
    }
    let keys = req
        .task_definitions
        .iter()
        .map(|r| revision_key(r))
        .collect::<Result<Vec<_>, _>>()?;
    for key in &keys {
        state
            .admission
            .admit_delete_as(&caller.identity, key)
            .map_err(denied)?;
    }
    let caller_view = caller.clone();
    state
        .store
        .run(move |s| {
            let in_use = controllers::revisions::in_use(s)?;
            let (mut deleted, mut failures) = (Vec::new(), Vec::new());
            for (asked, key) in req.task_definitions.iter().zip(keys) {
                let Some(cur) = s.get(&key)? else {
                    failures.push(json!({"arn": asked_arn(&caller_view, asked), "reason": DOES_NOT_EXIST}));
                    continue;
                };
                let mut status: TaskDefinitionStatus = cur.status_as().unwrap_or_default();
                if status.status == RevisionState::Active {
                    failures.push(json!({"arn": render::arn(&caller_view, &cur), "reason": STILL_ACTIVE}));
                    continue;
                }
                status.status = RevisionState::DeleteInProgress;
                if status.delete_requested_at.is_none() {
                    status.delete_requested_at = Some(render::now_rfc3339());
                }
                let name = cur.display_name();
                let marked = if in_use.contains(&name) {
                    tracing::info!(taskdefinition = %name, "task definition in use: deleted once unused (ECS API)");
                    write_status(s, &key, &cur, &status)?
                } else {
                    let mut gone = cur.clone();
                    gone.status = serde_json::to_value(&status).unwrap_or(Value::Null);
                    match s.delete(&key) {
                        Ok(_) | Err(StoreError::NotFound(_)) => {}
                        Err(e) => return Err(e),
                    }
                    tracing::info!(taskdefinition = %name, identity = %caller_view.identity.name, "deleted a task definition (ECS API)");
                    gone
                };
                deleted.push(render::describe(&caller_view, &marked));
            }
            Ok(json!({"taskDefinitions": deleted, "failures": failures}))
        })
        .await
        .map_err(store_error)
}

/// The ARN of what a request named (an ARN as given; `family:N` as its ARN).
fn asked_arn(caller: &Caller, asked: &str) -> String {
    match arn::task_definition_ref(asked) {
        Some((family, Some(n))) if !asked.starts_with("arn:") => {
            arn::Arn::task_definition(&caller.region, &caller.account_id, &family, n).to_string()
        }
        _ => asked.to_string(),
    }
}
