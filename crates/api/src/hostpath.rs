//! Host paths as the cluster policy judges them, without touching the host: what a normal
//! absolute path is, where container engines keep their sockets and state, and which paths
//! hold them. Validation uses it on what users write; admission uses it again on the paths the
//! task controller resolved on the host (symlinks followed), which is the check that counts.

use std::path::{Component, Path};

/// File names of container engine API sockets: whoever reaches one runs containers as root
/// on the host. `ecsctl.sock` is ecsctl's own API (its owner is admin).
pub const ENGINE_SOCKET_NAMES: &[&str] = &[
    "docker.sock",
    "containerd.sock",
    "cri-dockerd.sock",
    "podman.sock",
    "crio.sock",
    "dockershim.sock",
    "buildkitd.sock",
    "ecsctl.sock",
];

/// Where engines keep their sockets (both spellings of `/run`; resolution at task start also
/// compares the real locations).
pub const ENGINE_SOCKETS: &[&str] = &[
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/docker/containerd/containerd.sock",
    "/var/run/docker/containerd/containerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run/cri-dockerd.sock",
    "/run/podman/podman.sock",
    "/var/run/podman/podman.sock",
    "/run/crio/crio.sock",
    "/var/run/crio/crio.sock",
    "/run/buildkit/buildkitd.sock",
];

/// Directories of engine state: inside them are every container's files and every volume,
/// other clusters' included. A host path inside one is refused like a socket.
pub const ENGINE_STATE_DIRS: &[&str] = &[
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/containers",
    "/run/containerd",
    "/var/run/containerd",
    "/run/docker",
    "/var/run/docker",
];

/// Why a path is not normal: `None` for an absolute path with only normal segments (`/a/b`,
/// not `a/b`, `/a/../b`, `/a/./b`, `/a//b`, `/a/b/`); `/` itself is normal.
pub fn not_normal(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("is empty");
    }
    if !path.starts_with('/') {
        return Some("must be an absolute path (starting with '/')");
    }
    if path == "/" {
        return None;
    }
    if path.contains('\0') {
        return Some("must not contain a NUL character");
    }
    let segments = path[1..].split('/');
    for seg in segments {
        match seg {
            "" => return Some("must not contain empty segments ('//' or a trailing '/')"),
            "." => return Some("must not contain '.' segments"),
            ".." => return Some("must not contain '..' segments"),
            _ => {}
        }
    }
    None
}

/// Whether `p` is `dir` or lies inside it, segment by segment (`/srv/database` is not inside
/// `/srv/data`).
pub fn within_or_equal(p: &Path, dir: &Path) -> bool {
    p.starts_with(dir)
}

/// Whether `p` names an engine socket: one of the known locations, or a file with a known
/// engine socket name anywhere.
pub fn is_engine_socket(p: &Path) -> bool {
    ENGINE_SOCKETS.iter().any(|s| p == Path::new(s))
        || p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| ENGINE_SOCKET_NAMES.contains(&n))
}

/// The engine location that `p` holds or lies in, if any: `p` is an ancestor of (or is) a
/// known engine socket or state directory, or lies inside a state directory. `/`, `/run`,
/// `/var` and `/var/lib/docker/volumes` all count.
pub fn engine_location_in<'a>(
    p: &Path,
    locations: impl IntoIterator<Item = &'a Path>,
) -> Option<&'a Path> {
    locations
        .into_iter()
        .find(|loc| loc.starts_with(p) || p.starts_with(loc))
}

/// The known engine locations (sockets and state directories), as written.
pub fn engine_locations() -> impl Iterator<Item = &'static Path> {
    ENGINE_SOCKETS
        .iter()
        .chain(ENGINE_STATE_DIRS)
        .map(|s| Path::new(*s))
}

/// Why a host path may not be on a Cluster's `hostPathAllowlist`, if it may not: it must be
/// normal, and must neither hold nor lie in an engine's socket or state (allowing `/run`
/// would hand out `/run/docker.sock` to every workload of the cluster).
pub fn allowlist_entry_problem(entry: &str) -> Option<String> {
    if let Some(why) = not_normal(entry) {
        return Some(format!("{entry:?} {why}"));
    }
    let p = Path::new(entry);
    if is_engine_socket(p) {
        return Some(format!(
            "{entry} is a container engine's socket: it is never allowlisted (mounting it needs spec.policy.allowDockerSocket)"
        ));
    }
    engine_location_in(p, engine_locations()).map(|loc| {
        format!(
            "{entry} holds or lies in {}, a container engine's socket or state: allowlist the directories workloads need instead",
            loc.display()
        )
    })
}

/// Whether the path lies in `/dev` (devices are judged by `allowDevices`).
pub fn is_under_dev(p: &Path) -> bool {
    p.starts_with("/dev")
}

/// The path's segments are all normal (a helper for callers holding a `Path`).
pub fn is_normal_path(p: &Path) -> bool {
    p.to_str().is_some_and(|s| not_normal(s).is_none())
        && p.components()
            .skip(1)
            .all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths() {
        for ok in ["/", "/srv", "/srv/data", "/a/b.c/..d", "/a/.hidden"] {
            assert_eq!(not_normal(ok), None, "{ok}");
            assert!(is_normal_path(Path::new(ok)), "{ok}");
        }
        for bad in [
            "",
            "srv/data",
            "./srv",
            "/etc//shadow",
            "/tmp/x/../..",
            "/var/run/./docker.sock",
            "/srv/data/",
            "/..",
            "//etc",
            "/a/b/.",
        ] {
            assert!(not_normal(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn engine_sockets_by_place_and_name() {
        for s in [
            "/var/run/docker.sock",
            "/run/containerd/containerd.sock",
            "/home/u/.docker/run/docker.sock",
            "/srv/podman.sock",
        ] {
            assert!(is_engine_socket(Path::new(s)), "{s}");
        }
        assert!(!is_engine_socket(Path::new("/srv/data/app.sock")));
        let loc = |p: &str| engine_location_in(Path::new(p), engine_locations()).is_some();
        for holds in [
            "/",
            "/run",
            "/var",
            "/var/run",
            "/var/lib",
            "/var/lib/docker/volumes",
        ] {
            assert!(loc(holds), "{holds}");
        }
        for fine in ["/srv", "/var/lib/app", "/run/app", "/home"] {
            assert!(!loc(fine), "{fine}");
        }
    }

    #[test]
    fn allowlist_entries() {
        for bad in [
            "/",
            "/run",
            "/var/run",
            "/var",
            "/run/docker.sock",
            "/srv//x",
            "srv",
        ] {
            assert!(allowlist_entry_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(allowlist_entry_problem("/srv/data"), None);
    }
}
