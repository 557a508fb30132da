//! Right before a container is made: its host paths resolved on this machine and judged by
//! `admission::host::check_resolved`, its Docker volumes checked (or made) as `volumes`
//! decides, and the container spec changed to bind the resolved paths. The decisions are
//! pure and live elsewhere; this file does the I/O.

use super::containers::TaskIdentity;
use super::volumes::{VolumeDecision, decide, docker_volume};
use crate::Context;
use admission::host::{HostFacts, HostFileKind, ResolvedHostPath, check_resolved};
use api::cluster::ClusterPolicy;
use api::hostpath;
use api::taskdef::TaskDefinitionSpec;
use runtime::{ContainerSpec, MountSource, RuntimeError};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// Resolves `requested` on the host (every symlink followed) and says what it is.
pub fn resolve(volume: &str, requested: &str) -> Result<ResolvedHostPath, String> {
    let real = Path::new(requested).canonicalize().map_err(|e| {
        format!("volume {volume}: host path {requested} cannot be resolved: {e} (ecsctl binds only paths that exist)")
    })?;
    // The real path has no symlink left: its own metadata is the file's.
    let t = std::fs::symlink_metadata(&real)
        .map_err(|e| format!("volume {volume}: host path {}: {e}", real.display()))?
        .file_type();
    let kind = if t.is_dir() {
        HostFileKind::Directory
    } else if t.is_file() {
        HostFileKind::File
    } else if t.is_socket() {
        HostFileKind::Socket
    } else if t.is_char_device() {
        HostFileKind::CharDevice
    } else if t.is_block_device() {
        HostFileKind::BlockDevice
    } else {
        HostFileKind::Other
    };
    Ok(ResolvedHostPath {
        volume: volume.to_string(),
        requested: requested.to_string(),
        real,
        kind,
    })
}

/// The allowlist, the engine locations and the server's own paths, resolved as the volume's
/// path is (an entry that does not exist stays as written).
pub fn facts(policy: &ClusterPolicy, protected: &[PathBuf]) -> HostFacts {
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let both = |paths: &mut dyn Iterator<Item = &Path>| {
        let mut out: Vec<PathBuf> = Vec::new();
        for p in paths {
            out.push(p.to_path_buf());
            let r = real(p);
            if r != p {
                out.push(r);
            }
        }
        out
    };
    let engine_locations = both(&mut hostpath::engine_locations());
    // An entry that validation would refuse today (a Cluster stored before the rule, or a
    // link that leads to `/`) allows nothing.
    let allowlist = policy
        .host_path_allowlist
        .iter()
        .filter(|a| hostpath::allowlist_entry_problem(a).is_none())
        .map(|a| real(Path::new(a)))
        .filter(|r| {
            hostpath::engine_location_in(r, engine_locations.iter().map(PathBuf::as_path)).is_none()
        })
        .collect();
    HostFacts {
        allowlist,
        engine_locations,
        protected: both(&mut protected.iter().map(PathBuf::as_path)),
    }
}

/// Makes `cs` safe to create: every bind of a host path is resolved, judged and replaced by
/// its real path; every Docker volume is checked to be ours (or made). The error is the
/// task's stoppedReason.
pub async fn prepare_mounts(
    ctx: &Context,
    id: &TaskIdentity<'_>,
    td: &TaskDefinitionSpec,
    policy: &ClusterPolicy,
    cs: &mut ContainerSpec,
) -> Result<(), String> {
    // Host paths: on a blocking thread (file system calls), as late as possible.
    let binds: Vec<(usize, String, String)> = cs
        .mounts
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match &m.source {
            MountSource::Bind(p) => {
                let requested = p.display().to_string();
                let volume = td
                    .volumes
                    .iter()
                    .find(|v| {
                        v.host.as_ref().and_then(|h| h.source_path.as_deref())
                            == Some(requested.as_str())
                    })
                    .map_or_else(|| requested.clone(), |v| v.name.clone());
                Some((i, volume, requested))
            }
            _ => None,
        })
        .collect();
    if !binds.is_empty() {
        let policy = policy.clone();
        let cluster = id.cluster.to_string();
        let protected = ctx.protected_host_paths.clone();
        let resolved = tokio::task::spawn_blocking(move || {
            let facts = facts(&policy, &protected);
            binds
                .into_iter()
                .map(|(i, volume, requested)| {
                    let r = resolve(&volume, &requested)?;
                    check_resolved(&r, &cluster, &policy, &facts)?;
                    Ok((i, r.real))
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .await
        .map_err(|e| format!("cannot resolve host paths: {e}"))??;
        for (i, real) in resolved {
            cs.mounts[i].source = MountSource::Bind(real);
        }
    }
    // Docker volumes: ours, or made now with our labels.
    for v in &td.volumes {
        let Some(dv) = docker_volume(id, v) else {
            continue;
        };
        let used = cs
            .mounts
            .iter()
            .any(|m| matches!(&m.source, MountSource::Volume(n) if *n == dv.name));
        if !used {
            continue;
        }
        let found = match ctx.runtime.inspect_volume(&dv.name).await {
            Ok(info) => Some(info),
            Err(RuntimeError::NotFound(_)) => None,
            Err(e) => return Err(format!("volume {}: {e}", dv.volume)),
        };
        match decide(&dv, found.as_ref()) {
            VolumeDecision::Use => {}
            VolumeDecision::Create => ctx
                .runtime
                .create_volume(&dv.name, &dv.labels, &Default::default())
                .await
                .map_err(|e| format!("volume {}: cannot create {}: {e}", dv.volume, dv.name))?,
            VolumeDecision::Refuse(reason) => return Err(reason),
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resolution_follows_links_and_tells_what_the_file_is() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("dir")).unwrap();
        std::os::unix::fs::symlink(root.join("dir"), root.join("link")).unwrap();
        std::os::unix::fs::symlink("/dev/null", root.join("null")).unwrap();
        let _listener = std::os::unix::net::UnixListener::bind(root.join("s.sock")).unwrap();
        std::os::unix::fs::symlink(root.join("s.sock"), root.join("innocent")).unwrap();

        let at = |p: &str| resolve("v", &root.join(p).display().to_string()).unwrap();
        assert_eq!(
            (at("link").real, at("link").kind),
            (root.join("dir"), HostFileKind::Directory)
        );
        assert_eq!(at("null").real, Path::new("/dev/null"));
        assert_eq!(at("null").kind, HostFileKind::CharDevice);
        assert_eq!(at("innocent").kind, HostFileKind::Socket);
        let e = resolve("v", &root.join("missing").display().to_string()).unwrap_err();
        assert!(
            e.contains("volume v") && e.contains("cannot be resolved"),
            "{e}"
        );

        std::os::unix::fs::symlink("/", root.join("to-root")).unwrap();
        let facts = facts(
            &ClusterPolicy {
                host_path_allowlist: vec![
                    root.join("link").display().to_string(),
                    "/".to_string(),
                    root.join("to-root").display().to_string(),
                ],
                ..ClusterPolicy::default()
            },
            &[root.join("link")],
        );
        assert_eq!(facts.protected, [root.join("link"), root.join("dir")]);
        assert_eq!(
            facts.allowlist,
            [root.join("dir")],
            "entries are resolved too"
        );
        assert!(
            facts
                .engine_locations
                .iter()
                .any(|l| l == Path::new("/var/run/docker.sock"))
        );
    }
}
