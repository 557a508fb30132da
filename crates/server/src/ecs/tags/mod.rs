//! TagResource, UntagResource and ListTagsForResource on cluster, service, task and task
//! definition ARNs. Tags live in the object's `spec.tags`; a change of them is written
//! through the admission chain as the caller, with compare-and-swap on the object read.
//! A Service's tags are no part of what makes a deployment, so tagging one starts none.
//! A task definition revision is immutable in ecsctl: its tags are the ones it was
//! registered with, and changing them is refused.

pub(crate) mod rules;

use crate::ecs::input::parse as input;
use crate::ecs::{Applied, Caller, EcsState, denied, store_error, try_admit_and_apply};
use admission::access;
use api::taskdef::Tag;
use api::{Kind, Object, ObjectKey};
use ecsapi::EcsError;
use ecsapi::arn::{self, Arn};
use rules as tags_rules;

/// Reads and writes of one tag change before giving up on a resource that keeps changing.
const ATTEMPTS: usize = 5;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The object an ARN names, and its key.
fn key_of(resource_arn: &str) -> Result<ObjectKey, EcsError> {
    let bad = || {
        EcsError::invalid_parameter(format!(
            "resourceArn {resource_arn:?} is not the ARN of an ECS cluster, service, task or task definition"
        ))
    };
    let parsed = Arn::parse(resource_arn).ok_or_else(bad)?;
    match parsed.resource_type.as_str() {
        "cluster" => {
            let name = arn::cluster_name(resource_arn).ok_or_else(bad)?;
            Ok(ObjectKey::new(Kind::Cluster, None, &name))
        }
        t @ ("service" | "task") => {
            let (cluster, name) = arn::in_cluster(t, resource_arn).ok_or_else(bad)?;
            let kind = if t == "service" {
                Kind::Service
            } else {
                Kind::Task
            };
            Ok(ObjectKey::new(kind, cluster.as_deref(), &name))
        }
        "task-definition" => match arn::task_definition_ref(resource_arn) {
            Some((family, Some(rev))) => Ok(ObjectKey::new(
                Kind::TaskDefinition,
                None,
                &format!("{family}:{rev}"),
            )),
            _ => Err(bad()),
        },
        other => Err(EcsError::invalid_parameter(format!(
            "resourceArn {resource_arn:?}: ecsctl keeps no tags on {other} resources"
        ))),
    }
}

fn not_found(resource_arn: &str) -> EcsError {
    EcsError::resource_not_found(format!(
        "The specified resource {resource_arn} was not found."
    ))
}

/// The tags an object carries in its spec.
fn tags_of(o: &Object) -> Vec<Tag> {
    o.spec
        .get("tags")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
}

#[derive(Serialize)]
struct TagsPatch {
    /// `None` removes the field (a spec without tags stays as it was written).
    tags: Option<Vec<Tag>>,
}

/// The apply request writing `o` back with `tags`: the metadata a user owns plus the
/// resourceVersion read, so that a change made in between is not overwritten.
fn with_tags(o: &Object, tags: Vec<Tag>) -> Result<Object, serde_json::Error> {
    let mut out = o.cas_request();
    out.merge_spec(&TagsPatch {
        tags: (!tags.is_empty()).then_some(tags),
    })?;
    Ok(out)
}

