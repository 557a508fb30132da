//! Which tasks are targets of one load balancer: a pure function from the LoadBalancer, the
//! Services of its cluster, their Tasks and TaskDefinitions, and the certificate values read
//! for it, to the [`LbConfig`] the balancer is handed.

use api::balancer::{CertificatePem, LbConfig, Target};
use api::kinds::LoadBalancerSpec;
use api::service::ServiceSpec;
use api::task::{DesiredStatus, TaskPhase, TaskStatus};
use api::taskdef::{NetworkMode, TaskDefinitionSpec};
use api::{Kind, Object};
use runtime::labels;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Everything that decides one load balancer's desired state.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// The LoadBalancer's name and cluster.
    pub name: &'a str,
    pub cluster: &'a str,
    pub spec: &'a LoadBalancerSpec,
    /// Services of its cluster (those that do not name it are ignored).
    pub services: &'a [Object],
    /// Tasks of those services (others are ignored).
    pub tasks: &'a [Object],
    /// Task definitions by `family:N`.
    pub task_definitions: &'a BTreeMap<String, TaskDefinitionSpec>,
    /// The values of the Secrets its HTTPS listeners name, by Secret name.
    pub certificates: BTreeMap<String, CertificatePem>,
}

/// The Services of `services` attached to the load balancer `name` (in its cluster), with
/// their parsed specs.
pub fn attached<'a>(
    name: &str,
    cluster: &str,
    services: &'a [Object],
) -> Vec<(&'a Object, ServiceSpec)> {
    services
        .iter()
        .filter(|s| s.kind == Kind::Service && s.metadata.cluster_or_default() == cluster)
        .filter_map(|s| Some((s, s.spec_as::<ServiceSpec>().ok()?)))
        .filter(|(_, spec)| {
            spec.load_balancers
                .iter()
                .any(|a| a.load_balancer_name.as_deref() == Some(name))
        })
        .collect()
}

/// The Secrets the HTTPS listeners name as certificates (references that name no usable
/// Secret are left out; the balancer reports them).
pub fn certificate_secrets(spec: &LoadBalancerSpec) -> Vec<String> {
    spec.listeners
        .iter()
        .flat_map(|l| &l.certificates)
        .filter_map(|c| api::secret::named_secret("certificateArn", &c.certificate_arn).ok())
        .collect()
}

/// The desired state of the load balancer.
pub fn lb_config(i: Inputs<'_>) -> LbConfig {
    let mut d = LbConfig {
        name: i.name.to_string(),
        cluster: i.cluster.to_string(),
        spec: i.spec.clone(),
        targets: BTreeMap::new(),
        draining: Vec::new(),
        certificates: i.certificates,
    };
    for (svc, sspec) in attached(i.name, i.cluster, i.services) {
        for attach in sspec
            .load_balancers
            .iter()
            .filter(|a| a.load_balancer_name.as_deref() == Some(i.name))
        {
            let registered = d.targets.entry(svc.metadata.name.clone()).or_default();
            for t in i.tasks.iter().filter(|t| {
                t.metadata.cluster_or_default() == i.cluster
                    && t.metadata.labels.get(labels::SERVICE) == Some(&svc.metadata.name)
            }) {
                let Ok(status) = t.status_as::<TaskStatus>() else {
                    continue;
                };
                let Some(addr) = address(
                    &status,
                    i.task_definitions,
                    &attach.container_name,
                    attach.container_port.0,
                ) else {
                    continue;
                };
                let target = Target {
                    task_id: t.metadata.name.clone(),
                    addr,
                };
                let stopping = status.desired_status == DesiredStatus::Stopped
                    || t.spec.get("desiredStatus").and_then(|v| v.as_str()) == Some("STOPPED");
                match (status.last_status, stopping) {
                    (TaskPhase::Running, false) => registered.push(target),
                    (p, true) if p != TaskPhase::Stopped => d.draining.push(target),
                    _ => {}
                }
            }
        }
    }
    d
}

