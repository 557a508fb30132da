//! How big what a user writes may be, checked on the server (the CLI's checks can be
//! skipped by any HTTP client). Pure.

use api::task::TaskSpec;
use api::taskdef::TaskDefinitionSpec;
use api::{Kind, Object};

/// A task definition's spec at most 64 KiB as JSON: ECS's quota on a task definition's size.
pub const MAX_TASK_DEFINITION_BYTES: usize = 64 * 1024;
/// Any other object's spec at most 256 KiB as JSON: four task definitions' worth; nothing
/// ecsctl stores needs more (a Secret value is at most 64 KiB in Secrets Manager).
pub const MAX_OBJECT_BYTES: usize = 256 * 1024;
/// Environment variables per container. ECS bounds them only through the task definition's
/// 64 KiB; a count is a clearer refusal than a size.
pub const MAX_ENV_ENTRIES: usize = 1000;
/// Bytes of one environment variable's name and value. Linux refuses to exec with one
/// `NAME=value` string above 128 KiB (`MAX_ARG_STRLEN`); half a task definition is plenty.
pub const MAX_ENV_VAR_BYTES: usize = 32 * 1024;
/// A task's `overrides` at most 8 KiB as JSON: ECS RunTask's limit on container overrides
/// (8,192 characters).
pub const MAX_OVERRIDES_BYTES: usize = 8 * 1024;

/// Every size bound `obj` exceeds, as `(field, message)`.
pub fn check(obj: &Object) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let bytes = serde_json::to_vec(&obj.spec).map_or(0, |v| v.len());
    let max = if obj.kind == Kind::TaskDefinition {
        MAX_TASK_DEFINITION_BYTES
    } else {
        MAX_OBJECT_BYTES
    };
    if bytes > max {
        out.push((
            "spec".to_string(),
            format!(
                "{bytes} bytes as JSON, more than the {} KiB a {} may have{}",
                max / 1024,
                obj.kind,
                if obj.kind == Kind::TaskDefinition {
                    " (ECS's limit)"
                } else {
                    ""
                }
            ),
        ));
    }
    match obj.kind {
        Kind::TaskDefinition => {
            if let Ok(td) = obj.spec_as::<TaskDefinitionSpec>() {
                environment(&td, &mut out);
            }
        }
        Kind::Task => {
            let overrides = obj.spec_as::<TaskSpec>().ok().and_then(|t| t.overrides);
            let bytes = overrides
                .as_ref()
                .and_then(|o| serde_json::to_vec(o).ok())
                .map_or(0, |v| v.len());
            if bytes > MAX_OVERRIDES_BYTES {
                out.push((
                    "spec.overrides".to_string(),
                    format!(
                        "{bytes} bytes as JSON, more than ECS's {MAX_OVERRIDES_BYTES} for a task's overrides"
                    ),
                ));
            }
        }
        _ => {}
    }
    out
}

fn environment(td: &TaskDefinitionSpec, out: &mut Vec<(String, String)>) {
    for (i, c) in td.container_definitions.iter().enumerate() {
        let p = format!("spec.containerDefinitions[{i}].environment");
        if c.environment.len() > MAX_ENV_ENTRIES {
            out.push((
                p.clone(),
                format!(
                    "{} variables, more than {MAX_ENV_ENTRIES} per container",
                    c.environment.len()
                ),
            ));
        }
        for (j, e) in c.environment.iter().enumerate() {
            let bytes = e.name.len() + e.value.len();
            if bytes > MAX_ENV_VAR_BYTES {
                out.push((
                    format!("{p}[{j}]"),
                    format!(
                        "{:?} is {bytes} bytes (name and value), more than {MAX_ENV_VAR_BYTES} per variable: mount large values as a file instead",
                        truncated(&e.name)
                    ),
                ));
            }
        }
    }
}

/// The first 64 characters of a user's string, for a message.
fn truncated(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn taskdef(env: serde_json::Value) -> Object {
        Object::new(
            Kind::TaskDefinition,
            "web",
            json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 8, "environment": env}]}),
        )
    }

    #[test]
    fn a_large_environment_is_refused() {
        let big = "v".repeat(MAX_TASK_DEFINITION_BYTES);
        let found = check(&taskdef(json!([{"name": "A", "value": big}])));
        let fields: Vec<_> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            ["spec", "spec.containerDefinitions[0].environment[0]"]
        );
        assert!(found[0].1.contains("64 KiB"), "{}", found[0].1);
        let fits = "v".repeat(MAX_ENV_VAR_BYTES - 1);
        assert_eq!(
            check(&taskdef(json!([{"name": "A", "value": fits}]))),
            vec![]
        );
        let many: Vec<_> = (0..=MAX_ENV_ENTRIES)
            .map(|i| json!({"name": format!("V{i}")}))
            .collect();
        let found = check(&taskdef(json!(many)));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "spec.containerDefinitions[0].environment");
    }

    #[test]
    fn task_overrides_and_other_objects_are_bounded() {
        let env: Vec<_> = (0..200)
            .map(|i| json!({"name": format!("VARIABLE_{i}"), "value": "0123456789012345678901234567890123456789"}))
            .collect();
        let task = Object::new(
            Kind::Task,
            "t",
            json!({"taskDefinition": "web", "overrides": {"containerOverrides": [{"name": "a", "environment": env}]}}),
        );
        assert_eq!(check(&task)[0].0, "spec.overrides");
        let svc = Object::new(
            Kind::Service,
            "s",
            json!({"taskDefinition": "web", "tags": "x".repeat(MAX_OBJECT_BYTES)}),
        );
        assert_eq!(check(&svc)[0].0, "spec");
    }
}
