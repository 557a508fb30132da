//! A cluster's workload policy: what is dangerous (privileged, the host's namespaces, the
//! Docker socket, host paths outside an allowlist, added capabilities) is refused unless the
//! Cluster allows it, naming the rule. Checked at admission ([`check_objects`]) so the user
//! hears it on apply, and again by the task controller before a task's containers are made
//! ([`check`]), since a Cluster's policy may have tightened since.

use crate::batch::{cluster_policy, task_definition};
use crate::{Problem, Rule};
use api::hostpath;
use api::kinds::ClusterPolicy;
use api::taskdef::{IpcMode, NetworkMode, PidMode, TaskDefinitionSpec};
use api::{Kind, Object};
use std::path::Path;
use store::{Store, StoreError};

/// Checks every Service and Task of one write against its cluster's policy: the task
/// definition and the Cluster may come in the same write (the newest then) or from the store.
pub fn check_objects(store: &dyn Store, objects: &[Object]) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for o in objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::Service | Kind::Task))
    {
        let Some(td) = task_definition(store, objects, o)? else {
            continue;
        };
        let cluster = o.metadata.cluster_or_default();
        let policy = cluster_policy(store, objects, cluster)?;
        if let Err(message) = check(&td, cluster, &policy) {
            problems.push(Problem {
                object: o.key(),
                rule: Rule::ClusterPolicy,
                message,
            });
        }
    }
    Ok(problems)
}

/// `dockerSecurityOptions` that only take privileges away: everything else (a seccomp,
/// AppArmor or SELinux profile, `systempaths=unconfined`) can loosen the container's
/// confinement and needs `allowPrivileged`.
const HARMLESS_SECURITY_OPTIONS: &[&str] = &["no-new-privileges", "no-new-privileges:true"];

/// Checks a task definition against a cluster's policy; the error names the rule to change.
/// Host paths are judged as written here; the task controller judges them again once
/// resolved on the host ([`crate::host::check_resolved`]), and binds what it resolved.
pub fn check(td: &TaskDefinitionSpec, cluster: &str, policy: &ClusterPolicy) -> Result<(), String> {
    let host_ns = td.network_mode() == NetworkMode::Host
        || td.pid_mode == Some(PidMode::Host)
        || td.ipc_mode == Some(IpcMode::Host);
    if host_ns && !policy.allow_host_network {
        return refuse(
            cluster,
            "the task uses the host's network, pid or ipc namespace",
            "allowHostNetwork",
        );
    }
    for c in &td.container_definitions {
        if c.privileged == Some(true) && !policy.allow_privileged {
            return refuse(
                cluster,
                &format!("container {} is privileged", c.name),
                "allowPrivileged",
            );
        }
        let added = c
            .linux_parameters
            .as_ref()
            .and_then(|l| l.capabilities.as_ref())
            .map(|k| &k.add);
        if let Some(cap) = added.and_then(|a| a.first())
            && !policy.allow_privileged
        {
            return refuse(
                cluster,
                &format!("container {} adds capability {cap}", c.name),
                "allowPrivileged",
            );
        }
        if let Some(opt) = c
            .docker_security_options
            .iter()
            .find(|o| !HARMLESS_SECURITY_OPTIONS.contains(&o.as_str()))
            && !policy.allow_privileged
        {
            return refuse(
                cluster,
                &format!(
                    "container {} sets dockerSecurityOptions {opt:?} (only no-new-privileges passes without it)",
                    c.name
                ),
                "allowPrivileged",
            );
        }
    }
    for v in &td.volumes {
        if let Some(path) = v.host.as_ref().and_then(|h| h.source_path.as_deref()) {
            check_written_path(&v.name, path, cluster, policy)?;
        }
    }
    Ok(())
}

/// A refusal naming the policy field that would allow it.
pub(crate) fn refuse(cluster: &str, what: &str, rule: &str) -> Result<(), String> {
    Err(format!(
        "refused by the policy of cluster {cluster}: {what} (allow it with spec.policy.{rule})"
    ))
}

