//! The unix socket: refuse to start when another server answers on it, replace a stale
//! socket file, bind with mode 0600, and remove the file when the server stops.

use crate::ServerError;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tokio::net::{UnixListener, UnixStream};

/// Removes the socket file when dropped.
#[derive(Debug)]
pub(crate) struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), error = %e, "cannot remove the socket file");
        }
    }
}

/// Fails with [`ServerError::AlreadyRunning`] if something accepts connections at `path`.
pub(crate) async fn check_not_running(path: &Path) -> Result<(), ServerError> {
    if UnixStream::connect(path).await.is_ok() {
        return Err(ServerError::AlreadyRunning(path.to_path_buf()));
    }
    Ok(())
}

/// Binds `path` with mode 0600. A stale socket file (nobody answers) is replaced.
///
/// The socket is bound under a temporary name, restricted to 0600, and only then renamed
/// into place, so that it is never reachable at `path` with looser permissions.
pub(crate) async fn bind_unix(path: &Path) -> Result<(UnixListener, SocketFile), ServerError> {
    check_not_running(path).await?;
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.file_type().is_socket()
    {
        return Err(ServerError::Config(format!(
            "{} exists and is not a socket: remove it or listen elsewhere",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            ServerError::io(
                format!("cannot create the socket directory {}", dir.display()),
                e,
            )
        })?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp_name);
    remove_if_exists(&tmp)?;
    let listener = UnixListener::bind(&tmp)
        .map_err(|e| ServerError::io(format!("cannot listen on unix:{}", tmp.display()), e))?;
    let mut guard = SocketFile(tmp.clone());
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| ServerError::io(format!("cannot set the mode of {}", tmp.display()), e))?;
    // rename(2) replaces a stale socket file atomically.
    std::fs::rename(&tmp, path).map_err(|e| {
        ServerError::io(
            format!("cannot move the socket into place at {}", path.display()),
            e,
        )
    })?;
    guard.0 = path.to_path_buf();
    Ok((listener, guard))
}

fn remove_if_exists(path: &Path) -> Result<(), ServerError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ServerError::io(
            format!("cannot remove the stale socket {}", path.display()),
            e,
        )),
    }
}
