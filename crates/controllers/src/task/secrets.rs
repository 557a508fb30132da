//! Resolving a container's `secrets` to environment variables when its task starts: each
//! `valueFrom` names a Secret, whose value is held by the store, read from a file on this
//! machine or taken from the server's environment, only where the server's operator allows
//! ([`admission::SecretSources`], checked again here: a Secret stored by an older server, or
//! a symlink placed since, must not lead elsewhere).
//!
//! Errors name the secret and where its value should have come from, never a value.

use admission::SecretSources;
use api::taskdef::SecretRef;
use api::{Kind, ObjectKey};
use std::fmt;
use std::io::Read;
use std::sync::Arc;
use store::Store;

/// Reads an environment variable of the server (the process environment outside tests).
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where Secret values may be read from: the allowed files and variables, and the
/// environment the variables are read from.
#[derive(Clone)]
pub struct SecretReader {
    /// What the server's operator allows.
    pub sources: SecretSources,
    /// The server's environment (the process's own outside tests).
    pub env: Arc<EnvLookup>,
    /// An agent's reader: the server resolves every value (its files, its environment, as
    /// its operator allows) and the agent asks the store for it (`GET
    /// /v1/secrets/{name}/value`), never reading a file or variable of its own host.
    pub by_server: bool,
}

impl SecretReader {
    /// Reads what `sources` allows from the process's environment and files.
    pub fn new(sources: SecretSources) -> Self {
        SecretReader {
            sources,
            env: Arc::new(|name: &str| std::env::var(name).ok()),
            by_server: false,
        }
    }

    /// An agent's reader: every value comes from the server.
    pub fn by_server() -> Self {
        SecretReader {
            by_server: true,
            ..SecretReader::new(SecretSources::default())
        }
    }
}

impl fmt::Debug for SecretReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretReader")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

/// The `(name, value)` pairs of one container's secrets, in order, or why one of them
/// cannot be resolved (as ECS says it: `ResourceInitializationError: ...`).
/// Only Secrets of the task's own `cluster` are found: a task cannot inject another
/// cluster's Secret, whatever its `valueFrom` says.
pub(crate) fn resolve(
    store: &dyn Store,
    secrets: &SecretReader,
    cluster: &str,
    container: &str,
    refs: &[SecretRef],
) -> Result<Vec<(String, String)>, SecretError> {
    refs.iter()
        .map(|r| {
            resolve_one(store, secrets, cluster, r)
                .map(|v| (r.name.clone(), v))
                .map_err(|e| match e {
                    SecretError::Refused(why) => SecretError::Refused(format!(
                        "ResourceInitializationError: unable to retrieve secret {:?} ({}) of container {container}: {why}",
                        r.value_from, r.name
                    )),
                    unreadable => unreadable,
                })
        })
        .collect()
}

fn resolve_one(
    store: &dyn Store,
    secrets: &SecretReader,
    cluster: &str,
    r: &SecretRef,
) -> Result<String, SecretError> {
    let name = api::secret::secret_name(&r.value_from).map_err(SecretError::Refused)?;
    value(store, secrets, cluster, &stored_name(store, cluster, &name))
}

/// Why a Secret's value cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The store could not be reached (`StoreError::Backend`): the same question may be
    /// answered later (an agent whose servers are unreachable, an etcd without quorum).
    #[error("cannot read Secret {name}: {source}")]
    Unreadable {
        name: String,
        source: store::StoreError,
    },
    /// Missing, refused by the operator's rules, or unreadable where it lives: the answer
    /// stays until something changes.
    #[error("{0}")]
    Refused(String),
}

impl SecretError {
    /// Whether asking again later may succeed without any change (the store could not be
    /// reached), as opposed to a Secret that is missing or refused.
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretError::Unreadable { .. })
    }
}

