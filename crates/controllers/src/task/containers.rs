//! From a task definition's container to the runtime's container spec: names, ownership
//! labels, ports per network mode, resources, health checks, mounts. Pure functions.

use api::task::TaskOverride;
use api::taskdef::{
    ContainerDefinition, NetworkMode, Protocol as EcsProtocol, TaskDefinitionSpec, Volume,
};
use runtime::labels;
use runtime::{
    ContainerId, ContainerSpec, HealthSpec, MountSource, MountSpec, NetworkAttach, PortSpec,
    Protocol, Ulimit,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::names::{container_name, netns_name};

/// Image of the container that holds an awsvpc task's network namespace (see `pause`).
pub const PAUSE_IMAGE: &str = "ecsctl/pause:1";
/// Docker's smallest CPU share count; ECS raises smaller values to it.
const MIN_CPU_SHARES: u64 = 2;
const MIB: i64 = 1024 * 1024;

/// Who a task is, for names and labels.
#[derive(Debug, Clone)]
pub struct TaskIdentity<'a> {
    pub task_id: &'a str,
    pub cluster: &'a str,
    /// `family:N`.
    pub task_definition: &'a str,
    pub service: Option<&'a str>,
    /// The owning server's id (`ecsctl.instance`).
    pub instance: &'a str,
    /// Further DNS names of an awsvpc task on the cluster network (Service Connect's).
    pub aliases: &'a [String],
    /// The host address its ports are published on: loopback on the server's own instance,
    /// an agent's `--address` (where the server's load balancers reach it) elsewhere.
    pub publish_on: &'a str,
    /// The agent's task endpoint: each container gets its metadata URI, and with a task
    /// role the credentials URI and token (none when the agent serves no endpoint).
    pub endpoint: Option<&'a super::endpoint::TaskEndpoint>,
}

impl TaskIdentity<'_> {
    /// The labels every container of this task carries (`runtime::labels`).
    pub fn labels(&self, container: &str) -> BTreeMap<String, String> {
        let mut l = BTreeMap::from([
            (labels::MANAGED.to_string(), "true".to_string()),
            (labels::CLUSTER.to_string(), self.cluster.to_string()),
            (labels::TASK.to_string(), self.task_id.to_string()),
            (labels::CONTAINER.to_string(), container.to_string()),
            (
                labels::TASKDEF.to_string(),
                self.task_definition.to_string(),
            ),
            (labels::INSTANCE.to_string(), self.instance.to_string()),
        ]);
        if let Some(s) = self.service {
            l.insert(labels::SERVICE.to_string(), s.to_string());
        }
        l
    }
}

/// Docker network of a cluster's awsvpc tasks, one per server (`instance`): service names
/// are DNS aliases on it, so two servers (or test runs) on one engine must not share it, or
/// `http://api:8080` could reach the other's `api`. The cluster's ECS name is kept (Docker
/// network names take case and `_`); a name too long for Docker is hashed.
pub fn cluster_network(instance: &str, cluster: &str) -> String {
    super::names::bounded(
        format!("ecsctl-{cluster}-{instance}"),
        &["network", instance, cluster],
    )
}

