//! Where a task role's credentials come from: the Role of the task's cluster that its
//! `taskRoleArn` names, whose access key's secret (and session token) are Secrets of that
//! cluster, or whose profile is one of the shared-credentials file the server's operator
//! names (`--role-profiles`). An agent asks the server ([`RoleSource`] over its API), which
//! answers only for roles of tasks placed on the agent's instance.

use super::secrets::{SecretError, SecretReader};
use api::role::{RoleCredentials, RoleSpec};
use api::{Kind, ObjectKey};
use std::fmt;
use std::sync::Arc;
use store::Store;

/// Why a role's credentials cannot be had now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// Missing, refused or unreadable where they live: the answer stays until something
    /// changes.
    #[error("{0}")]
    Refused(String),
    /// The store (or the server) could not be reached: asking later may succeed.
    #[error("{0}")]
    Unreachable(String),
}

/// Gives the credentials of a role. Blocking: call it off the async workers.
pub trait RoleSource: Send + Sync + fmt::Debug {
    /// The credentials of the Role `role` of `cluster`, read now.
    fn credentials(&self, cluster: &str, role: &str) -> Result<RoleCredentials, RoleError>;
}

/// Reads roles from a store and their values as the server's operator allows (the server's
/// own agent, and the server answering agents).
#[derive(Clone)]
pub struct LocalRoles {
    pub store: Arc<dyn Store>,
    pub secrets: SecretReader,
}

impl fmt::Debug for LocalRoles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRoles")
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

impl RoleSource for LocalRoles {
    fn credentials(&self, cluster: &str, role: &str) -> Result<RoleCredentials, RoleError> {
        credentials(self.store.as_ref(), &self.secrets, cluster, role)
    }
}

/// The Role `role` of `cluster`, or why it cannot be used.
pub fn find(store: &dyn Store, cluster: &str, role: &str) -> Result<RoleSpec, RoleError> {
    let obj = store
        .get(&ObjectKey::new(Kind::Role, Some(cluster), role))
        .map_err(|e| match e {
            store::StoreError::Backend(m) => RoleError::Unreachable(m),
            e => RoleError::Refused(e.to_string()),
        })?
        .ok_or_else(|| {
            RoleError::Refused(format!(
                "Role {role} does not exist in cluster {cluster} (a task takes a Role of its own cluster: `ecsctl apply` a Role named {role} with metadata.cluster {cluster})"
            ))
        })?;
    obj.spec_as()
        .map_err(|e| RoleError::Refused(format!("Role {role}: {e}")))
}

/// The credentials of the Role `role` of `cluster`, read now.
pub fn credentials(
    store: &dyn Store,
    secrets: &SecretReader,
    cluster: &str,
    role: &str,
) -> Result<RoleCredentials, RoleError> {
    let spec = find(store, cluster, role)?;
    if let Some(profile) = &spec.profile {
        let Some(file) = &secrets.sources.role_profiles else {
            return Err(RoleError::Refused(format!(
                "Role {role}: profile {profile} is refused: this server hands out no shared-credentials profiles (start it with --role-profiles FILE)"
            )));
        };
        let text = std::fs::read_to_string(file).map_err(|e| {
            RoleError::Refused(format!("Role {role}: cannot read {}: {e}", file.display()))
        })?;
        let keys = ecsapi::credentials::find_profile(&text, profile)
            .map_err(|e| RoleError::Refused(format!("Role {role}: {}: {e}", file.display())))?;
        return Ok(RoleCredentials {
            access_key_id: keys.access_key_id,
            secret_access_key: keys.secret_access_key,
            session_token: keys.session_token,
        });
    }
    let value = |field: &str, r: &api::role::SecretKeyRef| {
        let name = api::secret::named_secret("secret", &r.secret)
            .map_err(|e| RoleError::Refused(format!("Role {role}: {field}: {e}")))?;
        super::secrets::value(store, secrets, cluster, &name).map_err(|e| match e {
            SecretError::Unreadable { .. } => RoleError::Unreachable(e.to_string()),
            SecretError::Refused(m) => RoleError::Refused(format!("Role {role}: {field}: {m}")),
        })
    };
    let (Some(key), Some(secret)) = (&spec.access_key_id, &spec.secret_access_key) else {
        return Err(RoleError::Refused(format!(
            "Role {role} names no source of credentials"
        )));
    };
    Ok(RoleCredentials {
        access_key_id: key.clone(),
        secret_access_key: value("secretAccessKey", secret)?,
        session_token: spec
            .session_token
            .as_ref()
            .map(|t| value("sessionToken", t))
            .transpose()?,
    })
}

/// Whether the task definition's `taskRoleArn` (if any) names a Role this task may have:
/// `Ok(None)` without a role, `Ok(Some(name))` when the Role exists in `cluster`.
pub fn task_role(
    store: &dyn Store,
    cluster: &str,
    task_role_arn: Option<&str>,
) -> Result<Option<String>, RoleError> {
    let Some(arn) = task_role_arn else {
        return Ok(None);
    };
    let name = api::role::role_name(arn).map_err(RoleError::Refused)?;
    find(store, cluster, &name)?;
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use admission::SecretSources;
    use api::Object;
    use serde_json::json;
    use store::SledStore;

    #[test]
    fn credentials_from_secrets_or_a_profile() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path().join("store")).unwrap();
        let put = |kind, name: &str, spec, cluster: &str| {
            let mut o = Object::new(kind, name, spec);
            o.metadata.cluster = Some(cluster.into());
            store.apply(o).unwrap();
        };
        put(
            Kind::Secret,
            "app-key",
            json!({"value": "the-secret"}),
            "shop",
        );
        put(
            Kind::Secret,
            "app-token",
            json!({"value": "the-token"}),
            "shop",
        );
        put(
            Kind::Role,
            "app",
            json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": {"secret": "app-key"}, "sessionToken": {"secret": "app-token"}}),
            "shop",
        );
        put(Kind::Role, "ci", json!({"profile": "ci"}), "shop");
        put(
            Kind::Role,
            "broken",
            json!({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": {"secret": "missing"}}),
            "shop",
        );
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "[ci]\naws_access_key_id = AKIACI0000000001\naws_secret_access_key = ci-secret\n",
        )
        .unwrap();
        let reader = SecretReader::new(SecretSources::default());
        let c = credentials(&store, &reader, "shop", "app").unwrap();
        assert_eq!(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(c.secret_access_key, "the-secret");
        assert_eq!(c.session_token.as_deref(), Some("the-token"));

        // Profiles only with the operator's file.
        let e = credentials(&store, &reader, "shop", "ci").unwrap_err();
        assert!(e.to_string().contains("--role-profiles"), "{e}");
        let with_file =
            SecretReader::new(SecretSources::default().with_role_profiles(Some(file.clone())));
        let c = credentials(&store, &with_file, "shop", "ci").unwrap();
        assert_eq!(c.secret_access_key, "ci-secret");
        assert_eq!(c.session_token, None);

        let e = credentials(&store, &reader, "shop", "broken").unwrap_err();
        assert!(
            e.to_string().contains("Secret missing does not exist"),
            "{e}"
        );
        // Another cluster's Role is not this cluster's.
        let e = credentials(&store, &reader, "default", "app").unwrap_err();
        assert!(
            e.to_string().contains("does not exist in cluster default"),
            "{e}"
        );
        assert_eq!(
            task_role(&store, "shop", Some("arn:aws:iam::1:role/app")),
            Ok(Some("app".into()))
        );
        assert_eq!(task_role(&store, "shop", None), Ok(None));
        assert!(task_role(&store, "default", Some("app")).is_err());
    }
}
