//! A cluster's workload policy: what is dangerous (privileged, the host's namespaces, the
//! Docker socket, host paths outside an allowlist, added capabilities) is refused unless the
//! Cluster allows it, naming the rule. Checked at admission ([`check_objects`]) so the user
//! hears it on apply, and again by the task controller before a task's containers are made
//! ([`check`]), since a Cluster's policy may have tightened since.

use crate::{Problem, Rule};
use api::kinds::{ClusterPolicy, ClusterSpec};
use api::taskdef::{IpcMode, NetworkMode, PidMode, TaskDefinitionSpec};
use api::{Kind, Object, ObjectKey};
use store::{Store, StoreError};

/// Checks every Service and Task of one write against its cluster's policy: the task
/// definition and the Cluster may come in the same write (the newest then) or from the store.
pub fn check_objects(store: &dyn Store, objects: &[Object]) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for o in objects
        .iter()
        .filter(|o| matches!(o.kind, Kind::Service | Kind::Task))
    {
        let Some(td_ref) = o.spec.get("taskDefinition").and_then(|v| v.as_str()) else {
            continue;
        };
        let family = td_ref.split(':').next().unwrap_or(td_ref);
        let in_batch = objects.iter().find(|x| {
            x.kind == Kind::TaskDefinition && x.metadata.name == family && !td_ref.contains(':')
        });
        let td = match in_batch {
            Some(x) => x.spec_as::<TaskDefinitionSpec>().ok(),
            None => store
                .get(&ObjectKey::new(Kind::TaskDefinition, None, td_ref))?
                .and_then(|x| x.spec_as().ok()),
        };
        let Some(td) = td else { continue };
        let cluster = o.metadata.cluster_or_default();
        let in_batch_cluster = objects
            .iter()
            .find(|x| x.kind == Kind::Cluster && x.metadata.name == cluster);
        let cluster_spec: ClusterSpec = match in_batch_cluster {
            Some(c) => c.spec_as().unwrap_or_default(),
            None => store
                .get(&ObjectKey::new(Kind::Cluster, None, cluster))?
                .and_then(|c| c.spec_as().ok())
                .unwrap_or_default(),
        };
        if let Err(message) = check(&td, cluster, &cluster_spec.policy.unwrap_or_default()) {
            problems.push(Problem {
                object: o.key(),
                rule: Rule::ClusterPolicy,
                message,
            });
        }
    }
    Ok(problems)
}

/// Host paths of the Docker socket: mounting one hands over the whole engine.
const DOCKER_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run",
    "/run",
];

/// Checks a task definition against a cluster's policy; the error names the rule to change.
pub fn check(td: &TaskDefinitionSpec, cluster: &str, policy: &ClusterPolicy) -> Result<(), String> {
    let refuse = |what: String, rule: &str| {
        Err(format!(
            "refused by the policy of cluster {cluster}: {what} (allow it with spec.policy.{rule})"
        ))
    };
    let host_ns = td.network_mode() == NetworkMode::Host
        || td.pid_mode == Some(PidMode::Host)
        || td.ipc_mode == Some(IpcMode::Host);
    if host_ns && !policy.allow_host_network {
        return refuse(
            "the task uses the host's network, pid or ipc namespace".into(),
            "allowHostNetwork",
        );
    }
    for c in &td.container_definitions {
        if c.privileged == Some(true) && !policy.allow_privileged {
            return refuse(
                format!("container {} is privileged", c.name),
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
                format!("container {} adds capability {cap}", c.name),
                "allowPrivileged",
            );
        }
    }
    for v in &td.volumes {
        let Some(path) = v.host.as_ref().and_then(|h| h.source_path.as_deref()) else {
            continue;
        };
        let path = path.trim_end_matches('/');
        if DOCKER_SOCKETS.contains(&path) && !policy.allow_docker_socket {
            return refuse(
                format!("volume {} mounts the Docker socket ({path})", v.name),
                "allowDockerSocket",
            );
        }
        let allowed = policy.host_path_allowlist.iter().any(|a| {
            path == a.trim_end_matches('/')
                || path.starts_with(&format!("{}/", a.trim_end_matches('/')))
        });
        let socket_allowed = DOCKER_SOCKETS.contains(&path) && policy.allow_docker_socket;
        if !(allowed || socket_allowed) {
            return refuse(
                format!("volume {} mounts host path {path}", v.name),
                "hostPathAllowlist",
            );
        }
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
            host_path_allowlist: vec!["/srv/data".into()],
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
            json!({"volumes": [{"name": "v"}], "containerDefinitions": [{"name": "a", "image": "x", "memory": 8}]}),
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
    }
}
