//! What a cluster's workloads may open on the host: the server runs as root, so a
//! LoadBalancer listener (served by the server itself) or a task's `hostPort` could take a
//! privileged port (below 1024: 22, 80, 443...) that the host's own services expect, and a
//! listener on a non-loopback address exposes services to other machines. Both need the
//! Cluster's policy to say so ([`Rule::ListenerPolicy`]):
//!
//! - `spec.policy.allowPrivilegedPorts`: listeners and bridge-mode `hostPort`s below 1024;
//! - `spec.policy.allowPublicListeners`: listeners on an address other than loopback.
//!
//! LoadBalancers belong to a cluster (`metadata.cluster`, default `default`) and answer to
//! its policy. Task host ports are published on 127.0.0.1 only, so only their number counts.
//! (Host-network tasks bind whatever they like, and need `allowHostNetwork` already.)

use crate::batch::{cluster_policy, task_definition};
use crate::{Problem, Rule};
use api::kinds::{ClusterPolicy, LoadBalancerSpec};
use api::taskdef::{NetworkMode, TaskDefinitionSpec};
use api::{Kind, Object};
use std::net::IpAddr;
use store::{Store, StoreError};

/// The first port that is not privileged.
const FIRST_UNPRIVILEGED_PORT: u16 = 1024;

/// Checks every LoadBalancer, Service and Task of one write against its cluster's policy (the
/// Cluster and the task definition may come in the same write, the newest then, or from the
/// store).
pub fn check_objects(store: &dyn Store, objects: &[Object]) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for o in objects {
        let messages = match o.kind {
            Kind::LoadBalancer => {
                let Ok(spec) = o.spec_as::<LoadBalancerSpec>() else {
                    continue; // validation reported it
                };
                let cluster = o.metadata.cluster_or_default();
                check_load_balancer(&spec, cluster, &cluster_policy(store, objects, cluster)?)
            }
            Kind::Service | Kind::Task => {
                let Some(td) = task_definition(store, objects, o)? else {
                    continue;
                };
                let cluster = o.metadata.cluster_or_default();
                check_host_ports(&td, cluster, &cluster_policy(store, objects, cluster)?)
            }
            _ => continue,
        };
        problems.extend(messages.into_iter().map(|message| Problem {
            object: o.key(),
            rule: Rule::ListenerPolicy,
            message,
        }));
    }
    Ok(problems)
}

/// Why each listener of `spec` may not open, under `policy` of `cluster`. Pure.
pub fn check_load_balancer(
    spec: &LoadBalancerSpec,
    cluster: &str,
    policy: &ClusterPolicy,
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in spec.listeners.iter().enumerate() {
        let port = l.port.get();
        if port < FIRST_UNPRIVILEGED_PORT && !policy.allow_privileged_ports {
            out.push(refusal(
                cluster,
                format!("spec.listeners[{i}].port {port} is a privileged port (below 1024)"),
                "allowPrivilegedPorts: true",
            ));
        }
        if let Some(ip) = listener_ip(l.address.as_deref())
            && !ip.is_loopback()
            && !policy.allow_public_listeners
        {
            out.push(refusal(
                cluster,
                format!(
                    "spec.listeners[{i}].address {ip} is reachable from other machines (only loopback is allowed)"
                ),
                "allowPublicListeners: true",
            ));
        }
    }
    out
}

/// Why each privileged `hostPort` of a bridge-mode task definition may not be published,
/// under `policy` of `cluster`. Pure.
pub fn check_host_ports(
    td: &TaskDefinitionSpec,
    cluster: &str,
    policy: &ClusterPolicy,
) -> Vec<String> {
    if td.network_mode() != NetworkMode::Bridge || policy.allow_privileged_ports {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, c) in td.container_definitions.iter().enumerate() {
        for (j, p) in c.port_mappings.iter().enumerate() {
            let Some(host) = p.host_port.map(|h| h.0) else {
                continue;
            };
            // 0 asks for an ephemeral port, which is never privileged.
            if host != 0 && host < FIRST_UNPRIVILEGED_PORT {
                out.push(refusal(
                    cluster,
                    format!(
                        "containerDefinitions[{i}].portMappings[{j}].hostPort {host} (container {}) is a privileged port (below 1024)",
                        c.name
                    ),
                    "allowPrivilegedPorts: true",
                ));
            }
        }
    }
    out
}