/// Reads the object `resource_arn` names, makes its new tags with `change`, and writes it
/// as the caller.
async fn change_tags(
    state: &EcsState,
    caller: &Caller,
    resource_arn: String,
    change: impl Fn(&[Tag]) -> Result<Vec<Tag>, EcsError> + Send + 'static,
) -> Result<Value, EcsError> {
    let key = key_of(&resource_arn)?;
    access::authorize(
        &caller.identity,
        &access::Action::key(access::Verb::Write, &key),
    )
    .map_err(|f| denied(f.into()))?;
    let (admission, who) = (state.admission.clone(), caller.identity.clone());
    state
        .store
        .run(move |s| {
            // A task's or service's status changes often (its controller reports): a write
            // that lost to one reads again and tries once more.
            for _ in 0..ATTEMPTS {
            let Some(o) = s.get(&key)? else {
                return Ok(Err(not_found(&resource_arn)));
            };
            if key.kind == Kind::TaskDefinition {
                return Ok(Err(EcsError::invalid_parameter(format!(
                    "{resource_arn}: a registered task definition revision is immutable in ecsctl, its tags included (register a new revision with the tags instead)"
                ))));
            }
            let tags = match change(&tags_of(&o)) {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            if tags == tags_of(&o) {
                return Ok(Ok(json!({})));
            }
            let object = match with_tags(&o, tags) {
                Ok(o) => o,
                Err(e) => return Ok(Err(EcsError::server(e.to_string()))),
            };
            match try_admit_and_apply(&admission, &who, s, vec![object])? {
                Applied::Written => {
                    tracing::info!(resource = %key, identity = %who.name, "tags changed (ECS API)");
                    return Ok(Ok(json!({})));
                }
                Applied::Refused(e) => return Ok(Err(e)),
                Applied::Conflict => continue,
            }
            }
            Ok(Err(EcsError::client(format!(
                "{resource_arn} kept changing while its tags were written: try again"
            ))))
        })
        .await
        .map_err(store_error)?
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TagInput {
    resource_arn: String,
    tags: Vec<Tag>,
}

/// TagResource: adds the tags (a key already there takes the new value).
pub(super) async fn tag(state: &EcsState, caller: &Caller, body: Value) -> Result<Value, EcsError> {
    let req: TagInput = input(body)?;
    tags_rules::check(&req.tags)?;
    let new = req.tags;
    change_tags(state, caller, req.resource_arn, move |old| {
        tags_rules::merged(old, &new)
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UntagInput {
    resource_arn: String,
    tag_keys: Vec<String>,
}

/// UntagResource: removes the tags of the keys given.
pub(super) async fn untag(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: UntagInput = input(body)?;
    let keys = req.tag_keys;
    tags_rules::without(&[], &keys)?;
    change_tags(state, caller, req.resource_arn, move |old| {
        tags_rules::without(old, &keys)
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListInput {
    resource_arn: String,
}

/// ListTagsForResource: the tags of a resource the caller may read.
pub(super) async fn list(
    state: &EcsState,
    caller: &Caller,
    body: Value,
) -> Result<Value, EcsError> {
    let req: ListInput = input(body)?;
    let key = key_of(&req.resource_arn)?;
    let who = caller.identity.clone();
    let found = state
        .store
        .run(move |s| Ok(s.get(&key)?.filter(|o| who.may_read(o))))
        .await
        .map_err(store_error)?;
    match found {
        Some(o) => Ok(json!({ "tags": tags_rules::to_json(&tags_of(&o)) })),
        None => Err(not_found(&req.resource_arn)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_objects() {
        let k = key_of("arn:aws:ecs:eu-west-1:1:cluster/shop").unwrap();
        assert_eq!((k.kind, k.name.as_str()), (Kind::Cluster, "shop"));
        let k = key_of("arn:aws:ecs:eu-west-1:1:service/shop/web").unwrap();
        assert_eq!(
            (k.kind, k.cluster.as_deref(), k.name.as_str()),
            (Kind::Service, Some("shop"), "web")
        );
        let k = key_of("arn:aws:ecs:eu-west-1:1:task/abc").unwrap();
        assert_eq!(
            (k.kind, k.cluster.as_deref()),
            (Kind::Task, Some(api::DEFAULT_CLUSTER))
        );
        let k = key_of("arn:aws:ecs:eu-west-1:1:task-definition/web:3").unwrap();
        assert_eq!((k.kind, k.name.as_str()), (Kind::TaskDefinition, "web:3"));
        assert!(key_of("arn:aws:ecs:eu-west-1:1:task-definition/web").is_err());
        assert!(key_of("arn:aws:ecs:eu-west-1:1:capacity-provider/x").is_err());
        assert!(key_of("shop").is_err());
    }

    #[test]
    fn tags_are_written_into_the_spec_and_removed_with_the_last() {
        let mut o = Object::new(Kind::Service, "web", json!({"taskDefinition": "web"}));
        o.metadata.resource_version = Some(7);
        o.metadata.uid = Some("u".into());
        let tagged = with_tags(
            &o,
            vec![Tag {
                key: "a".into(),
                value: "1".into(),
            }],
        )
        .unwrap();
        assert_eq!(
            tagged.spec,
            json!({"taskDefinition": "web", "tags": [{"key": "a", "value": "1"}]})
        );
        assert_eq!(
            (
                tagged.metadata.resource_version,
                tagged.metadata.uid.as_deref()
            ),
            (Some(7), None)
        );
        assert_eq!(tags_of(&tagged).len(), 1);
        let untagged = with_tags(&tagged, vec![]).unwrap();
        assert_eq!(untagged.spec, json!({"taskDefinition": "web"}));
    }
}
