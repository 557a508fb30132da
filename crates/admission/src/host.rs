//! The host path rule at task start, on what the host really holds. At apply a host volume's
//! `sourcePath` is judged as written ([`crate::workload::check`]); a path is only a name,
//! though, and a task that can write inside an allowlisted directory can plant a symlink
//! there (`/srv/shared/etc -> /etc`) for a second task to mount. So right before a container
//! is made, the task controller resolves each host path on the host (every symlink followed,
//! as the kernel would when Docker binds it), notes what the file is, resolves the allowlist
//! and the engine locations the same way, and asks [`check_resolved`]; the container then
//! binds the resolved path, never the written one.
//!
//! This is the approach of secret files ([`crate::secrets::SecretSources::open`]): compare
//! normal paths when written, resolve links when used, and use what was resolved.

use crate::workload::refuse;
use api::cluster::ClusterPolicy;
use api::hostpath;
use std::path::{Path, PathBuf};

/// What a resolved host path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostFileKind {
    /// A directory.
    Directory,
    /// A regular file.
    File,
    /// A Unix socket: any socket counts as a container engine's (a name proves nothing).
    Socket,
    /// A character device (`/dev/mem`, a tty...).
    CharDevice,
    /// A block device (a disk).
    BlockDevice,
    /// A FIFO or anything else.
    Other,
}

/// One host volume of a task, resolved on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedHostPath {
    /// The task definition's volume name.
    pub volume: String,
    /// `sourcePath` as written.
    pub requested: String,
    /// The real path: absolute, every symlink resolved.
    pub real: PathBuf,
    /// What the real path is.
    pub kind: HostFileKind,
}

/// The host's side of the rule, resolved the same way as the volume's path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// The cluster's `hostPathAllowlist`, each entry resolved (as written when it does not
    /// exist).
    pub allowlist: Vec<PathBuf>,
    /// The engine sockets and state directories, as written and resolved
    /// (`/var/run/docker.sock` and `/run/docker.sock`).
    pub engine_locations: Vec<PathBuf>,
    /// The server's own files (data directory with the store and Secrets, its API socket,
    /// secret files, watched directories), as written and resolved: never bound, nor a
    /// directory holding one.
    pub protected: Vec<PathBuf>,
}

/// Whether `p` is one of `dirs` or lies inside one (segment by segment).
pub fn allowlisted<'a>(p: &Path, dirs: impl IntoIterator<Item = &'a Path>) -> bool {
    dirs.into_iter().any(|d| hostpath::within_or_equal(p, d))
}

/// The refusal of a path that holds or lies in an engine's socket or state.
pub(crate) fn engine_location_refusal(
    cluster: &str,
    volume: &str,
    path: &str,
    location: &Path,
) -> String {
    format!(
        "refused by the policy of cluster {cluster}: volume {volume} mounts host path {path}, which holds or lies in {}, a container engine's socket or state (never allowed; to hand a task the engine, mount the socket itself and allow it with spec.policy.allowDockerSocket)",
        location.display()
    )
}