fn refusal(cluster: &str, what: String, allow: &str) -> String {
    format!(
        "refused by the policy of cluster {cluster}: {what} (allow it with spec.policy.{allow} on cluster {cluster})"
    )
}

/// The address a listener binds, as the load balancer reads it (default and `localhost`:
/// 127.0.0.1); `None` when it is not an address (validation refuses it).
fn listener_ip(address: Option<&str>) -> Option<IpAddr> {
    match address.map(str::trim) {
        None | Some("") | Some("localhost") => Some(IpAddr::from([127, 0, 0, 1])),
        Some(text) => text
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lb(v: serde_json::Value) -> LoadBalancerSpec {
        serde_json::from_value(v).unwrap()
    }

    fn td(v: serde_json::Value) -> TaskDefinitionSpec {
        serde_json::from_value(v).unwrap()
    }

    fn open() -> ClusterPolicy {
        ClusterPolicy {
            allow_privileged_ports: true,
            allow_public_listeners: true,
            ..ClusterPolicy::default()
        }
    }

    #[test]
    fn privileged_ports_and_public_addresses_need_the_policy() {
        let spec = lb(json!({"listeners": [
            {"port": 80, "protocol": "HTTP"},
            {"port": 8080, "protocol": "HTTP", "address": "0.0.0.0"},
            {"port": 8081, "protocol": "TCP", "address": "::1"},
            {"port": 8082, "protocol": "TCP", "address": "localhost"},
            {"port": 1024, "protocol": "HTTP", "address": "127.0.0.2"}
        ]}));
        let refused = check_load_balancer(&spec, "default", &ClusterPolicy::default());
        assert_eq!(refused.len(), 2, "{refused:#?}");
        assert!(
            refused[0].contains("spec.listeners[0].port 80"),
            "{}",
            refused[0]
        );
        assert!(
            refused[0].contains("spec.policy.allowPrivilegedPorts"),
            "{}",
            refused[0]
        );
        assert!(
            refused[1].contains("spec.listeners[1].address 0.0.0.0"),
            "{}",
            refused[1]
        );
        assert!(
            refused[1].contains("spec.policy.allowPublicListeners"),
            "{}",
            refused[1]
        );
        assert!(check_load_balancer(&spec, "default", &open()).is_empty());
        let only_ports = ClusterPolicy {
            allow_privileged_ports: true,
            ..ClusterPolicy::default()
        };
        assert_eq!(check_load_balancer(&spec, "default", &only_ports).len(), 1);
    }

    #[test]
    fn privileged_host_ports_of_bridge_tasks_need_the_policy() {
        let bridge = td(
            json!({"containerDefinitions": [{"name": "app", "image": "x", "memory": 8,
            "portMappings": [{"containerPort": 80, "hostPort": 80}, {"containerPort": 81, "hostPort": 0},
                             {"containerPort": 82}, {"containerPort": 83, "hostPort": 8083}]}]}),
        );
        let refused = check_host_ports(&bridge, "prod", &ClusterPolicy::default());
        assert_eq!(refused.len(), 1, "{refused:#?}");
        assert!(
            refused[0]
                .contains("containerDefinitions[0].portMappings[0].hostPort 80 (container app)")
                && refused[0].contains("cluster prod"),
            "{}",
            refused[0]
        );
        assert!(check_host_ports(&bridge, "prod", &open()).is_empty());
        let awsvpc = td(
            json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "app",
            "image": "x", "memory": 8, "portMappings": [{"containerPort": 80, "hostPort": 80}]}]}),
        );
        assert!(
            check_host_ports(&awsvpc, "prod", &ClusterPolicy::default()).is_empty(),
            "awsvpc publishes on ephemeral host ports"
        );
    }
}
