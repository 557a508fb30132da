//! Where a Secret may take its value from. The server runs as root; a Secret that names any
//! file or variable of the server's machine would let every API user read it through a task
//! (`fromFile: /etc/shadow`). So the server's operator says which files and variables are
//! secrets, at server start, and nothing else is read:
//! - `fromFile` paths must lie inside one directory (`--secret-files-dir`, by default the data
//!   dir's `secrets` folder). Admission compares normal paths (no `..`, `.` or empty
//!   segments); reading resolves symlinks first ([`SecretSources::open`]), so a link placed
//!   in the directory cannot lead out of it.
//! - `fromEnv` names must start with a prefix (`--secret-env-prefix`); without one no
//!   variable may be read.

use crate::{Problem, Rule};
use api::secret::SecretSpec;
use api::{Kind, Object};
use std::path::{Path, PathBuf};

/// The files and variables Secrets may read, as the server's operator allows. The default
/// allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretSources {
    /// `fromFile` paths must lie inside this directory.
    pub files_dir: Option<PathBuf>,
    /// `fromEnv` names must start with this (not empty).
    pub env_prefix: Option<String>,
    /// The AWS shared-credentials file whose profiles Roles may name (`{profile: NAME}`,
    /// `--role-profiles FILE`); without one no Role takes a profile.
    pub role_profiles: Option<PathBuf>,
}

impl SecretSources {
    /// Files inside `files_dir`, variables starting with `env_prefix` (an empty prefix is
    /// none: it would allow every variable of the server).
    pub fn new(files_dir: Option<PathBuf>, env_prefix: Option<String>) -> Self {
        SecretSources {
            files_dir,
            env_prefix: env_prefix.filter(|p| !p.is_empty()),
            role_profiles: None,
        }
    }

    /// Roles may name profiles of this AWS shared-credentials file.
    pub fn with_role_profiles(mut self, file: Option<PathBuf>) -> Self {
        self.role_profiles = file;
        self
    }

    /// Whether a Role may take the profile `profile` (only with `--role-profiles FILE`).
    pub fn check_profile(&self, profile: &str) -> Result<(), String> {
        match &self.role_profiles {
            Some(_) => Ok(()),
            None => Err(format!(
                "profile {profile} is refused: this server hands out no shared-credentials profiles (start it with --role-profiles FILE, an AWS credentials file)"
            )),
        }
    }

    /// Refuses every Secret of the write whose file or variable is not allowed.
    pub(crate) fn check_objects(&self, objects: &[Object]) -> Vec<Problem> {
        objects
            .iter()
            .filter(|o| o.kind == Kind::Secret || o.kind == Kind::Role)
            .filter_map(|o| {
                if o.kind == Kind::Role {
                    let spec: api::role::RoleSpec = o.spec_as().ok()?;
                    return spec.profile.and_then(|p| self.check_profile(&p).err()).map(
                        |message| Problem {
                            object: o.key(),
                            rule: Rule::SecretSources,
                            message,
                        },
                    );
                }
                let spec: SecretSpec = o.spec_as().ok()?;
                let refused = match (&spec.from_file, &spec.from_env) {
                    (Some(path), _) => self.check_file(path).err(),
                    (_, Some(var)) => self.check_env(var).err(),
                    _ => None,
                };
                refused.map(|message| Problem {
                    object: o.key(),
                    rule: Rule::SecretSources,
                    message,
                })
            })
            .collect()
    }

    /// Whether `path` names a file inside the secret files directory (compared as written:
    /// [`SecretSources::open`] resolves links when reading).
    pub fn check_file(&self, path: &str) -> Result<(), String> {
        let Some(dir) = &self.files_dir else {
            return Err(format!(
                "fromFile {path} is refused: this server reads no secret files (start it with --secret-files-dir DIR)"
            ));
        };
        let p = Path::new(path);
        if !api::hostpath::is_normal_path(p) {
            return Err(format!(
                "fromFile {path:?} must be an absolute path without '..', '.' or empty segments"
            ));
        }
        if !within(p, dir) && !dir.canonicalize().is_ok_and(|real| within(p, &real)) {
            return Err(format!(
                "fromFile {path} is refused: it is outside {}, the directory this server reads secret files from (put the file there, or start the server with --secret-files-dir DIR)",
                dir.display()
            ));
        }
        Ok(())
    }