/// Judges a resolved host path against the cluster's policy. The refusal names the volume,
/// the path as written and as resolved, and the policy field that would allow it.
pub fn check_resolved(
    r: &ResolvedHostPath,
    cluster: &str,
    policy: &ClusterPolicy,
    facts: &HostFacts,
) -> Result<(), String> {
    let volume = &r.volume;
    let real = r.real.as_path();
    let shown = if Path::new(&r.requested) == real {
        r.requested.clone()
    } else {
        format!("{} (resolved to {})", r.requested, real.display())
    };
    let allowlisted = allowlisted(real, facts.allowlist.iter().map(PathBuf::as_path));
    if let Some(own) =
        hostpath::engine_location_in(real, facts.protected.iter().map(PathBuf::as_path))
    {
        return Err(format!(
            "refused by the policy of cluster {cluster}: volume {volume} mounts host path {shown}, which holds or lies in {}, the ecsctl server's own data (its store, Secrets or API socket): never allowed",
            own.display()
        ));
    }
    match r.kind {
        HostFileKind::Socket => {
            if !policy.allow_docker_socket {
                return refuse(
                    cluster,
                    &format!(
                        "volume {volume} mounts host path {shown}, a Unix socket (every socket counts as a container engine's)"
                    ),
                    "allowDockerSocket",
                );
            }
            let known = hostpath::is_engine_socket(real)
                || facts.engine_locations.iter().any(|l| l == real);
            if known || allowlisted {
                return Ok(());
            }
            refuse(
                cluster,
                &format!("volume {volume} mounts host path {shown}, outside the allowlist"),
                "hostPathAllowlist",
            )
        }
        HostFileKind::CharDevice | HostFileKind::BlockDevice if !policy.allow_devices => refuse(
            cluster,
            &format!("volume {volume} mounts host path {shown}, a device"),
            "allowDevices",
        ),
        _ => {
            let engine = hostpath::engine_location_in(
                real,
                facts
                    .engine_locations
                    .iter()
                    .map(PathBuf::as_path)
                    .chain(hostpath::ENGINE_SOCKETS.iter().map(Path::new))
                    .chain(hostpath::ENGINE_STATE_DIRS.iter().map(Path::new)),
            );
            if let Some(loc) = engine {
                return Err(engine_location_refusal(cluster, volume, &shown, loc));
            }
            if allowlisted {
                Ok(())
            } else {
                refuse(
                    cluster,
                    &format!("volume {volume} mounts host path {shown}, outside the allowlist"),
                    "hostPathAllowlist",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(requested: &str, real: &str, kind: HostFileKind) -> ResolvedHostPath {
        ResolvedHostPath {
            volume: "data".into(),
            requested: requested.into(),
            real: real.into(),
            kind,
        }
    }

    fn facts() -> HostFacts {
        HostFacts {
            allowlist: vec!["/srv/shared".into()],
            engine_locations: vec!["/run/docker.sock".into(), "/var/run/docker.sock".into()],
            protected: Vec::new(),
        }
    }

    fn policy(f: impl FnOnce(&mut ClusterPolicy)) -> ClusterPolicy {
        let mut p = ClusterPolicy {
            host_path_allowlist: vec!["/srv/shared".into()],
            ..ClusterPolicy::default()
        };
        f(&mut p);
        p
    }

    #[test]
    fn the_resolved_path_is_what_counts() {
        let closed = policy(|_| {});
        let inside = resolved("/srv/shared/a", "/srv/shared/a", HostFileKind::Directory);
        assert_eq!(check_resolved(&inside, "c", &closed, &facts()), Ok(()));

        let link = resolved("/srv/shared/etc", "/etc", HostFileKind::Directory);
        let e = check_resolved(&link, "c", &closed, &facts()).unwrap_err();
        assert!(e.contains("volume data"), "{e}");
        assert!(e.contains("resolved to /etc"), "{e}");
        assert!(e.contains("spec.policy.hostPathAllowlist"), "{e}");

        let to_root = resolved("/srv/shared/root", "/", HostFileKind::Directory);
        let e = check_resolved(&to_root, "c", &closed, &facts()).unwrap_err();
        assert!(e.contains("container engine"), "{e}");
    }

    #[test]
    fn sockets_and_devices_need_their_rule() {
        let sock = resolved("/srv/shared/d", "/run/docker.sock", HostFileKind::Socket);
        let e = check_resolved(&sock, "c", &policy(|_| {}), &facts()).unwrap_err();
        assert!(
            e.contains("allowDockerSocket") && e.contains("/run/docker.sock"),
            "{e}"
        );
        let with_socket = policy(|p| p.allow_docker_socket = true);
        assert_eq!(check_resolved(&sock, "c", &with_socket, &facts()), Ok(()));

        // A socket of any name, anywhere, is one.
        let other = resolved(
            "/srv/shared/app.sock",
            "/srv/shared/app.sock",
            HostFileKind::Socket,
        );
        let e = check_resolved(&other, "c", &policy(|_| {}), &facts()).unwrap_err();
        assert!(e.contains("allowDockerSocket"), "{e}");
        assert_eq!(check_resolved(&other, "c", &with_socket, &facts()), Ok(()));
        let outside = resolved("/tmp/x.sock", "/tmp/x.sock", HostFileKind::Socket);
        assert!(check_resolved(&outside, "c", &with_socket, &facts()).is_err());

        let dev = resolved("/srv/shared/mem", "/dev/mem", HostFileKind::CharDevice);
        let e = check_resolved(&dev, "c", &policy(|_| {}), &facts()).unwrap_err();
        assert!(e.contains("allowDevices"), "{e}");
        let blk = resolved(
            "/srv/shared/sda",
            "/srv/shared/sda",
            HostFileKind::BlockDevice,
        );
        assert!(check_resolved(&blk, "c", &policy(|_| {}), &facts()).is_err());
        let devices = policy(|p| p.allow_devices = true);
        assert_eq!(check_resolved(&blk, "c", &devices, &facts()), Ok(()));
        assert!(
            check_resolved(&dev, "c", &devices, &facts()).is_err(),
            "allowed devices still need the allowlist"
        );
    }

    #[test]
    fn a_directory_holding_the_engine_is_refused_even_if_allowlisted() {
        let facts = HostFacts {
            allowlist: vec!["/".into()],
            engine_locations: vec!["/srv/engine/docker.sock".into()],
            protected: vec!["/srv/ecsctl".into()],
        };
        let open = policy(|p| p.allow_docker_socket = true);
        for real in [
            "/srv/engine",
            "/run",
            "/var/lib/docker/volumes/x/_data",
            "/srv",
            "/srv/ecsctl/store",
        ] {
            let r = resolved("/srv/x", real, HostFileKind::Directory);
            assert!(check_resolved(&r, "c", &open, &facts).is_err(), "{real}");
        }
    }
}