/// A host volume's path as written: normal, not an engine's socket or state (unless the
/// socket is allowed), not a device (unless allowed), and inside the allowlist.
fn check_written_path(
    volume: &str,
    path: &str,
    cluster: &str,
    policy: &ClusterPolicy,
) -> Result<(), String> {
    if let Some(why) = hostpath::not_normal(path) {
        return Err(format!(
            "refused by the policy of cluster {cluster}: volume {volume}: host path {path:?} {why}"
        ));
    }
    let p = Path::new(path);
    if hostpath::is_engine_socket(p) {
        return if policy.allow_docker_socket {
            Ok(())
        } else {
            refuse(
                cluster,
                &format!("volume {volume} mounts a container engine's socket ({path})"),
                "allowDockerSocket",
            )
        };
    }
    if let Some(loc) = hostpath::engine_location_in(p, hostpath::engine_locations()) {
        return Err(crate::host::engine_location_refusal(
            cluster, volume, path, loc,
        ));
    }
    if hostpath::is_under_dev(p) && !policy.allow_devices {
        return refuse(
            cluster,
            &format!("volume {volume} mounts host path {path}, a device"),
            "allowDevices",
        );
    }
    // An entry validation refuses today (stored before the rule) allows nothing.
    let entries = policy
        .host_path_allowlist
        .iter()
        .filter(|a| hostpath::allowlist_entry_problem(a).is_none())
        .map(Path::new);
    if !crate::host::allowlisted(p, entries) {
        return refuse(
            cluster,
            &format!("volume {volume} mounts host path {path}"),
            "hostPathAllowlist",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn td(v: serde_json::Value) -> TaskDefinitionSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn dangerous_things_need_the_policy() {
        let open = ClusterPolicy {
            allow_privileged: true,
            allow_host_network: true,
            allow_docker_socket: true,
            allow_devices: true,
            host_path_allowlist: vec!["/srv/data".into(), "/dev/sda".into()],
            ..ClusterPolicy::default()
        };
        let closed = ClusterPolicy::default();
        let cases = [
            (
                json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 8, "privileged": true}]}),
                "allowPrivileged",
            ),
            (
                json!({"networkMode": "host", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
                "allowHostNetwork",
            ),
            (
                json!({"pidMode": "host", "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
                "allowHostNetwork",
            ),
            (
                json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 8,
                "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"]}}}]}),
                "allowPrivileged",
            ),
            (
                json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 8,
                "dockerSecurityOptions": ["no-new-privileges", "seccomp=unconfined"]}]}),
                "allowPrivileged",
            ),
            (
                json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 8,
                "dockerSecurityOptions": ["apparmor=unconfined"]}]}),
                "allowPrivileged",
            ),
            (
                json!({"volumes": [{"name": "d", "host": {"sourcePath": "/run/containerd/containerd.sock"}}],
                "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
                "allowDockerSocket",
            ),
            (
                json!({"volumes": [{"name": "d", "host": {"sourcePath": "/dev/sda"}}],
                "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
                "allowDevices",
            ),
            (
                json!({"volumes": [{"name": "d", "host": {"sourcePath": "/var/run/docker.sock"}}],
                "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
                "allowDockerSocket",
            ),
            (
                json!({"volumes": [{"name": "d", "host": {"sourcePath": "/srv/data/x"}}],
                "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
                "hostPathAllowlist",
            ),
        ];
        for (spec, rule) in cases {
            let t = td(spec);
            let e = check(&t, "default", &closed).unwrap_err();
            assert!(e.contains(rule), "{e}");
            assert_eq!(check(&t, "default", &open), Ok(()));
        }
        let fine = td(
            json!({"volumes": [{"name": "v"}], "containerDefinitions": [{"name": "a", "image": "x", "memory": 8,
            "dockerSecurityOptions": ["no-new-privileges", "no-new-privileges:true"]}]}),
        );
        assert_eq!(check(&fine, "default", &closed), Ok(()));
        let outside = td(
            json!({"volumes": [{"name": "d", "host": {"sourcePath": "/srv/database"}}],
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
        );
        assert!(
            check(&outside, "default", &open).is_err(),
            "/srv/database is not under /srv/data"
        );
        // A Cluster stored before the allowlist rule, allowing `/`, allows nothing.
        let legacy = ClusterPolicy {
            host_path_allowlist: vec!["/".into()],
            ..ClusterPolicy::default()
        };
        let etc = td(
            json!({"volumes": [{"name": "d", "host": {"sourcePath": "/etc"}}],
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
        );
        assert!(check(&etc, "default", &legacy).is_err());
        // Spellings of another path, and paths that hold the engine, pass no policy.
        for path in [
            "/srv/data/../../etc",
            "/srv/data//x",
            "/srv/data/./x",
            "/run",
            "/var",
            "/",
        ] {
            let t = td(
                json!({"volumes": [{"name": "d", "host": {"sourcePath": path}}],
                "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
            );
            let e = check(&t, "default", &open).unwrap_err();
            assert!(e.contains("volume d"), "{path}: {e}");
        }
    }
}
