//! JSON Schema (draft 2020-12) of every manifest kind, generated from the same types that
//! validate manifests, so editors and `ecsctl validate` agree.

use crate::autoscaler::AutoscalerSpec;
use crate::cluster::ClusterSpec;
use crate::kind::Kind;
use crate::loadbalancer::LoadBalancerSpec;
use crate::object::{API_VERSION, ObjectMeta};
use crate::service::ServiceSpec;
use crate::task::TaskSpec;
use crate::taskdef::TaskDefinitionSpec;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// File name of a kind's schema (`taskdefinition.json`).
pub fn file_name(kind: Kind) -> String {
    format!("{}.json", kind.as_str().to_ascii_lowercase())
}

/// Every schema file: one per user kind and `all.json`, which accepts any of them.
pub fn all_schemas() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Kind::USER
        .iter()
        .map(|k| {
            let mut generator = generator();
            let envelope = envelope(*k, &mut generator);
            (file_name(*k), root(envelope, &mut generator))
        })
        .collect();
    let mut generator = generator();
    let branches: Vec<Value> = Kind::USER
        .iter()
        .map(|k| envelope(*k, &mut generator))
        .collect();
    let all = json!({
        "$schema": DRAFT,
        "title": "ecsctl manifest",
        "description": "Any ecsctl manifest; the `kind` field picks the shape.",
        "type": "object",
        "required": ["kind"],
        "oneOf": branches,
        "$defs": Value::Object(generator.take_definitions(true)),
    });
    out.push(("all.json".to_string(), all));
    out
}

fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator()
}

fn spec_schema(kind: Kind, generator: &mut SchemaGenerator) -> Value {
    let s = match kind {
        Kind::Cluster => generator.subschema_for::<ClusterSpec>(),
        Kind::TaskDefinition => generator.subschema_for::<TaskDefinitionSpec>(),
        Kind::Service => generator.subschema_for::<ServiceSpec>(),
        Kind::Task => generator.subschema_for::<TaskSpec>(),
        Kind::Autoscaler => generator.subschema_for::<AutoscalerSpec>(),
        Kind::LoadBalancer => generator.subschema_for::<LoadBalancerSpec>(),
        Kind::Secret => generator.subschema_for::<crate::secret::SecretSpec>(),
        Kind::SecurityGroup => generator.subschema_for::<crate::securitygroup::SecurityGroupSpec>(),
        Kind::Role => generator.subschema_for::<crate::role::RoleSpec>(),
        Kind::Deployment => generator.subschema_for::<Value>(),
        Kind::ContainerInstance => {
            generator.subschema_for::<crate::instance::ContainerInstanceSpec>()
        }
    };
    s.to_value()
}

/// The manifest envelope of one kind: apiVersion, kind, metadata, spec, status.
fn envelope(kind: Kind, generator: &mut SchemaGenerator) -> Value {
    let mut required = vec!["apiVersion", "kind", "metadata"];
    if kind != Kind::Cluster {
        required.push("spec");
    }
    let metadata = generator.subschema_for::<ObjectMeta>().to_value();
    let description = match kind {
        Kind::Cluster => "A cluster: a policy for its workloads and the capacity they may use.",
        Kind::TaskDefinition => {
            "An ECS task definition (RegisterTaskDefinition input); each change makes a new revision family:N."
        }
        Kind::Service => {
            "An ECS service (CreateService input): keeps desiredCount tasks running and rolls out changes."
        }
        Kind::Task => "A standalone task, as `ecsctl run-task` starts.",
        Kind::Autoscaler => "Scales a service's desiredCount on measured CPU, memory or requests.",
        Kind::LoadBalancer => {
            "A load balancer served by the ecsctl server in front of services' tasks."
        }
        Kind::Secret => {
            "A secret value (inline, from a file or from the server's environment) that containers receive through containerDefinitions[].secrets."
        }
        Kind::SecurityGroup => {
            "Which traffic may reach and leave awsvpc tasks: ingress and egress rules that only allow, as EC2's security groups."
        }
        Kind::Role => {
            "A task role: where the AWS credentials of tasks whose taskRoleArn names it come from (an access key whose secret is a Secret, or a profile of the server's shared-credentials file)."
        }
        Kind::Deployment => "A deployment of a service (system-owned).",
        Kind::ContainerInstance => {
            "A host that runs tasks, registered by the server or an agent (system-owned)."
        }
    };
    json!({
        "title": kind.as_str(),
        "description": description,
        "type": "object",
        "required": required,
        "additionalProperties": false,
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": "Always ecs/v1."},
            "kind": {"const": kind.as_str()},
            "metadata": metadata,
            "spec": spec_schema(kind, generator),
            "status": {"description": "Written by controllers; ignored on apply."}
        }
    })
}

fn root(envelope: Value, generator: &mut SchemaGenerator) -> Value {
    let mut m: Map<String, Value> = match envelope {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut out = Map::new();
    out.insert("$schema".into(), DRAFT.into());
    out.append(&mut m);
    out.insert(
        "$defs".into(),
        Value::Object(generator.take_definitions(true)),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_tight() {
        let all = all_schemas();
        assert_eq!(all.len(), Kind::USER.len() + 1);
        let (_, td) = all
            .iter()
            .find(|(n, _)| n == "taskdefinition.json")
            .expect("td schema");
        let defs = &td["$defs"];
        let cd = &defs["ContainerDefinition"];
        assert_eq!(cd["additionalProperties"], false);
        assert!(
            cd["required"]
                .as_array()
                .expect("required")
                .contains(&json!("image"))
        );
        assert!(
            cd["properties"]["image"]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        let pm = &defs["PortMapping"]["properties"]["containerPort"];
        assert!(pm.to_string().contains("65535"), "{pm}");
        assert!(defs["NetworkMode"].to_string().contains("awsvpc"));
        assert_eq!(td["properties"]["kind"]["const"], "TaskDefinition");
    }
}
