//! The identities a TCP listener accepts: the `--tokens` file (read at start, and again on
//! SIGHUP: `reload.rs`) and the `--token-file` token (an admin). The file's format and the role model
//! are `admission::access`'s; reading the file, its mode, and swapping identities on reload
//! happen here.
//!
//! A bad file at start stops the server (naming the file, the line and what is wrong); a
//! bad file on reload keeps the identities already in use and logs why, so that a typo in
//! an edit never locks everyone out.

use crate::ServerError;
use admission::access::{Identity, Tokens};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

/// The identities in use, swapped whole on reload.
#[derive(Debug)]
pub(crate) struct Identities {
    current: RwLock<Arc<Tokens>>,
    /// The `--tokens` file, if any.
    file: Option<PathBuf>,
    /// The `--token-file` token, if any (an admin).
    admin_token: Option<String>,
}

impl Identities {
    /// Reads the tokens file (if any) and adds the admin token (if any); at least one
    /// identity must result, or nobody could use the TCP listener.
    pub fn load(file: Option<PathBuf>, admin_token: Option<String>) -> Result<Self, ServerError> {
        let tokens = read(file.as_deref(), admin_token.as_deref())?;
        Ok(Identities {
            current: RwLock::new(Arc::new(tokens)),
            file,
            admin_token,
        })
    }

    /// The identity whose token is `sent` (compared in constant time with every entry).
    pub fn identify(&self, sent: &[u8]) -> Option<Identity> {
        self.snapshot().identify(sent).cloned()
    }

    fn snapshot(&self) -> Arc<Tokens> {
        // A poisoned lock still holds a whole `Arc` (swaps never half-happen).
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the file again and swaps the identities in; on any error keeps the current
    /// ones. Returns how many identities are in use now.
    pub fn reload(&self) -> Result<usize, ServerError> {
        let tokens = read(self.file.as_deref(), self.admin_token.as_deref())?;
        let n = tokens.len();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(tokens);
        Ok(n)
    }
}

impl crate::reload::Reload for Identities {
    fn what(&self) -> String {
        "the tokens file".into()
    }
    fn reload(&self) -> Result<usize, ServerError> {
        Identities::reload(self)
    }
}

/// The identities of `file` plus `admin_token`.
fn read(file: Option<&Path>, admin_token: Option<&str>) -> Result<Tokens, ServerError> {
    let mut tokens = match file {
        Some(path) => read_file(path)?,
        None => Tokens::default(),
    };
    if let Some(token) = admin_token.filter(|t| !t.is_empty()) {
        tokens = tokens.with_admin(token, "--token-file").map_err(|e| {
            ServerError::Config(format!("--tokens and --token-file: {}", e.message))
        })?;
    }
    if tokens.is_empty() {
        return Err(ServerError::Config(match file {
            Some(path) => format!(
                "--tokens {}: the file names no identity (lines TOKEN ROLE [CLUSTER[,CLUSTER...]|*]), so nobody could use the TCP listener",
                path.display()
            ),
            None => {
                "TCP listening needs a bearer token (--token-file) or identities (--tokens FILE)"
                    .to_string()
            }
        }));
    }
    Ok(tokens)
}

/// Reads and parses a tokens file, which must be private to its owner (mode 0600 or
/// stricter): it holds every identity's bearer token.
pub(crate) fn read_file(path: &Path) -> Result<Tokens, ServerError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ServerError::io(format!("--tokens {}", path.display()), e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ServerError::Config(format!(
            "--tokens {}: the file is mode {mode:04o}, so others may read the bearer tokens it holds: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServerError::io(format!("cannot read --tokens {}", path.display()), e))?;
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tokens".to_string());
    Tokens::parse(&text, &source)
        .map_err(|e| ServerError::Config(format!("--tokens {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use admission::access::Role;

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("tokens");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_readable_file_is_refused_naming_the_mode_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "0123456789abcdef0123 admin\n", 0o644);
        let e = Identities::load(Some(path.clone()), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mode 0644") && e.contains(&format!("chmod 600 {}", path.display())),
            "{e}"
        );
        let path = write(dir.path(), "0123456789abcdef0123 admin\n", 0o640);
        assert!(Identities::load(Some(path), None).is_err());
    }

    #[test]
    fn a_bad_line_names_the_file_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "# x\n0123456789abcdef0123 boss\n", 0o600);
        let e = Identities::load(Some(path.clone()), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "--tokens {}: line 2: unknown role",
                path.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn reload_swaps_identities_and_a_bad_file_keeps_the_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "0123456789abcdef0123 deployer shop\n", 0o600);
        let ids = Identities::load(Some(path.clone()), Some("admin-token-0123456".into())).unwrap();
        assert_eq!(
            ids.identify(b"0123456789abcdef0123").unwrap().role,
            Role::Deployer
        );
        assert_eq!(
            ids.identify(b"admin-token-0123456").unwrap().role,
            Role::Admin
        );
        write(dir.path(), "fedcba9876543210fedc viewer *\n", 0o600);
        assert_eq!(ids.reload().unwrap(), 2);
        assert!(ids.identify(b"0123456789abcdef0123").is_none());
        assert_eq!(
            ids.identify(b"fedcba9876543210fedc").unwrap().role,
            Role::Viewer
        );
        write(dir.path(), "fedcba9876543210fedc nobody *\n", 0o600);
        assert!(ids.reload().is_err());
        assert_eq!(
            ids.identify(b"fedcba9876543210fedc").unwrap().role,
            Role::Viewer
        );
        write(dir.path(), "fedcba9876543210fedc viewer *\n", 0o644);
        assert!(
            ids.reload().is_err(),
            "a file made readable is refused on reload too"
        );
        assert!(ids.identify(b"fedcba9876543210fedc").is_some());
    }

    #[test]
    fn no_identity_at_all_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "# nobody yet\n", 0o600);
        assert!(Identities::load(Some(path), None).is_err());
        assert!(Identities::load(None, None).is_err());
        assert!(Identities::load(None, Some("admin-token-0123456".into())).is_ok());
    }
}
