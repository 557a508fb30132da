//! Unrendered template placeholders anywhere in a spec (`${VAR}`, `$VAR`, `{{ ... }}`,
//! `<ACCOUNT_ID>`), not only in images.
//!
//! What a placeholder is depends on the field, so the rule is by field:
//! - ARNs (every field named `...Arn`/`...Arns`: taskRoleArn, executionRoleArn,
//!   targetGroupArn, registryArn, certificateArn...), ids and references (`subnets`,
//!   `securityGroups`, `valueFrom`, `credentialsParameter`, `fileSystemId`, `accessPointId`,
//!   `capacityProvider`): an error, as for images and names. None of them can hold `$`, braces
//!   or angle brackets in a real document.
//! - Environment values and log driver options: a warning. They are free text, and `${X}` or
//!   `{{ }}` may be meant literally (an application that expands its own variables); a bare
//!   `$HOME` is not reported there at all, nor are Docker's own log tag templates
//!   (`{{.Name}}`).
//! - Everything else (commands, labels): nothing; a shell in the container expands `$X`.

use super::Report;
use crate::humanize::looks_like_template;
use crate::names::has_placeholder;
use serde_json::Value;

/// Fields holding an id or a reference rather than free text.
const REFERENCE_FIELDS: &[&str] = &[
    "subnets",
    "securityGroups",
    "valueFrom",
    "credentialsParameter",
    "fileSystemId",
    "accessPointId",
    "capacityProvider",
];

/// Reports the placeholders of `spec` (paths under `spec`).
pub(super) fn check(spec: &Value, r: &mut Report) {
    walk(spec, "spec", None, None, r);
}

/// `key` is the map key `v` sits under (for an array element: the array's key); `outer` the
/// key of the map that holds that one (`environment` for `environment[i].value`).
fn walk(v: &Value, path: &str, key: Option<&str>, outer: Option<&str>, r: &mut Report) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                walk(x, &format!("{path}.{k}"), Some(k), key, r);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(x, &format!("{path}[{i}]"), key, outer, r);
            }
        }
        Value::String(s) => check_string(s, path, key, outer, r),
        _ => {}
    }
}

fn check_string(s: &str, path: &str, key: Option<&str>, outer: Option<&str>, r: &mut Report) {
    let Some(key) = key else { return };
    let is_reference =
        key.ends_with("Arn") || key.ends_with("Arns") || REFERENCE_FIELDS.contains(&key);
    if is_reference {
        if has_placeholder(s) {
            r.error(
                path,
                format!("{s:?} holds an unrendered template placeholder"),
            );
        }
        return;
    }
    let free_text = (key == "value" && outer == Some("environment")) || outer == Some("options");
    if free_text && looks_like_template(s) && !is_docker_template(s) {
        r.warn(
            path,
            format!("{s:?} looks like an unrendered template placeholder; it is used as written"),
        );
    }
}

/// Docker's log tag templates (`{{.Name}}`, `{{ .ImageName }}`) are meant as they are.
fn is_docker_template(s: &str) -> bool {
    s.contains("{{")
        && !s.contains("${")
        && s.split("{{")
            .skip(1)
            .all(|rest| rest.trim_start().starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(spec: Value) -> (Vec<String>, Vec<String>) {
        let mut r = Report::default();
        check(&spec, &mut r);
        let s = |v: &[crate::diag::FieldError]| {
            let mut out: Vec<String> = v.iter().map(ToString::to_string).collect();
            out.sort();
            out
        };
        (s(&r.errors), s(&r.warnings))
    }

    #[test]
    fn arns_and_ids_are_errors_free_text_is_a_warning() {
        let (errors, warnings) = report(json!({
            "taskRoleArn": "arn:aws:iam::${ACCOUNT_ID}:role/app",
            "executionRoleArn": "arn:aws:iam::<ACCOUNT_ID>:role/ecsTaskExecutionRole",
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1", "$SUBNET"], "securityGroups": ["{{ must_env `SG` }}"]}},
            "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:{{ .Region }}:1:targetgroup/x/1"}],
            "containerDefinitions": [{
                "name": "app",
                "command": ["sh", "-c", "echo $HOME ${PATH}"],
                "environment": [{"name": "A", "value": "${DB_HOST}"}, {"name": "B", "value": "$HOME"}],
                "secrets": [{"name": "P", "valueFrom": "arn:aws:ssm:eu-west-1:1:parameter/${ENV}/db"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": "/ecs/{{ must_env `ENV` }}", "tag": "{{.Name}}"}}
            }]
        }));
        assert_eq!(
            errors,
            vec![
                "spec.containerDefinitions[0].secrets[0].valueFrom: \"arn:aws:ssm:eu-west-1:1:parameter/${ENV}/db\" holds an unrendered template placeholder",
                "spec.executionRoleArn: \"arn:aws:iam::<ACCOUNT_ID>:role/ecsTaskExecutionRole\" holds an unrendered template placeholder",
                "spec.loadBalancers[0].targetGroupArn: \"arn:aws:elasticloadbalancing:{{ .Region }}:1:targetgroup/x/1\" holds an unrendered template placeholder",
                "spec.networkConfiguration.awsvpcConfiguration.securityGroups[0]: \"{{ must_env `SG` }}\" holds an unrendered template placeholder",
                "spec.networkConfiguration.awsvpcConfiguration.subnets[1]: \"$SUBNET\" holds an unrendered template placeholder",
                "spec.taskRoleArn: \"arn:aws:iam::${ACCOUNT_ID}:role/app\" holds an unrendered template placeholder",
            ]
        );
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(warnings[0].starts_with("spec.containerDefinitions[0].environment[0].value:"));
        assert!(
            warnings[1].starts_with(
                "spec.containerDefinitions[0].logConfiguration.options.awslogs-group:"
            )
        );
    }
}