/// The Secret a reference names: the exact name, or, when only that exists, the name an
/// older release stored it under (its DNS alias: `DB_PASSWORD` was stored as `db-password`).
/// The alias rule of admission keeps the two from both existing.
fn stored_name(store: &dyn Store, cluster: &str, name: &str) -> String {
    let alias = api::names::dns_alias(name);
    let exists = |n: &str| {
        store
            .get(&ObjectKey::new(Kind::Secret, Some(cluster), n))
            .is_ok_and(|o| o.is_some())
    };
    if alias != name && !exists(name) && exists(&alias) {
        alias
    } else {
        name.to_string()
    }
}

/// The value of the Secret `name` of `cluster` now (held by the store, read from its file or
/// taken from the server's environment, as far as the operator allows), or why it cannot be
/// had, in words that never hold a value.
pub fn value(
    store: &dyn Store,
    secrets: &SecretReader,
    cluster: &str,
    name: &str,
) -> Result<String, SecretError> {
    let key = ObjectKey::new(Kind::Secret, Some(cluster), name);
    let unreadable = |source| match source {
        store::StoreError::Backend(_) => SecretError::Unreadable {
            name: name.to_string(),
            source,
        },
        // What the store refuses (an agent's server: missing, not for this task).
        store::StoreError::Invalid(why) => SecretError::Refused(format!("Secret {name}: {why}")),
        e => SecretError::Refused(format!("cannot read Secret {name}: {e}")),
    };
    if secrets.by_server {
        return store
            .secret_value(&key)
            .map_err(unreadable)?
            .ok_or_else(|| SecretError::Refused(format!("Secret {name} holds no value")));
    }
    let obj = store.get(&key).map_err(unreadable)?.ok_or_else(|| {
        SecretError::Refused(format!(
            "Secret {name} does not exist in cluster {cluster} (a task reads only Secrets of its own cluster: `ecsctl apply` a Secret named {name} with metadata.cluster {cluster})"
        ))
    })?;
    let refused = |why: String| SecretError::Refused(format!("Secret {name}: {why}"));
    if let Some(path) = obj.spec.get("fromFile").and_then(|v| v.as_str()) {
        let real = secrets
            .sources
            .open(path)
            .map_err(|e| refused(e.to_string()))?;
        return read_file(&real).map_err(|e| refused(format!("file {path}: {e}")));
    }
    if let Some(var) = obj.spec.get("fromEnv").and_then(|v| v.as_str()) {
        secrets
            .sources
            .check_env(var)
            .map_err(|e| refused(e.to_string()))?;
        return (secrets.env)(var).ok_or_else(|| {
            refused(format!(
                "the server's environment variable {var} is not set"
            ))
        });
    }
    store
        .secret_value(&key)
        .map_err(unreadable)?
        .ok_or_else(|| SecretError::Refused(format!("Secret {name} holds no value")))
}

