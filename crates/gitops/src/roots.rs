//! Which directories `POST /v1/sync` (`ecsctl sync DIR`) may sync: the server runs as root
//! and reads what it syncs, so an API user must not be able to point it at any directory of
//! the host (`/etc`, `/root`) and read its files back in error messages. Only the directories
//! the server watches (`--watch`) and those below an admin-set root (`--sync-root`) pass.
//!
//! The path is checked twice: first as written, with `.` and `..` resolved lexically, before
//! anything on the host is touched (so `/etc` is refused without even a `stat`); then
//! resolved on the file system (symlinks followed), since a symlink below a root may lead out
//! of it. Only the resolved path is synced.

use std::path::{Component, Path, PathBuf};

/// Why a directory may not be synced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    /// Outside every allowed directory (HTTP 403).
    #[error(
        "{dir} is not a directory this server syncs: `ecsctl sync` may sync only the directories the server watches (--watch) and those below its sync roots ({roots}) (allow it with `ecsctl server --sync-root DIR`)"
    )]
    Refused {
        /// The directory as asked.
        dir: String,
        /// The sync roots, or `none set`.
        roots: String,
    },
    /// Not an absolute path, or an allowed one that cannot be read (HTTP 400).
    #[error("{dir}: {reason}")]
    Invalid {
        /// The directory as asked.
        dir: String,
        /// What is wrong.
        reason: String,
    },
}

/// The directories a server lets `POST /v1/sync` sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncRoots {
    /// Directories synced exactly (the watched ones), canonical.
    exact: Vec<PathBuf>,
    /// Directories below which (and at which) anything may be synced, canonical.
    roots: Vec<PathBuf>,
}

impl SyncRoots {
    /// Allows exactly the directories of `watched` and everything at or below `roots`; give
    /// both canonical (symlinks resolved), as the server does at start.
    pub fn new(watched: Vec<PathBuf>, roots: Vec<PathBuf>) -> Self {
        SyncRoots {
            exact: watched,
            roots,
        }
    }

    /// Whether a canonical or lexically normalized absolute path is allowed. Pure.
    pub fn allows(&self, path: &Path) -> bool {
        self.exact.iter().any(|d| d == path) || self.roots.iter().any(|r| path.starts_with(r))
    }

    /// The directory to sync for the one asked: refused before the host is touched when its
    /// written form is outside, then resolved (symlinks followed) and checked again.
    pub fn check(&self, dir: &Path) -> Result<PathBuf, RootError> {
        let shown = dir.display().to_string();
        let Some(lexical) = normalize(dir) else {
            return Err(RootError::Invalid {
                dir: shown,
                reason: "must be an absolute path".to_string(),
            });
        };
        if !self.allows(&lexical) {
            return Err(self.refused(shown));
        }
        let resolved = std::fs::canonicalize(&lexical).map_err(|e| RootError::Invalid {
            dir: shown.clone(),
            reason: format!("cannot read the directory: {}", crate::scan::io_reason(&e)),
        })?;
        if !self.allows(&resolved) {
            return Err(self.refused(shown));
        }
        Ok(resolved)
    }

    fn refused(&self, dir: String) -> RootError {
        let roots = if self.roots.is_empty() {
            "none set".to_string()
        } else {
            self.roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        RootError::Refused { dir, roots }
    }
}

/// `path` with `.` and `..` resolved as written (no file system access), or `None` when it is
/// not absolute. `..` at the root stays at the root, as the kernel does.
pub fn normalize(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_normalization() {
        let n = |s: &str| normalize(Path::new(s)).map(|p| p.display().to_string());
        assert_eq!(n("/srv/sync/../sync/./app"), Some("/srv/sync/app".into()));
        assert_eq!(n("/srv//sync/"), Some("/srv/sync".into()));
        assert_eq!(n("/../../etc"), Some("/etc".into()));
        assert_eq!(n("/srv/sync/.."), Some("/srv".into()));
        assert_eq!(n("relative/dir"), None);
    }

    #[test]
    fn only_watched_directories_and_those_below_roots_pass() {
        let r = SyncRoots::new(vec!["/srv/watched".into()], vec!["/srv/sync".into()]);
        assert!(r.allows(Path::new("/srv/watched")));
        assert!(
            !r.allows(Path::new("/srv/watched/sub")),
            "watched dirs are exact"
        );
        assert!(r.allows(Path::new("/srv/sync")));
        assert!(r.allows(Path::new("/srv/sync/app/prod")));
        assert!(
            !r.allows(Path::new("/srv/syncx")),
            "a prefix of a name is not below"
        );
        assert!(!r.allows(Path::new("/etc")));
        assert!(!SyncRoots::default().allows(Path::new("/")));
    }

    #[test]
    fn refused_before_the_host_is_touched() {
        let r = SyncRoots::new(vec![], vec!["/nonexistent-root-for-test".into()]);
        // Outside: refused as written, even though the path does not exist (no stat happened:
        // a missing path inside a root is an Invalid error instead).
        let e = r
            .check(Path::new("/nonexistent-root-for-test/../etc"))
            .unwrap_err();
        assert!(matches!(e, RootError::Refused { .. }), "{e}");
        assert!(e.to_string().contains("--sync-root"), "{e}");
        let e = r
            .check(Path::new("/nonexistent-root-for-test/app"))
            .unwrap_err();
        assert!(matches!(e, RootError::Invalid { .. }), "{e}");
        let e = r.check(Path::new("etc")).unwrap_err();
        assert!(e.to_string().contains("absolute"), "{e}");
    }

    #[test]
    fn a_symlink_out_of_a_root_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap().join("root");
        let outside = std::fs::canonicalize(tmp.path()).unwrap().join("outside");
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let r = SyncRoots::new(vec![], vec![root.clone()]);
        assert_eq!(r.check(&root.join("app")).unwrap(), root.join("app"));
        let e = r.check(&root.join("link")).unwrap_err();
        assert!(matches!(e, RootError::Refused { .. }), "{e}");
    }
}