/// Where a task's container port is reached from the server: the task's own address for
/// awsvpc, else the published host port at the address it was published on (loopback on
/// the server's own instance, an agent's `--address` on its host).
fn address(
    status: &TaskStatus,
    tds: &BTreeMap<String, TaskDefinitionSpec>,
    container: &str,
    port: u16,
) -> Option<SocketAddr> {
    let awsvpc = tds
        .get(&status.task_definition)
        .is_some_and(|td| td.network_mode() == NetworkMode::Awsvpc);
    if awsvpc {
        let ip: IpAddr = status.private_ip.as_deref()?.parse().ok()?;
        return Some(SocketAddr::new(ip, port));
    }
    let c = status.containers.iter().find(|c| c.name == container)?;
    let b = c
        .network_bindings
        .iter()
        .find(|b| b.container_port == port && b.protocol == "tcp")?;
    let ip = match b.host_ip.parse::<IpAddr>() {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    Some(SocketAddr::new(ip, b.host_port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(kind: Kind, name: &str, spec: serde_json::Value, status: serde_json::Value) -> Object {
        let mut o = Object::new(kind, name, spec);
        o.status = status;
        o
    }

    fn task(id: &str, phase: &str, desired: &str, ip: &str) -> Object {
        let mut t = obj(
            Kind::Task,
            id,
            json!({"taskDefinition": "web:1"}),
            json!({"taskDefinition": "web:1", "lastStatus": phase, "desiredStatus": desired, "healthStatus": "UNKNOWN",
                   "privateIp": ip, "containers": []}),
        );
        t.metadata
            .labels
            .insert(labels::SERVICE.into(), "web".into());
        t
    }

    fn web_service(cluster: Option<&str>, lb: &str) -> Object {
        let mut s = obj(
            Kind::Service,
            "web",
            json!({"taskDefinition": "web", "desiredCount": 2,
                   "loadBalancers": [{"loadBalancerName": lb, "containerName": "app", "containerPort": 80}]}),
            json!(null),
        );
        s.metadata.cluster = cluster.map(str::to_string);
        s
    }

    fn spec(v: serde_json::Value) -> LoadBalancerSpec {
        serde_json::from_value(v).unwrap()
    }

    fn awsvpc_tds() -> BTreeMap<String, TaskDefinitionSpec> {
        BTreeMap::from([(
            "web:1".to_string(),
            serde_json::from_value::<TaskDefinitionSpec>(json!({"networkMode": "awsvpc",
                "containerDefinitions": [{"name": "app", "image": "x", "memory": 8, "portMappings": [{"containerPort": 80}]}]}))
            .unwrap(),
        )])
    }

    fn target(id: &str, addr: &str) -> Target {
        Target {
            task_id: id.to_string(),
            addr: addr.parse().unwrap(),
        }
    }

    #[test]
    fn running_tasks_register_and_stopping_ones_drain() {
        let spec = spec(
            json!({"listeners": [{"port": 8080, "protocol": "HTTP", "defaultService": "web"}]}),
        );
        let services = [web_service(None, "front")];
        let tasks = [
            task("a", "RUNNING", "RUNNING", "172.20.0.2"),
            task("b", "PENDING", "RUNNING", "172.20.0.3"),
            task("c", "DEACTIVATING", "STOPPED", "172.20.0.4"),
            task("d", "STOPPED", "STOPPED", "172.20.0.5"),
        ];
        let tds = awsvpc_tds();
        let d = lb_config(Inputs {
            name: "front",
            cluster: "default",
            spec: &spec,
            services: &services,
            tasks: &tasks,
            task_definitions: &tds,
            certificates: BTreeMap::new(),
        });
        assert_eq!(d.targets["web"], vec![target("a", "172.20.0.2:80")]);
        assert_eq!(d.draining, vec![target("c", "172.20.0.4:80")]);
        assert_eq!(d.spec, spec);
    }

    #[test]
    fn only_services_of_its_cluster_that_name_it_give_targets() {
        let spec = spec(
            json!({"listeners": [{"port": 8080, "protocol": "HTTP", "defaultService": "web"}]}),
        );
        let tasks = [task("a", "RUNNING", "RUNNING", "172.20.0.2")];
        let tds = awsvpc_tds();
        for services in [
            vec![web_service(None, "other")],
            vec![web_service(Some("prod"), "front")],
            vec![],
        ] {
            let d = lb_config(Inputs {
                name: "front",
                cluster: "default",
                spec: &spec,
                services: &services,
                tasks: &tasks,
                task_definitions: &tds,
                certificates: BTreeMap::new(),
            });
            assert!(
                d.targets.is_empty() && d.draining.is_empty(),
                "{services:?}"
            );
        }
    }

    #[test]
    fn bridge_tasks_are_reached_on_their_host_port_on_loopback() {
        let spec = spec(
            json!({"listeners": [{"port": 8080, "protocol": "HTTP", "defaultService": "web"}]}),
        );
        let services = [web_service(None, "front")];
        let mut t = task("a", "RUNNING", "RUNNING", "");
        t.status["containers"] = json!([{"name": "app", "image": "x", "lastStatus": "RUNNING", "healthStatus": "UNKNOWN", "essential": true,
            "networkBindings": [{"hostIp": "0.0.0.0", "containerPort": 80, "hostPort": 32768, "protocol": "tcp"}]}]);
        let d = lb_config(Inputs {
            name: "front",
            cluster: "default",
            spec: &spec,
            services: &services,
            tasks: &[t],
            task_definitions: &BTreeMap::new(),
            certificates: BTreeMap::new(),
        });
        assert_eq!(d.targets["web"], vec![target("a", "127.0.0.1:32768")]);
        // On an agent's host the port is published on its --address: reached there.
        let mut remote = task("b", "RUNNING", "RUNNING", "");
        remote.status["containers"] = json!([{"name": "app", "image": "x", "lastStatus": "RUNNING", "healthStatus": "UNKNOWN", "essential": true,
            "networkBindings": [{"hostIp": "10.213.5.1", "containerPort": 80, "hostPort": 32770, "protocol": "tcp"}]}]);
        let d = lb_config(Inputs {
            name: "front",
            cluster: "default",
            spec: &spec,
            services: &services,
            tasks: &[remote],
            task_definitions: &BTreeMap::new(),
            certificates: BTreeMap::new(),
        });
        assert_eq!(d.targets["web"], vec![target("b", "10.213.5.1:32770")]);
    }

    #[test]
    fn certificates_are_named_by_secret_and_passed_through() {
        let spec = spec(
            json!({"listeners": [{"port": 8443, "protocol": "HTTPS", "defaultService": "web",
            "certificates": [{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/web-cert"},
                             {"certificateArn": "api-cert"}]}]}),
        );
        assert_eq!(certificate_secrets(&spec), vec!["web-cert", "api-cert"]);
        let certificates = BTreeMap::from([(
            "web-cert".to_string(),
            CertificatePem::Unavailable("Secret web-cert does not exist".to_string()),
        )]);
        let d = lb_config(Inputs {
            name: "front",
            cluster: "default",
            spec: &spec,
            services: &[],
            tasks: &[],
            task_definitions: &BTreeMap::new(),
            certificates: certificates.clone(),
        });
        assert_eq!(d.certificates, certificates);
    }
}