/// The file's content (UTF-8, at most [`api::secret::MAX_SECRET_BYTES`]) less one trailing
/// newline, which `echo value > file` leaves behind.
fn read_file(path: &std::path::Path) -> Result<String, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let limit = api::secret::MAX_SECRET_BYTES;
    let mut bytes = Vec::new();
    f.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > limit {
        return Err(format!("larger than the {limit}-byte limit of a secret"));
    }
    let mut s = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Object;
    use serde_json::json;
    use store::SledStore;

    fn secret_ref(name: &str, from: &str) -> SecretRef {
        SecretRef {
            name: name.into(),
            value_from: from.into(),
        }
    }

    #[test]
    fn values_come_from_the_store_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path().join("store")).unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "from-a-file\n").unwrap();
        for (name, spec) in [
            ("db-password", json!({"value": "from-the-manifest"})),
            ("api-key", json!({"fromFile": file.to_str().unwrap()})),
            ("token", json!({"fromEnv": "SERVER_TOKEN"})),
            ("Api_Token", json!({"value": "exact"})),
        ] {
            store.apply(Object::new(Kind::Secret, name, spec)).unwrap();
        }
        let sources = SecretSources::new(Some(dir.path().to_path_buf()), Some("SERVER_".into()));
        let reader = |env: Arc<EnvLookup>| SecretReader {
            sources: sources.clone(),
            env,
            by_server: false,
        };
        let env = reader(Arc::new(|k: &str| {
            (k == "SERVER_TOKEN").then(|| "from-the-env".to_string())
        }));
        let got = resolve(
            &store,
            &env,
            "default",
            "app",
            &[
                secret_ref(
                    "DB",
                    "arn:aws:secretsmanager:eu-west-1:1:secret:DB_PASSWORD",
                ),
                secret_ref("KEY", "/prod/api-key"),
                secret_ref("TOKEN", "token"),
                secret_ref("EXACT", "arn:aws:ssm:eu-west-1:1:parameter/prod/Api_Token"),
            ],
        )
        .unwrap();
        // DB_PASSWORD is found under the name an older release stored (db-password);
        // Api_Token under its exact name.
        assert_eq!(
            got,
            [
                ("DB".to_string(), "from-the-manifest".to_string()),
                ("KEY".to_string(), "from-a-file".to_string()),
                ("TOKEN".to_string(), "from-the-env".to_string()),
                ("EXACT".to_string(), "exact".to_string()),
            ]
        );

        let no_env = reader(Arc::new(|_: &str| None));
        let e = resolve(
            &store,
            &no_env,
            "default",
            "app",
            &[secret_ref("T", "token")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("ResourceInitializationError") && e.contains("SERVER_TOKEN is not set"),
            "{e}"
        );
        let e = resolve(
            &store,
            &no_env,
            "default",
            "app",
            &[secret_ref("X", "missing")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("Secret missing does not exist"), "{e}");
        std::fs::remove_file(&file).unwrap();
        let e = resolve(
            &store,
            &no_env,
            "default",
            "app",
            &[secret_ref("K", "api-key")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("file ") && e.contains("api-key"), "{e}");

        // What the operator does not allow is not read, even if it was stored.
        for (name, spec) in [
            ("shadow", json!({"fromFile": "/etc/hostname"})),
            ("home", json!({"fromEnv": "HOME"})),
        ] {
            store.apply(Object::new(Kind::Secret, name, spec)).unwrap();
        }
        let everything = reader(Arc::new(|_: &str| Some("leaked".to_string())));
        for name in ["shadow", "home"] {
            let e = resolve(
                &store,
                &everything,
                "default",
                "app",
                &[secret_ref("S", name)],
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("refused") && !e.contains("leaked"), "{e}");
        }
    }

    #[test]
    fn a_task_reads_only_secrets_of_its_own_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path().join("store")).unwrap();
        let mut shop = Object::new(Kind::Secret, "db", json!({"value": "shop-value"}));
        shop.metadata.cluster = Some("shop".into());
        store.apply(shop).unwrap();
        store
            .apply(Object::new(
                Kind::Secret,
                "admin-key",
                json!({"value": "default-value"}),
            ))
            .unwrap();
        let reader = SecretReader::new(SecretSources::default());
        let refs = |from: &str| [secret_ref("V", from)];
        let got = resolve(&store, &reader, "shop", "app", &refs("db")).unwrap();
        assert_eq!(got[0].1, "shop-value");
        for (cluster, from) in [
            ("shop", "admin-key"),
            ("default", "db"),
            ("shop", "arn:aws:secretsmanager:r:1:secret:admin-key"),
        ] {
            let e = resolve(&store, &reader, cluster, "app", &refs(from))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("ResourceInitializationError")
                    && e.contains(&format!("does not exist in cluster {cluster}"))
                    && !e.contains("-value"),
                "{e}"
            );
        }
    }

    #[test]
    fn oversized_or_binary_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; api::secret::MAX_SECRET_BYTES + 1]).unwrap();
        assert!(read_file(&big).unwrap_err().contains("limit"));
        let bin = dir.path().join("bin");
        std::fs::write(&bin, [0xff, 0xfe]).unwrap();
        assert!(read_file(&bin).unwrap_err().contains("UTF-8"));
        let crlf = dir.path().join("crlf");
        std::fs::write(&crlf, "v\r\n").unwrap();
        assert_eq!(read_file(&crlf).unwrap(), "v");
    }
}
