//! The Role kind: what a task definition's `taskRoleArn` names, and where the AWS credentials
//! its containers receive come from.
//!
//! A Role takes its credentials from exactly one place: an access key whose secret (and
//! optional session token) are Secrets of the Role's cluster, or a profile of the AWS
//! shared-credentials file the server's operator names (`ecsctl server --role-profiles FILE`).
//! The containers of a task with a role fetch them from the agent's task endpoint, as ECS's
//! containers do (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of a Role: `{accessKeyId, secretAccessKey: {secret}, sessionToken?: {secret}}` or
/// `{profile}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleSpec {
    /// The access key id (`AKIA...` for a long-term key, `ASIA...` for a temporary one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Z0-9]{16,128}$"))]
    pub access_key_id: Option<String>,
    /// The Secret holding the secret access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<SecretKeyRef>,
    /// The Secret holding a session token (temporary credentials only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<SecretKeyRef>,
    /// A profile of the AWS shared-credentials file of the server's machine
    /// (`ecsctl server --role-profiles FILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub profile: Option<String>,
}

/// A value held by a Secret of the Role's cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret's name (or an ARN whose last segment is its name).
    pub secret: String,
}

impl RoleSpec {
    /// The Secrets this Role reads, by name (what an agent may ask the server for).
    pub fn secrets(&self) -> Vec<String> {
        [&self.secret_access_key, &self.session_token]
            .into_iter()
            .flatten()
            .filter_map(|r| crate::secret::named_secret("secret", &r.secret).ok())
            .collect()
    }

    /// Where the credentials come from, in words for tables: `key AKIA...`, `profile ci`.
    pub fn source(&self) -> String {
        match (&self.profile, &self.access_key_id) {
            (Some(p), _) => format!("profile {p}"),
            (None, Some(k)) => format!("key {k}"),
            (None, None) => String::new(),
        }
    }
}

/// The credentials a Role gives its tasks now (what the server hands an agent, `GET
/// /v1/roles/{name}/credentials`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

impl std::fmt::Debug for RoleCredentials {
    // Never print a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The Role a `taskRoleArn` names: the last segment of an IAM role ARN
/// (`arn:aws:iam::123456789012:role/path/app` -> `app`), or the name itself.
pub fn role_name(task_role_arn: &str) -> Result<String, String> {
    let last = if task_role_arn.starts_with("arn:") {
        let resource = task_role_arn.splitn(6, ':').nth(5).unwrap_or("");
        resource.rsplit('/').next().unwrap_or(resource)
    } else {
        task_role_arn
    };
    crate::import::ecs_name(last, "role")
        .map_err(|e| format!("taskRoleArn {task_role_arn:?} names no usable Role: {e}"))
}

/// Whether `id` has the shape of an AWS access key id: 16 to 128 upper-case letters and digits.
fn is_access_key_id(id: &str) -> bool {
    (16..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The rules of a Role spec that the types alone cannot say.
pub(crate) fn check(spec: &RoleSpec, r: &mut crate::validate::Report) {
    let key = spec.access_key_id.is_some() || spec.secret_access_key.is_some();
    match (key, &spec.profile) {
        (true, Some(_)) => r.error(
            "spec",
            "a Role takes its credentials from exactly one source: an access key (accessKeyId, secretAccessKey, sessionToken) or a profile, not both",
        ),
        (false, None) => r.error(
            "spec",
            "a Role needs a source of credentials: accessKeyId with secretAccessKey: {secret: NAME}, or profile: NAME",
        ),
        (false, Some(_)) if spec.session_token.is_some() => r.error(
            "spec.sessionToken",
            "a session token goes with an access key (accessKeyId, secretAccessKey), not with a profile",
        ),
        _ => {}
    }
    if key {
        match &spec.access_key_id {
            None => r.error(
                "spec.accessKeyId",
                "missing: a Role with secretAccessKey needs its accessKeyId (AKIA...)",
            ),
            Some(id) if !is_access_key_id(id) => r.error(
                "spec.accessKeyId",
                format!(
                    "{id:?} is not an AWS access key id (16 to 128 upper-case letters and digits, such as AKIAIOSFODNN7EXAMPLE)"
                ),
            ),
            Some(_) => {}
        }
        if spec.secret_access_key.is_none() {
            r.error(
                "spec.secretAccessKey",
                "missing: name the Secret that holds the secret access key ({secret: NAME})",
            );
        }
    }
    for (field, sref) in [
        ("spec.secretAccessKey.secret", &spec.secret_access_key),
        ("spec.sessionToken.secret", &spec.session_token),
    ] {
        if let Some(s) = sref
            && let Err(e) = crate::secret::named_secret("secret", &s.secret)
        {
            r.error(field, e);
        }
    }
    if let Some(p) = &spec.profile
        && (p.is_empty() || p.chars().any(|c| c.is_whitespace() || c == '[' || c == ']'))
    {
        r.error(
            "spec.profile",
            format!("{p:?} is not a profile name (no spaces or brackets)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_from_arns_and_names() {
        for (arn, name) in [
            ("app", "app"),
            ("arn:aws:iam::123456789012:role/app", "app"),
            (
                "arn:aws:iam::123456789012:role/service/App_Role",
                "App_Role",
            ),
        ] {
            assert_eq!(role_name(arn).as_deref(), Ok(name), "{arn}");
        }
        assert!(role_name("arn:aws:iam::1:role/a.b").is_err());
    }

    fn errors(spec: serde_json::Value) -> Vec<String> {
        let spec: RoleSpec = serde_json::from_value(spec).unwrap();
        let mut r = crate::validate::Report::default();
        check(&spec, &mut r);
        r.errors
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect()
    }

    #[test]
    fn exactly_one_source_with_the_right_shapes() {
        use serde_json::json;
        assert!(
            errors(json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": {"secret": "k"}, "sessionToken": {"secret": "t"}}))
                .is_empty()
        );
        assert!(errors(json!({"profile": "ci"})).is_empty());
        let e = errors(json!({}));
        assert!(e[0].contains("needs a source"), "{e:?}");
        let e = errors(json!({"profile": "ci", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"}));
        assert!(e.iter().any(|e| e.contains("exactly one source")), "{e:?}");
        let e = errors(json!({"accessKeyId": "akia-lower", "secretAccessKey": {"secret": "k"}}));
        assert!(e.iter().any(|e| e.starts_with("spec.accessKeyId")), "{e:?}");
        let e = errors(json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE"}));
        assert!(
            e.iter().any(|e| e.starts_with("spec.secretAccessKey")),
            "{e:?}"
        );
        let e = errors(
            json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": {"secret": "a.b"}}),
        );
        assert!(
            e.iter()
                .any(|e| e.starts_with("spec.secretAccessKey.secret")),
            "{e:?}"
        );
    }
}
