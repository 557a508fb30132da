//! The Secret kind: a value that containers receive in their environment through
//! `containerDefinitions[].secrets[]`, and the rules that keep it out of sight.
//!
//! A Secret's value comes from exactly one place: the manifest (`value`), a file on the
//! server's machine (`fromFile`) or an environment variable of the server (`fromEnv`). Files
//! and variables are read when a task starts, as ECS reads Secrets Manager then. A manifest
//! value is kept by the store apart from the object (see the store crate): the stored spec
//! carries no value, and its status says how many bytes are held.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The largest secret value accepted, in bytes (Secrets Manager's limit is 64 KiB too).
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// Spec of a Secret: exactly one of `value`, `fromFile`, `fromEnv`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct SecretSpec {
    /// The value itself. The server stores it apart from the object and never shows it:
    /// `get`, `describe` and `diff` show that a value is held and its size, not the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    pub value: Option<String>,
    /// An absolute path on the server's machine, read each time a task starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2))]
    pub from_file: Option<String>,
    /// An environment variable of the server process, read each time a task starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub from_env: Option<String>,
}

impl std::fmt::Debug for SecretSpec {
    // Never print the value, not even in a debug log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretSpec")
            .field("value", &self.value.as_ref().map(|v| Hidden(v.len())))
            .field("from_file", &self.from_file)
            .field("from_env", &self.from_env)
            .finish()
    }
}

/// Stands in for a value in debug output: its size only.
struct Hidden(usize);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<hidden, {} bytes>", self.0)
    }
}

/// Status of a Secret, written by the store when a manifest value is applied.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStatus {
    /// Size of the value the store holds for this Secret, when it came from the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_bytes: Option<usize>,
    /// When that value last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_updated_at: Option<String>,
}

/// Where a Secret's value comes from, in words for tables: `value (12 bytes)`,
/// `file /run/keys/db`, `env DB_PASSWORD`.
pub fn describe_source(spec: &serde_json::Value, status: &serde_json::Value) -> String {
    if let Some(p) = spec.get("fromFile").and_then(|v| v.as_str()) {
        return format!("file {p}");
    }
    if let Some(v) = spec.get("fromEnv").and_then(|v| v.as_str()) {
        return format!("env {v}");
    }
    match status.get("valueBytes").and_then(|v| v.as_u64()) {
        Some(n) => format!("value ({n} bytes)"),
        None => "value".to_string(),
    }
}

/// The Secret a `valueFrom` refers to: the name itself, the last segment of an SSM parameter
/// path (`/prod/db/PASSWORD`), or the last segment of an ARN
/// (`arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password`,
/// `arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db-password`), kept as it is written
/// (`DB_PASSWORD` names the Secret `DB_PASSWORD`), an ECS name as every other name.
pub fn secret_name(value_from: &str) -> Result<String, String> {
    named_secret("valueFrom", value_from)
}

/// As [`secret_name`], for a reference held by `field` (`valueFrom`, `certificateArn`), which
/// errors name.
pub fn named_secret(field: &str, reference: &str) -> Result<String, String> {
    let last = if reference.starts_with("arn:") {
        let after_colon = reference.rsplit(':').next().unwrap_or(reference);
        after_colon.rsplit('/').next().unwrap_or(after_colon)
    } else {
        reference
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(reference)
    };
    crate::import::ecs_name(last, "secret")
        .map_err(|e| format!("{field} {reference:?} names no usable Secret: {e}"))
}

/// The ECS rules of a Secret spec that the types alone cannot say.
pub(crate) fn check(spec: &SecretSpec, r: &mut crate::validate::Report) {
    let set = [
        spec.value.is_some(),
        spec.from_file.is_some(),
        spec.from_env.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set != 1 {
        r.error(
            "spec",
            format!(
                "a Secret takes exactly one of value, fromFile, fromEnv; {set} are set{}",
                if set == 0 {
                    " (the output of `ecsctl get secret -o yaml` holds no value: re-apply the manifest that has it)"
                } else {
                    ""
                }
            ),
        );
    }
    if let Some(v) = &spec.value
        && v.len() > MAX_SECRET_BYTES
    {
        r.error(
            "spec.value",
            format!(
                "{} bytes is above the {MAX_SECRET_BYTES}-byte limit of a secret",
                v.len()
            ),
        );
    }
    if let Some(p) = &spec.from_file
        && (!p.starts_with('/') || p.split('/').any(|s| s == ".."))
    {
        r.error(
            "spec.fromFile",
            format!("{p:?} must be an absolute path without '..'"),
        );
    }
    if let Some(v) = &spec.from_env {
        let mut chars = v.chars();
        let ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            r.error(
                "spec.fromEnv",
                format!(
                    "{v:?} is not an environment variable name (letters, digits and '_', not starting with a digit)"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_from_names() {
        for (from, name) in [
            ("db-password", "db-password"),
            ("DB_PASSWORD", "DB_PASSWORD"),
            ("/prod/db/password", "password"),
            (
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password",
                "db-password",
            ),
            (
                "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/api_key",
                "api_key",
            ),
        ] {
            assert_eq!(secret_name(from).as_deref(), Ok(name), "{from}");
        }
        let e = secret_name("{{ssm-config}}").unwrap_err();
        assert!(e.contains("template"), "{e}");
        assert!(secret_name("a.b").is_err());
    }

    #[test]
    fn debug_hides_the_value() {
        let s = SecretSpec {
            value: Some("hunter2".into()),
            ..Default::default()
        };
        let d = format!("{s:?}");
        assert!(!d.contains("hunter2") && d.contains("7 bytes"), "{d}");
    }

    #[test]
    fn exactly_one_source() {
        let mut r = crate::validate::Report::default();
        check(&SecretSpec::default(), &mut r);
        assert!(r.errors[0].to_string().contains("exactly one"), "{r:?}");
        let mut r = crate::validate::Report::default();
        check(
            &SecretSpec {
                from_file: Some("relative".into()),
                from_env: Some("1X".into()),
                ..Default::default()
            },
            &mut r,
        );
        assert_eq!(r.errors.len(), 3, "{r:?}");
    }
}