    /// Whether the server may read the environment variable `var`.
    pub fn check_env(&self, var: &str) -> Result<(), String> {
        match &self.env_prefix {
            Some(prefix) if var.starts_with(prefix.as_str()) => Ok(()),
            Some(prefix) => Err(format!(
                "fromEnv {var} is refused: this server reads only variables starting with {prefix} (--secret-env-prefix)"
            )),
            None => Err(format!(
                "fromEnv {var} is refused: this server reads no environment variables as secrets (start it with --secret-env-prefix PREFIX)"
            )),
        }
    }

    /// The real path of a secret file, once symlinks are resolved, if it is still inside the
    /// secret files directory: what a task start reads.
    pub fn open(&self, path: &str) -> Result<PathBuf, String> {
        self.check_file(path)?;
        let dir = self.files_dir.as_deref().unwrap_or(Path::new("/"));
        let real_dir = dir
            .canonicalize()
            .map_err(|e| format!("secret files directory {}: {e}", dir.display()))?;
        let real = Path::new(path).canonicalize().map_err(|e| e.to_string())?;
        if within(&real, &real_dir) && real != real_dir {
            Ok(real)
        } else {
            Err(format!(
                "fromFile {path} leads to {}, outside {} (a symbolic link?): refused",
                real.display(),
                real_dir.display()
            ))
        }
    }
}

/// `p` is inside `dir` (never `dir` itself).
fn within(p: &Path, dir: &Path) -> bool {
    p.starts_with(dir) && p != dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_must_lie_inside_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("secrets");
        std::fs::create_dir(&dir).unwrap();
        let sources = SecretSources::new(Some(dir.clone()), None);
        let inside = dir.join("db");
        std::fs::write(&inside, "pw").unwrap();
        let inside = inside.to_str().unwrap();
        assert_eq!(sources.check_file(inside), Ok(()));
        assert_eq!(
            sources.open(inside),
            Ok(dir.canonicalize().unwrap().join("db"))
        );

        let e = sources.check_file("/etc/shadow").unwrap_err();
        assert!(e.contains("--secret-files-dir"), "{e}");
        for sneaky in [
            format!("{}/../../etc/shadow", dir.display()),
            format!("{}/./db", dir.display()),
            format!("{}//db", dir.display()),
            dir.display().to_string(),
        ] {
            assert!(sources.check_file(&sneaky).is_err(), "{sneaky}");
        }
        assert!(sources.check_file("relative/db").is_err());

        // A link inside the directory that leads out of it is refused when read.
        let link = dir.join("shadow");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        let link = link.to_str().unwrap();
        assert_eq!(sources.check_file(link), Ok(()));
        let e = sources.open(link).unwrap_err();
        assert!(e.contains("outside"), "{e}");

        let none = SecretSources::default();
        assert!(
            none.check_file(inside)
                .unwrap_err()
                .contains("reads no secret files")
        );
    }

    #[test]
    fn variables_need_the_prefix() {
        let none = SecretSources::default();
        assert!(
            none.check_env("HOME")
                .unwrap_err()
                .contains("--secret-env-prefix")
        );
        let empty = SecretSources::new(None, Some(String::new()));
        assert!(
            empty.check_env("HOME").is_err(),
            "an empty prefix allows nothing"
        );
        let some = SecretSources::new(None, Some("APP_".into()));
        assert_eq!(some.check_env("APP_TOKEN"), Ok(()));
        let e = some.check_env("AWS_SECRET_ACCESS_KEY").unwrap_err();
        assert!(e.contains("APP_"), "{e}");
    }
}
