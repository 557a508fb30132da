//! A stored TaskDefinition revision as ECS describes it: the `TaskDefinition` shape of
//! DescribeTaskDefinition, RegisterTaskDefinition and the others, and its tags.

use super::super::Caller;
use api::Object;
use api::taskdef::{Compatibility, TaskDefinitionSpec, TaskDefinitionStatus};
use ecsapi::arn::Arn;
use serde_json::{Value, json};

/// The revision's ARN.
pub(super) fn arn(caller: &Caller, revision: &Object) -> String {
    Arn::task_definition(
        &caller.region,
        &caller.account_id,
        &revision.metadata.name,
        revision.metadata.revision.unwrap_or(0),
    )
    .to_string()
}

/// The time now, as the store and the statuses write it.
pub(super) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The revision's tags, as ECS lists them (`[{key, value}]`).
pub(super) fn tags(revision: &Object) -> Value {
    revision
        .spec
        .get("tags")
        .cloned()
        .unwrap_or_else(|| json!([]))
}

/// The `TaskDefinition` ECS answers with. The spec is written back from its typed form, so
/// that what was given as `"512"` or `"0.5 GB"` comes back as the number ECS's shape has;
/// task-level `cpu` and `memory` are strings there, as ECS returns them.
pub(super) fn describe(caller: &Caller, revision: &Object) -> Value {
    let typed: Option<TaskDefinitionSpec> = revision.spec_as().ok();
    let mut out = match typed.as_ref().map(serde_json::to_value) {
        Some(Ok(Value::Object(m))) => m,
        // A revision stored before a rule it breaks: as it was stored.
        _ => revision.spec.as_object().cloned().unwrap_or_default(),
    };
    out.remove("tags");
    for field in ["cpu", "memory"] {
        if let Some(v) = out.get(field).and_then(Value::as_u64) {
            out.insert(field.to_string(), Value::String(v.to_string()));
        }
    }
    let status: TaskDefinitionStatus = revision.status_as().unwrap_or_default();
    let network_mode = typed
        .as_ref()
        .map(|t| t.network_mode().as_str())
        .unwrap_or("bridge");
    out.insert("family".into(), json!(revision.metadata.name));
    out.insert("taskDefinitionArn".into(), json!(arn(caller, revision)));
    out.insert("revision".into(), json!(revision.metadata.revision));
    out.insert("status".into(), json!(status.status.as_str()));
    out.insert("networkMode".into(), json!(network_mode));
    for list in [
        "containerDefinitions",
        "volumes",
        "placementConstraints",
        "requiresCompatibilities",
    ] {
        out.entry(list).or_insert_with(|| json!([]));
    }
    out.insert(
        "compatibilities".into(),
        json!(compatibilities(typed.as_ref())),
    );
    out.insert("requiresAttributes".into(), json!([]));
    let times = [
        (
            "registeredAt",
            revision.metadata.creation_timestamp.as_deref(),
        ),
        ("deregisteredAt", status.deregistered_at.as_deref()),
        ("deleteRequestedAt", status.delete_requested_at.as_deref()),
    ];
    for (field, at) in times {
        if let Some(secs) = at.and_then(crate::ecs::epoch) {
            out.insert(field.into(), json!(secs));
        }
    }
    if let Some(who) = status.registered_by {
        out.insert("registeredBy".into(), json!(who));
    }
    Value::Object(out)
}

/// The launch types the revision is valid for: every revision runs on this machine as on
/// EC2 or an external instance; Fargate and managed instances when it asks for them (and
/// was validated against their rules).
fn compatibilities(spec: Option<&TaskDefinitionSpec>) -> Vec<&'static str> {
    let mut out = vec!["EC2", "EXTERNAL"];
    let required = spec
        .map(|s| s.requires_compatibilities.as_slice())
        .unwrap_or(&[]);
    if required.contains(&Compatibility::Fargate) {
        out.push("FARGATE");
    }
    if required.contains(&Compatibility::ManagedInstances) {
        out.push("MANAGED_INSTANCES");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use api::Kind;

    fn caller() -> Caller {
        Caller {
            identity: admission::access::Identity::admin("test"),
            region: "eu-west-1".into(),
            account_id: "1".into(),
        }
    }

    #[test]
    fn numbers_strings_and_times_as_ecs_writes_them() {
        let mut td = Object::new(
            Kind::TaskDefinition,
            "web",
            json!({"containerDefinitions": [{"name": "app", "image": "nginx", "memory": "128"}],
                "cpu": "0.25 vCPU", "memory": "0.5 GB", "requiresCompatibilities": ["FARGATE"],
                "networkMode": "awsvpc", "tags": [{"key": "team", "value": "shop"}]}),
        );
        td.metadata.revision = Some(3);
        td.metadata.creation_timestamp = Some("2024-01-02T03:04:05.5Z".into());
        td.status = json!({"status": "INACTIVE", "deregisteredAt": "2024-01-02T03:04:06Z", "registeredBy": "ci"});
        let d = describe(&caller(), &td);
        assert_eq!(
            d["taskDefinitionArn"],
            "arn:aws:ecs:eu-west-1:1:task-definition/web:3"
        );
        assert_eq!(
            (d["cpu"].clone(), d["memory"].clone()),
            (json!("256"), json!("512"))
        );
        assert_eq!(d["containerDefinitions"][0]["memory"], 128);
        assert_eq!(d["registeredAt"], 1_704_164_645.5);
        assert_eq!(d["deregisteredAt"], 1_704_164_646.0);
        assert_eq!(
            (d["status"].as_str(), d["registeredBy"].as_str()),
            (Some("INACTIVE"), Some("ci"))
        );
        assert_eq!(d["compatibilities"], json!(["EC2", "EXTERNAL", "FARGATE"]));
        assert!(d.get("tags").is_none());
        assert_eq!(tags(&td), json!([{"key": "team", "value": "shop"}]));
    }
}
