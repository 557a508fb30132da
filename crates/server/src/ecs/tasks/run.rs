//! RunTask's input, with no I/O besides reading the task definition: what is checked and
//! refused before anything is written, and the TaskSpec each task gets.

use crate::ecs::tags::rules as tags_rules;
use api::service::{LaunchType, NetworkConfiguration, PropagateTags};
use api::task::{TaskOverride, TaskSpec};
use api::taskdef::{KeyValuePair, NetworkMode, Tag, TaskDefinitionSpec};
use api::{Kind, ObjectKey};
use ecsapi::EcsError;
use ecsapi::arn;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Store, StoreError};

/// Most tasks one RunTask starts (ECS's limit).
const MAX_COUNT: i64 = 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RunInput {
    pub task_definition: String,
    pub cluster: Option<String>,
    pub count: Option<i64>,
    pub overrides: Option<OverridesInput>,
    pub started_by: Option<String>,
    pub group: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub client_token: Option<String>,
    pub launch_type: Option<LaunchType>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub propagate_tags: Option<PropagateTags>,
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: Option<bool>,
    pub enable_execute_command: Option<bool>,
    pub platform_version: Option<String>,
    #[serde(default)]
    pub capacity_provider_strategy: Vec<Value>,
    #[serde(default)]
    pub placement_constraints: Vec<api::service::PlacementConstraint>,
    #[serde(default)]
    pub placement_strategy: Vec<api::service::PlacementStrategy>,
    pub reference_id: Option<String>,
    #[serde(default)]
    pub volume_configurations: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OverridesInput {
    #[serde(default)]
    container_overrides: Vec<ContainerOverrideInput>,
    cpu: Option<String>,
    memory: Option<String>,
    execution_role_arn: Option<String>,
    task_role_arn: Option<String>,
    #[serde(default)]
    inference_accelerator_overrides: Vec<Value>,
    ephemeral_storage: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContainerOverrideInput {
    name: Option<String>,
    command: Option<Vec<String>>,
    #[serde(default)]
    environment: Vec<KeyValuePair>,
    #[serde(default)]
    environment_files: Vec<Value>,
    cpu: Option<i64>,
    memory: Option<i64>,
    memory_reservation: Option<i64>,
    #[serde(default)]
    resource_requirements: Vec<Value>,
}

/// What the checks of a RunTask found.
#[derive(Debug)]
pub(crate) struct Plan {
    pub count: usize,
    pub overrides: Option<TaskOverride>,
}

fn refuse(field: &str, why: &str) -> EcsError {
    EcsError::invalid_parameter(format!(
        "RunTask: {field} is not supported by ecsctl ({why})"
    ))
}

/// Checks a RunTask before anything is read: counts, names, and what ecsctl refuses.
pub(crate) fn check(req: &RunInput) -> Result<Plan, EcsError> {
    let count = req.count.unwrap_or(1);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(EcsError::invalid_parameter(format!(
            "count {count}: must be between 1 and {MAX_COUNT}"
        )));
    }
    if let Some(by) = &req.started_by {
        let ok = !by.is_empty()
            && by.len() <= 128
            && by
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_/".contains(&b));
        if !ok {
            return Err(EcsError::invalid_parameter(format!(
                "startedBy {by:?}: up to 128 letters, numbers, hyphens, forward slashes and underscores"
            )));
        }
    }
    if let Some(g) = &req.group
        && (g.is_empty() || g.chars().count() > 255 || g.chars().any(char::is_control))
    {
        return Err(EcsError::invalid_parameter(format!(
            "group {g:?}: 1 to 255 printable characters"
        )));
    }
    if let Some(t) = &req.client_token
        && (t.is_empty() || t.chars().count() > 64)
    {
        return Err(EcsError::invalid_parameter(
            "clientToken: 1 to 64 characters",
        ));
    }
    tags_rules::check(&req.tags)?;
    if req.propagate_tags == Some(PropagateTags::Service) {
        return Err(EcsError::invalid_parameter(
            "propagateTags SERVICE is for a service's tasks; RunTask takes TASK_DEFINITION or NONE",
        ));
    }
    if req.enable_ecs_managed_tags == Some(true) {
        return Err(refuse("enableECSManagedTags", "no aws: tags are added"));
    }
    if let Some(v) = req.platform_version.as_deref().filter(|v| *v != "LATEST") {
        return Err(refuse(
            &format!("platformVersion {v:?}"),
            "only LATEST: tasks run on the local Docker engine",
        ));
    }
    let lists = [
        ("capacityProviderStrategy", &req.capacity_provider_strategy),
        ("volumeConfigurations", &req.volume_configurations),
    ];
    if let Some((field, _)) = lists.iter().find(|(_, v)| !v.is_empty()) {
        return Err(refuse(
            field,
            "tasks are placed on the cluster's container instances by placementConstraints and placementStrategy",
        ));
    }
    if req.reference_id.is_some() {
        return Err(refuse("referenceId", "leave it out"));
    }
    if let Some(n) = &req.network_configuration
        && n.awsvpc_configuration.subnets.is_empty()
    {
        return Err(EcsError::invalid_parameter(
            "networkConfiguration.awsvpcConfiguration.subnets can not be empty.",
        ));
    }
    let overrides = req.overrides.as_ref().map(overrides).transpose()?;
    Ok(Plan {
        count: count as usize,
        overrides,
    })
}

/// RunTask's `overrides` as a Task's spec holds them; what ecsctl cannot honour refused.
fn overrides(o: &OverridesInput) -> Result<TaskOverride, EcsError> {
    let unsupported = [
        ("overrides.executionRoleArn", o.execution_role_arn.is_some()),
        ("overrides.taskRoleArn", o.task_role_arn.is_some()),
        (
            "overrides.inferenceAcceleratorOverrides",
            !o.inference_accelerator_overrides.is_empty(),
        ),
        ("overrides.ephemeralStorage", o.ephemeral_storage.is_some()),
    ];
    if let Some((field, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(refuse(field, "leave it out"));
    }
    let mut containers = Vec::new();
    for (i, c) in o.container_overrides.iter().enumerate() {
        let at = format!("overrides.containerOverrides[{i}]");
        let unsupported = [
            ("environmentFiles", !c.environment_files.is_empty()),
            ("memoryReservation", c.memory_reservation.is_some()),
            ("resourceRequirements", !c.resource_requirements.is_empty()),
        ];
        if let Some((field, _)) = unsupported.iter().find(|(_, set)| *set) {
            return Err(refuse(&format!("{at}.{field}"), "leave it out"));
        }
        let Some(name) = c.name.as_ref().filter(|n| !n.is_empty()) else {
            return Err(EcsError::invalid_parameter(format!(
                "{at}.name: a container override names its container"
            )));
        };
        let mut m = serde_json::Map::new();
        m.insert("name".into(), json!(name));
        if let Some(cmd) = &c.command {
            m.insert("command".into(), json!(cmd));
        }
        if !c.environment.is_empty() {
            m.insert("environment".into(), json!(c.environment));
        }
        for (field, v) in [("cpu", c.cpu), ("memory", c.memory)] {
            if let Some(v) = v {
                if v < 0 {
                    return Err(EcsError::invalid_parameter(format!(
                        "{at}.{field} {v}: must not be negative"
                    )));
                }
                m.insert(field.into(), json!(v));
            }
        }
        containers.push(Value::Object(m));
    }
    let mut m = serde_json::Map::new();
    m.insert("containerOverrides".into(), Value::Array(containers));
    if let Some(cpu) = &o.cpu {
        m.insert("cpu".into(), json!(cpu));
    }
    if let Some(memory) = &o.memory {
        m.insert("memory".into(), json!(memory));
    }
    serde_json::from_value(Value::Object(m))
        .map_err(|e| EcsError::invalid_parameter(format!("overrides: {e}")))
}

/// The revision RunTask's `taskDefinition` names (`family` is its latest), as `family:N`
/// and its spec; ECS's ClientException when there is none.
pub(crate) fn task_definition(
    s: &dyn Store,
    given: &str,
) -> Result<Result<(String, TaskDefinitionSpec), EcsError>, StoreError> {
    let Some((family, rev)) = arn::task_definition_ref(given) else {
        return Ok(Err(EcsError::invalid_parameter(format!(
            "taskDefinition {given:?} is not FAMILY, FAMILY:REVISION or a task definition ARN"
        ))));
    };
    let name = match rev {
        Some(n) => format!("{family}:{n}"),
        None => family,
    };
    let Some(o) = s.get(&ObjectKey::new(Kind::TaskDefinition, None, &name))? else {
        return Ok(Err(EcsError::client(format!(
            "TaskDefinition not found: {given} (RegisterTaskDefinition or `ecsctl apply` it first)"
        ))));
    };
    Ok(match o.spec_as::<TaskDefinitionSpec>() {
        Ok(spec) => Ok((o.display_name(), spec)),
        Err(e) => Err(EcsError::client(format!(
            "task definition {name} cannot be read by this release: {e}"
        ))),
    })
}

/// The spec every task of the RunTask gets, checked against its task definition.
pub(crate) fn task_spec(
    req: &RunInput,
    plan: &Plan,
    revision: &str,
    td: &TaskDefinitionSpec,
) -> Result<TaskSpec, EcsError> {
    if let Some(o) = &plan.overrides {
        for c in &o.container_overrides {
            if !td.container_definitions.iter().any(|d| d.name == c.name) {
                return Err(EcsError::invalid_parameter(format!(
                    "Override for container named {} is not a container in the TaskDefinition.",
                    c.name
                )));
            }
        }
    }
    if req.network_configuration.is_some() && td.network_mode() != NetworkMode::Awsvpc {
        return Err(EcsError::invalid_parameter(format!(
            "Network Configuration is not valid for the given networkMode of this task definition ({} is {}).",
            revision,
            td.network_mode().as_str()
        )));
    }
    let tags = match req.propagate_tags {
        Some(PropagateTags::TaskDefinition) => tags_rules::merged(&td.tags, &req.tags)?,
        _ => req.tags.clone(),
    };
    Ok(TaskSpec {
        overrides: plan.overrides.clone(),
        group: req.group.clone(),
        launch_type: req.launch_type,
        network_configuration: req.network_configuration.clone(),
        tags,
        placement_constraints: req.placement_constraints.clone(),
        placement_strategy: req.placement_strategy.clone(),
        // `ecsctl exec` (ECS Exec's ExecuteCommand is not served on this API).
        enable_execute_command: req.enable_execute_command.filter(|on| *on),
        ..TaskSpec::new(revision, req.started_by.clone())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(v: Value) -> RunInput {
        serde_json::from_value(v).unwrap()
    }

    fn td(v: Value) -> TaskDefinitionSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn counts_and_refusals() {
        assert_eq!(
            check(&req(json!({"taskDefinition": "web"}))).unwrap().count,
            1
        );
        assert!(check(&req(json!({"taskDefinition": "web", "count": 11}))).is_err());
        assert!(check(&req(json!({"taskDefinition": "web", "count": 0}))).is_err());
        for refused in [
            json!({"capacityProviderStrategy": [{"capacityProvider": "x"}]}),
            json!({"enableECSManagedTags": true}),
            json!({"platformVersion": "1.4.0"}),
            json!({"propagateTags": "SERVICE"}),
            json!({"startedBy": "a b"}),
            json!({"clientToken": "x".repeat(65)}),
            json!({"tags": [{"key": "aws:x", "value": ""}]}),
            json!({"overrides": {"taskRoleArn": "arn:aws:iam::1:role/r"}}),
            json!({"overrides": {"containerOverrides": [{"name": "a", "memoryReservation": 5}]}}),
            json!({"overrides": {"containerOverrides": [{"command": ["x"]}]}}),
            json!({"networkConfiguration": {"awsvpcConfiguration": {"subnets": []}}}),
        ] {
            let mut body = refused.clone();
            body["taskDefinition"] = json!("web");
            let e = check(&req(body)).unwrap_err();
            assert_eq!(e.code, "InvalidParameterException", "{refused}");
        }
        let ok = check(&req(
            json!({"taskDefinition": "web", "platformVersion": "LATEST",
            "enableExecuteCommand": false, "launchType": "FARGATE"}),
        ));
        assert!(ok.is_ok());
    }

    #[test]
    fn specs_from_requests_and_their_task_definition() {
        let body = json!({"taskDefinition": "web", "startedBy": "ci", "group": "batch",
            "launchType": "FARGATE", "propagateTags": "TASK_DEFINITION",
            "tags": [{"key": "run", "value": "1"}, {"key": "team", "value": "mine"}],
            "overrides": {"cpu": "512", "containerOverrides": [
                {"name": "app", "command": ["echo", "hi"], "environment": [{"name": "A", "value": "1"}], "memory": 64}]}});
        let r = req(body);
        let plan = check(&r).unwrap();
        let d = td(
            json!({"containerDefinitions": [{"name": "app", "image": "busybox", "memory": 128}],
            "tags": [{"key": "team", "value": "shop"}, {"key": "app", "value": "web"}]}),
        );
        let spec = task_spec(&r, &plan, "web:2", &d).unwrap();
        assert_eq!(
            serde_json::to_value(&spec).unwrap(),
            json!({"taskDefinition": "web:2", "startedBy": "ci", "group": "batch", "launchType": "FARGATE",
                "overrides": {"cpu": 512, "containerOverrides": [
                    {"name": "app", "command": ["echo", "hi"], "environment": [{"name": "A", "value": "1"}], "memory": 64}]},
                "tags": [{"key": "team", "value": "mine"}, {"key": "app", "value": "web"}, {"key": "run", "value": "1"}]})
        );
        let other = req(json!({"taskDefinition": "web",
            "overrides": {"containerOverrides": [{"name": "nope", "command": ["x"]}]}}));
        assert!(task_spec(&other, &check(&other).unwrap(), "web:2", &d).is_err());
        let vpc = req(json!({"taskDefinition": "web",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}));
        assert!(task_spec(&vpc, &check(&vpc).unwrap(), "web:2", &d).is_err());
        let d_vpc = td(json!({"networkMode": "awsvpc",
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 128}]}));
        assert!(task_spec(&vpc, &check(&vpc).unwrap(), "web:2", &d_vpc).is_ok());
    }
}