/// The DNS names a task's network namespace answers to on the cluster network: its service's
/// DNS alias (`Web_App` -> `web-app`, see `api::names::dns_alias`), then Service Connect's
/// names, each once.
pub fn network_aliases(id: &TaskIdentity<'_>) -> Vec<String> {
    let mut out: Vec<String> = id.service.map(api::names::dns_alias).into_iter().collect();
    for a in id.aliases {
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    out
}

/// The container that holds an awsvpc task's network namespace: it joins the cluster network
/// (with the service name as a DNS alias) and publishes every container's ports on loopback.
pub fn netns_spec(id: &TaskIdentity<'_>, td: &TaskDefinitionSpec) -> ContainerSpec {
    let mut labels = id.labels("");
    labels.remove(labels::CONTAINER);
    labels.insert(labels::NETNS.to_string(), "true".to_string());
    ContainerSpec {
        labels,
        ports: td
            .container_definitions
            .iter()
            .flat_map(|c| ports(c, NetworkMode::Awsvpc, id.publish_on))
            .collect(),
        network: NetworkAttach::Named {
            network: cluster_network(id.instance, id.cluster),
            aliases: network_aliases(id),
        },
        hostname: Some(id.task_id.chars().take(12).collect()),
        ..ContainerSpec::new(netns_name(id), PAUSE_IMAGE)
    }
}

/// The runtime spec of one container of a task.
pub fn container_spec(
    id: &TaskIdentity<'_>,
    td: &TaskDefinitionSpec,
    c: &ContainerDefinition,
    netns: Option<&ContainerId>,
    overrides: Option<&TaskOverride>,
) -> ContainerSpec {
    let mode = td.network_mode();
    let over = overrides.and_then(|o| o.container_overrides.iter().find(|co| co.name == c.name));
    let mut env: Vec<(String, String)> = c
        .environment
        .iter()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect();
    for e in over.map(|o| o.environment.as_slice()).unwrap_or_default() {
        env.retain(|(k, _)| *k != e.name);
        env.push((e.name.clone(), e.value.clone()));
    }
    // ECS's task endpoint variables win over the definition's own, as ECS's agent sets them.
    if let Some(ep) = id.endpoint {
        for (k, v) in ep.env(id.cluster, id.task_id, &c.name, td.task_role_arn.is_some()) {
            env.retain(|(n, _)| *n != k);
            env.push((k, v));
        }
    }
    let mut labels = c.docker_labels.clone();
    labels.extend(id.labels(&c.name)); // ours win
    let network = match (mode, netns) {
        (NetworkMode::Awsvpc, Some(ns)) => NetworkAttach::Container(ns.clone()),
        (NetworkMode::Awsvpc, None) | (NetworkMode::Bridge, _) => NetworkAttach::Bridge,
        (NetworkMode::Host, _) => NetworkAttach::Host,
        (NetworkMode::None, _) => NetworkAttach::None,
    };
    let cpu = over.and_then(|o| o.cpu).or(c.cpu).map(|u| u64::from(u.0));
    let memory =
        admission::bounds::memory::hard_limit_mib(td, c, overrides).map(|m| i64::from(m) * MIB);
    let lp = c.linux_parameters.as_ref();
    let mut mounts = mounts_of(id, td, c);
    for t in lp.map(|l| l.tmpfs.as_slice()).unwrap_or_default() {
        mounts.push(MountSpec {
            source: MountSource::Tmpfs {
                size: Some(i64::from(t.size) * MIB),
            },
            target: t.container_path.clone(),
            read_only: false,
        });
    }
    ContainerSpec {
        labels,
        env,
        command: over
            .and_then(|o| o.command.clone())
            .or_else(|| c.command.clone()),
        entrypoint: c.entry_point.clone(),
        working_dir: c.working_directory.clone(),
        user: c.user.clone(),
        ports: if mode == NetworkMode::Bridge {
            ports(c, mode, id.publish_on)
        } else {
            Vec::new()
        },
        network,
        cpu_shares: cpu.filter(|u| *u > 0).map(|u| u.max(MIN_CPU_SHARES)),
        // Task-level cpu is a hard cap; each container is capped at it (Docker has no task cgroup).
        nano_cpus: td
            .cpu
            .filter(|u| u.0 > 0)
            .map(|u| i64::from(u.0) * 1_000_000_000 / 1024),
        memory_bytes: memory,
        memory_reservation_bytes: c.memory_reservation.map(|m| i64::from(m.0) * MIB),
        // A check Docker would ignore (its first word is not CMD or CMD-SHELL) is sent as
        // NONE: the container runs without one, as on ECS, and the image's own is off too.
        health_check: c.health_check.as_ref().map(|h| HealthSpec {
            test: if h.is_ignored() {
                vec!["NONE".to_string()]
            } else {
                h.command.clone()
            },
            interval: Duration::from_secs(u64::from(h.interval_secs())),
            timeout: Duration::from_secs(u64::from(h.timeout_secs())),
            retries: h.retries(),
            start_period: Duration::from_secs(u64::from(h.start_period_secs())),
        }),
        mounts,
        ulimits: c
            .ulimits
            .iter()
            .map(|u| Ulimit {
                name: format!("{:?}", u.name).to_ascii_lowercase(),
                soft: u.soft_limit,
                hard: u.hard_limit,
            })
            .collect(),
        readonly_rootfs: c.readonly_root_filesystem.unwrap_or(false),
        privileged: c.privileged.unwrap_or(false),
        cap_add: lp
            .and_then(|l| l.capabilities.as_ref())
            .map(|k| k.add.clone())
            .unwrap_or_default(),
        cap_drop: lp
            .and_then(|l| l.capabilities.as_ref())
            .map(|k| k.drop.clone())
            .unwrap_or_default(),
        init: lp.and_then(|l| l.init_process_enabled),
        stop_timeout_secs: c.stop_timeout.map(|t| i64::from(t.get())),
        extra_hosts: c
            .extra_hosts
            .iter()
            .map(|h| (h.hostname.clone(), h.ip_address.clone()))
            .collect(),
        dns: c.dns_servers.clone(),
        hostname: c.hostname.clone(),
        tty: c.pseudo_terminal.unwrap_or(false),
        open_stdin: c.interactive.unwrap_or(false),
        shm_size: lp
            .and_then(|l| l.shared_memory_size)
            .map(|s| i64::from(s) * MIB),
        sysctls: c
            .system_controls
            .iter()
            .map(|s| (s.namespace.clone(), s.value.clone()))
            .collect(),
        security_opt: c.docker_security_options.clone(),
        ..ContainerSpec::new(container_name(id, &c.name), c.image.clone())
    }
}

/// Published ports, on `address`: bridge keeps the requested host port (0 or none =
/// ephemeral); awsvpc publishes on the namespace holder with ephemeral host ports, since
/// tasks share the host.
fn ports(c: &ContainerDefinition, mode: NetworkMode, address: &str) -> Vec<PortSpec> {
    c.port_mappings
        .iter()
        .filter_map(|p| {
            let container_port = p.container_port?.0;
            let host_port = match mode {
                NetworkMode::Bridge => p.host_port.map(|h| h.0).filter(|h| *h != 0),
                _ => None,
            };
            Some(PortSpec {
                container_port,
                host_port,
                protocol: match p.protocol {
                    Some(EcsProtocol::Udp) => Protocol::Udp,
                    _ => Protocol::Tcp,
                },
                host_ip: Some(address.to_string()),
            })
        })
        .collect()
}

/// Where a task volume lives on the host: a bind of the path as written (the task controller
/// binds the resolved path instead, see `host_paths`), or a Docker volume named by `volumes`.
pub fn volume_source(id: &TaskIdentity<'_>, v: &Volume) -> MountSource {
    match super::volumes::docker_volume(id, v) {
        Some(dv) => MountSource::Volume(dv.name),
        None => MountSource::Bind(PathBuf::from(
            v.host
                .as_ref()
                .and_then(|h| h.source_path.clone())
                .unwrap_or_default(),
        )),
    }
}

/// A container's mount points, and those it takes from other containers (volumesFrom).
fn mounts_of(
    id: &TaskIdentity<'_>,
    td: &TaskDefinitionSpec,
    c: &ContainerDefinition,
) -> Vec<MountSpec> {
    let own = |c: &ContainerDefinition, force_ro: bool| -> Vec<MountSpec> {
        c.mount_points
            .iter()
            .filter_map(|m| {
                let v = td.volumes.iter().find(|v| v.name == m.source_volume)?;
                Some(MountSpec {
                    source: volume_source(id, v),
                    target: m.container_path.clone(),
                    read_only: force_ro || m.read_only.unwrap_or(false),
                })
            })
            .collect()
    };
    let mut mounts = own(c, false);
    for vf in &c.volumes_from {
        if let Some(src) = td
            .container_definitions
            .iter()
            .find(|x| x.name == vf.source_container)
        {
            for m in own(src, vf.read_only.unwrap_or(false)) {
                if !mounts.iter().any(|x| x.target == m.target) {
                    mounts.push(m);
                }
            }
        }
    }
    mounts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn td(v: serde_json::Value) -> TaskDefinitionSpec {
        serde_json::from_value(v).unwrap()
    }

    const ID: TaskIdentity<'static> = TaskIdentity {
        task_id: "abc",
        cluster: "default",
        task_definition: "web:3",
        service: Some("web"),
        instance: "i1",
        aliases: &[],
        publish_on: "127.0.0.1",
        endpoint: None,
    };

    #[test]
    fn task_endpoint_variables_and_credentials_only_with_a_role() {
        let ep = crate::task::endpoint::TaskEndpoint::new("http://169.254.170.2:4100", b"key");
        let id = TaskIdentity {
            endpoint: Some(&ep),
            ..ID
        };
        let plain = td(
            json!({"containerDefinitions": [{"name": "app", "image": "img", "memory": 8,
            "environment": [{"name": "ECS_CONTAINER_METADATA_URI_V4", "value": "spoofed"}]}]}),
        );
        let s = container_spec(&id, &plain, &plain.container_definitions[0], None, None);
        let names: Vec<&str> = s.env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["ECS_CONTAINER_METADATA_URI_V4"]);
        assert_eq!(
            s.env[0].1,
            format!(
                "http://169.254.170.2:4100/v4/{}",
                ep.metadata_id("default", "abc", "app")
            )
        );
        let role = td(json!({"taskRoleArn": "arn:aws:iam::1:role/app",
            "containerDefinitions": [{"name": "app", "image": "img", "memory": 8}]}));
        let s = container_spec(&id, &role, &role.container_definitions[0], None, None);
        let get = |k: &str| s.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(
            get("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
            Some(ep.token("default", "abc"))
        );
        assert!(get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some());
        // No endpoint (the agent could not serve one): no variables.
        let s = container_spec(&ID, &role, &role.container_definitions[0], None, None);
        assert!(s.env.is_empty());
    }

    #[test]
    fn labels_names_resources_and_health() {
        let td = td(json!({"cpu": "1 vCPU", "containerDefinitions": [{
            "name": "app", "image": "img", "memory": 128, "memoryReservation": 64, "cpu": 1,
            "dockerLabels": {"ecsctl.task": "spoofed", "team": "shop"},
            "portMappings": [{"containerPort": 80}, {"containerPort": 53, "hostPort": 5353, "protocol": "udp"}],
            "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5},
            "environment": [{"name": "A", "value": "1"}],
            "stopTimeout": 7
        }]}));
        let s = container_spec(&ID, &td, &td.container_definitions[0], None, None);
        assert_eq!(s.name, "ecsctl-i1.default.abc.app");
        assert_eq!(
            s.labels["ecsctl.task"], "abc",
            "our labels win over dockerLabels"
        );
        assert_eq!(s.labels["team"], "shop");
        assert_eq!(s.labels["ecsctl.taskdef"], "web:3");
        assert_eq!(s.labels["ecsctl.service"], "web");
        assert_eq!(s.labels["ecsctl.managed"], "true");
        assert_eq!(s.labels["ecsctl.instance"], "i1");
        assert_eq!(s.memory_bytes, Some(128 * MIB));
        assert_eq!(s.memory_reservation_bytes, Some(64 * MIB));
        assert_eq!(s.cpu_shares, Some(2));
        assert_eq!(s.nano_cpus, Some(1_000_000_000));
        assert_eq!(s.ports.len(), 2);
        assert_eq!(
            s.ports[0].host_port, None,
            "bridge without hostPort is ephemeral"
        );
        assert_eq!(
            (s.ports[1].host_port, s.ports[1].protocol),
            (Some(5353), Protocol::Udp)
        );
        let h = s.health_check.unwrap();
        assert_eq!(
            (h.interval, h.timeout, h.retries),
            (Duration::from_secs(5), Duration::from_secs(5), 3)
        );
        assert_eq!(s.stop_timeout_secs, Some(7));
        assert_eq!(s.env, vec![("A".to_string(), "1".to_string())]);
    }

    #[test]
    fn awsvpc_joins_the_namespace_and_publishes_there() {
        let td = td(
            json!({"networkMode": "awsvpc", "volumes": [{"name": "www"}], "containerDefinitions": [
                {"name": "app", "image": "img", "memory": 64, "portMappings": [{"containerPort": 8080}],
                 "mountPoints": [{"sourceVolume": "www", "containerPath": "/www"}]},
                {"name": "side", "image": "img", "memory": 64, "volumesFrom": [{"sourceContainer": "app", "readOnly": true}]}
            ]}),
        );
        let ns = ContainerId("ns1".into());
        let app = container_spec(&ID, &td, &td.container_definitions[0], Some(&ns), None);
        assert_eq!(app.network, NetworkAttach::Container(ns.clone()));
        assert!(app.ports.is_empty());
        assert_eq!(
            app.mounts[0].source,
            MountSource::Volume("ecsctl-i1.default.abc.www".into())
        );
        let side = container_spec(&ID, &td, &td.container_definitions[1], Some(&ns), None);
        assert_eq!((side.mounts.len(), side.mounts[0].read_only), (1, true));
        let n = netns_spec(&ID, &td);
        assert_eq!(n.ports.len(), 1);
        assert_eq!(n.labels[labels::NETNS], "true");
        assert!(!n.labels.contains_key("ecsctl.container"));
        assert_eq!(
            n.network,
            NetworkAttach::Named {
                network: "ecsctl-default-i1".into(),
                aliases: vec!["web".into()]
            }
        );
    }

    #[test]
    fn ecs_names_keep_their_case_in_docker_and_give_dns_aliases() {
        let id = TaskIdentity {
            task_id: "abc",
            cluster: "Shop_Prod",
            task_definition: "My_App:1",
            service: Some("Web_App"),
            instance: "i1",
            aliases: &["api".to_string(), "web-app".to_string()],
            publish_on: "127.0.0.1",
            endpoint: None,
        };
        let td = td(json!({"networkMode": "awsvpc", "containerDefinitions": [
            {"name": "App_1", "image": "img", "memory": 64,
             "healthCheck": {"command": ["/bin/check"]}}]}));
        let n = netns_spec(&id, &td);
        assert_eq!(
            n.network,
            NetworkAttach::Named {
                network: "ecsctl-Shop_Prod-i1".into(),
                aliases: vec!["web-app".into(), "api".into()]
            }
        );
        assert_eq!(n.labels[labels::CLUSTER], "Shop_Prod");
        assert_eq!(n.labels[labels::SERVICE], "Web_App");
        let c = container_spec(&id, &td, &td.container_definitions[0], None, None);
        assert_eq!(c.name, "ecsctl-i1.Shop_Prod.abc.App_1");
        assert_eq!(c.labels[labels::TASKDEF], "My_App:1");
        // A check Docker ignores: the container runs without one.
        assert_eq!(
            c.health_check.map(|h| h.test),
            Some(vec!["NONE".to_string()])
        );
        let long = "C".repeat(255);
        let net = cluster_network("i1", &long);
        assert!(net.len() <= 255 && net.starts_with("ecsctl-h"), "{net}");
    }
}
