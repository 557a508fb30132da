//! Finding the etcd binary: `ECSCTL_ETCD` if set (a build of another version, say), else
//! `etcd` on `PATH` (Debian's `etcd-server` puts it in /usr/bin).

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::HarnessError;

/// The environment variable that names the etcd binary to run instead of `etcd` on `PATH`.
pub const ETCD_ENV: &str = "ECSCTL_ETCD";

/// The etcd binary the harness runs, from the process's environment.
///
/// # Errors
/// [`HarnessError::EtcdNotFound`] (which says to run `scripts/install-etcd.sh`) when there is
/// none, [`HarnessError::BadEtcdEnv`] when `ECSCTL_ETCD` names something that is not an
/// executable file.
pub fn find_etcd() -> Result<PathBuf, HarnessError> {
    let explicit = std::env::var_os(ETCD_ENV);
    let path = std::env::var_os("PATH");
    find_in(explicit.as_deref(), path.as_deref())
}

/// [`find_etcd`] on explicit values, so that it is testable without touching the environment.
fn find_in(explicit: Option<&OsStr>, path: Option<&OsStr>) -> Result<PathBuf, HarnessError> {
    if let Some(explicit) = explicit.filter(|value| !value.is_empty()) {
        let explicit = PathBuf::from(explicit);
        return if is_executable(&explicit) {
            Ok(explicit)
        } else {
            Err(HarnessError::BadEtcdEnv(explicit))
        };
    }
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("etcd"))
        .find(|candidate| is_executable(candidate))
        .ok_or(HarnessError::EtcdNotFound)
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn fake_binary(dir: &Path, mode: u32) -> PathBuf {
        let path = dir.join("etcd");
        fs::write(&path, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn missing_everywhere_says_how_to_install() {
        let empty = tempfile::tempdir().unwrap();
        let err = find_in(None, Some(empty.path().as_os_str())).unwrap_err();
        assert!(matches!(err, HarnessError::EtcdNotFound));
        assert_eq!(
            err.to_string(),
            "etcd not found: run scripts/install-etcd.sh (Debian's etcd-server)"
        );
        assert!(matches!(
            find_in(None, None),
            Err(HarnessError::EtcdNotFound)
        ));
    }

    #[test]
    fn searches_path_in_order_and_skips_files_that_cannot_run() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        fake_binary(first.path(), 0o644);
        let runnable = fake_binary(second.path(), 0o755);
        let path = std::env::join_paths([first.path(), second.path()]).unwrap();
        assert_eq!(find_in(None, Some(&path)).unwrap(), runnable);
    }

    #[test]
    fn the_variable_wins_over_path_and_must_name_an_executable() {
        let on_path = tempfile::tempdir().unwrap();
        fake_binary(on_path.path(), 0o755);
        let chosen_dir = tempfile::tempdir().unwrap();
        let chosen = fake_binary(chosen_dir.path(), 0o755);
        let path = Some(on_path.path().as_os_str());
        assert_eq!(find_in(Some(chosen.as_os_str()), path).unwrap(), chosen);

        let missing = chosen_dir.path().join("nope");
        let err = find_in(Some(missing.as_os_str()), path).unwrap_err();
        assert!(matches!(err, HarnessError::BadEtcdEnv(p) if p == missing));
        // Set but empty counts as unset, the way shells treat `ECSCTL_ETCD= cargo test`.
        assert!(find_in(Some(OsStr::new("")), path).is_ok());
    }
}
