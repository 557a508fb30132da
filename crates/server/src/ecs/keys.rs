//! The access keys the ECS listener accepts: those of `--aws-credentials FILE`, or else one
//! admin key the server makes in its data directory on first start (mode 0600), which
//! `ecsctl aws-env` prints. SIGHUP reads them again (`KeyRing`, `reload.rs`).

use crate::ServerError;
use admission::access::{Identity, Role, Scope};
use ecsapi::credentials::{self, Credential};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

/// Access keys by id, with the identity each gives.
pub struct Keys {
    by_id: HashMap<String, (Credential, Identity)>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("count", &self.by_id.len())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// The keys of parsed credentials.
    pub fn new(creds: Vec<Credential>, source: &str) -> Keys {
        let by_id = creds
            .into_iter()
            .map(|c| {
                let identity = Identity {
                    name: format!("{source}[{}]", c.profile),
                    principal: format!("key:{}", c.access_key_id),
                    role: Role::parse(&c.role).unwrap_or(Role::Viewer),
                    clusters: match &c.clusters {
                        None => Scope::All,
                        Some(set) => Scope::Clusters(set.clone()),
                    },
                };
                (c.access_key_id.clone(), (c, identity))
            })
            .collect();
        Keys { by_id }
    }

    /// The secret of an access key id.
    pub fn secret(&self, id: &str) -> Option<&str> {
        self.by_id
            .get(id)
            .map(|(c, _)| c.secret_access_key.as_str())
    }

    /// The identity an access key id gives.
    pub fn identity(&self, id: &str) -> Option<Identity> {
        self.by_id.get(id).map(|(_, i)| i.clone())
    }
}

/// The keys in use, swapped whole when SIGHUP reads their file again.
#[derive(Debug)]
pub(crate) struct KeyRing {
    current: RwLock<Arc<Keys>>,
    /// `--aws-credentials`, if given.
    file: Option<PathBuf>,
    /// Where the generated key lives otherwise.
    data_dir: PathBuf,
}

impl KeyRing {
    /// The keys of `file`, or of the key kept in `data_dir` (made on first use).
    pub fn load(file: Option<PathBuf>, data_dir: PathBuf) -> Result<KeyRing, ServerError> {
        let keys = load_or_create(file.as_deref(), &data_dir)?;
        Ok(KeyRing {
            current: RwLock::new(Arc::new(keys)),
            file,
            data_dir,
        })
    }

    /// The keys in use now.
    pub fn snapshot(&self) -> Arc<Keys> {
        // A poisoned lock still holds a whole `Arc` (swaps never half-happen).
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl crate::reload::Reload for KeyRing {
    fn what(&self) -> String {
        match &self.file {
            Some(f) => format!("--aws-credentials {}", f.display()),
            None => format!("the ECS API key in {}", self.data_dir.display()),
        }
    }

    fn reload(&self) -> Result<usize, ServerError> {
        let keys = load_or_create(self.file.as_deref(), &self.data_dir)?;
        let n = keys.by_id.len();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        Ok(n)
    }
}

/// The keys of `file`, or (without one) the key kept in `data_dir`, made on first use.
pub fn load_or_create(file: Option<&Path>, data_dir: &Path) -> Result<Keys, ServerError> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| ServerError::io(format!("--aws-credentials {}", file.display()), e))?;
        let creds = credentials::parse(&text).map_err(|e| {
            ServerError::Config(format!("--aws-credentials {}: {e}", file.display()))
        })?;
        return Ok(Keys::new(creds, "aws-credentials"));
    }
    let path = data_dir.join(ecsapi::GENERATED_CREDENTIALS);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = credentials::generate("ecsctl").map_err(|_| {
                ServerError::Config("cannot draw random bytes for the AWS key".into())
            })?;
            let text = credentials::render(&key);
            write_private(&path, &text)
                .map_err(|e| ServerError::io(format!("cannot write {}", path.display()), e))?;
            tracing::info!(file = %path.display(), "made an AWS access key for the ECS API (ecsctl aws-env prints it)");
            text
        }
        Err(e) => {
            return Err(ServerError::io(
                format!("cannot read {}", path.display()),
                e,
            ));
        }
    };
    let creds = credentials::parse(&text)
        .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
    Ok(Keys::new(creds, "generated"))
}

/// Writes a new file readable by this user only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}
