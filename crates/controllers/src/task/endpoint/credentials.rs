//! The credentials endpoint's answer, in ECS's shape: what AWS SDKs' container credential
//! providers read (`AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`, `RoleArn`). Pure.

use api::role::RoleCredentials;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How far ahead the answered `Expiration` lies. ECS's agent hands out role credentials
/// that expire within hours and refreshes them before; SDKs ask again shortly before the
/// expiration, so a changed Role (a rotated Secret) reaches running tasks by then.
pub const LIFETIME: time::Duration = time::Duration::hours(1);

/// The answer of `GET /v2/credentials/<id>` for a task whose role is `role_arn`.
pub fn answer(creds: &RoleCredentials, role_arn: &str, now: OffsetDateTime) -> Value {
    let expiration = (now + LIFETIME)
        .replace_nanosecond(0)
        .unwrap_or(now + LIFETIME)
        .format(&Rfc3339)
        .unwrap_or_default();
    let mut out = json!({
        "RoleArn": role_arn,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Expiration": expiration,
    });
    if let Some(t) = &creds.session_token {
        out["Token"] = json!(t);
    }
    out
}

/// The ARN a `taskRoleArn` means: itself when it is one, else an IAM role ARN of `account`
/// for the name.
pub fn role_arn(task_role_arn: &str, account: &str) -> String {
    if task_role_arn.starts_with("arn:") {
        task_role_arn.to_string()
    } else {
        format!("arn:aws:iam::{account}:role/{task_role_arn}")
    }
}

/// An error answer, as ECS's agent gives them (`{"code", "message"}`).
pub fn error(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_ecss_shape() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let creds = RoleCredentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI".into(),
            session_token: Some("tok".into()),
        };
        let a = answer(&creds, "arn:aws:iam::1:role/app", now);
        assert_eq!(a["AccessKeyId"], "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(a["SecretAccessKey"], "wJalrXUtnFEMI");
        assert_eq!(a["Token"], "tok");
        assert_eq!(a["RoleArn"], "arn:aws:iam::1:role/app");
        assert_eq!(a["Expiration"], "2027-01-15T09:00:00Z");
        let no_token = RoleCredentials {
            session_token: None,
            ..creds
        };
        assert!(answer(&no_token, "r", now).get("Token").is_none());
        assert_eq!(
            role_arn("app", "000000000000"),
            "arn:aws:iam::000000000000:role/app"
        );
        assert_eq!(
            role_arn("arn:aws:iam::1:role/x", "0"),
            "arn:aws:iam::1:role/x"
        );
    }
}
