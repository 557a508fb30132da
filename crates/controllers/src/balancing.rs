//! Which tasks are targets of which load balancer: a pure function from the store's
//! LoadBalancers, Services, TaskDefinitions and Tasks to each load balancer's registered and
//! draining targets. The server hands the result to the built-in load balancer.

use api::kinds::LoadBalancerSpec;
use api::service::ServiceSpec;
use api::task::{DesiredStatus, TaskPhase, TaskStatus};
use api::taskdef::{NetworkMode, TaskDefinitionSpec};
use api::{Kind, Object};
use runtime::labels;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// One load balancer and its targets.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredLb {
    pub name: String,
    pub cluster: String,
    pub spec: LoadBalancerSpec,
    /// Registered targets by service: (task id, address).
    pub targets: BTreeMap<String, Vec<(String, SocketAddr)>>,
    /// Tasks asked to stop whose targets drain.
    pub draining: Vec<(String, SocketAddr)>,
}

/// Everything in the store that decides targets.
#[derive(Debug)]
pub struct World<'a> {
    pub load_balancers: &'a [Object],
    pub services: &'a [Object],
    pub tasks: &'a [Object],
    /// Task definitions by `family:N`.
    pub task_definitions: &'a BTreeMap<String, TaskDefinitionSpec>,
}

/// The targets of every load balancer.
pub fn desired(w: &World<'_>) -> Vec<DesiredLb> {
    let mut out = Vec::new();
    for lb in w
        .load_balancers
        .iter()
        .filter(|o| o.kind == Kind::LoadBalancer)
    {
        let Ok(spec) = lb.spec_as::<LoadBalancerSpec>() else {
            continue;
        };
        let cluster = lb.metadata.cluster_or_default().to_string();
        let mut d = DesiredLb {
            name: lb.metadata.name.clone(),
            cluster: cluster.clone(),
            spec,
            targets: BTreeMap::new(),
            draining: Vec::new(),
        };
        for svc in w
            .services
            .iter()
            .filter(|s| s.metadata.cluster_or_default() == cluster)
        {
            let Ok(sspec) = svc.spec_as::<ServiceSpec>() else {
                continue;
            };
            for attach in sspec
                .load_balancers
                .iter()
                .filter(|a| a.load_balancer_name.as_deref() == Some(&d.name))
            {
                let registered = d.targets.entry(svc.metadata.name.clone()).or_default();
                for t in w.tasks.iter().filter(|t| {
                    t.metadata.cluster_or_default() == cluster
                        && t.metadata.labels.get(labels::SERVICE) == Some(&svc.metadata.name)
                }) {
                    let Ok(status) = t.status_as::<TaskStatus>() else {
                        continue;
                    };
                    let Some(addr) = address(
                        &status,
                        w.task_definitions,
                        &attach.container_name,
                        attach.container_port.0,
                    ) else {
                        continue;
                    };
                    let stopping = status.desired_status == DesiredStatus::Stopped
                        || t.spec.get("desiredStatus").and_then(|v| v.as_str()) == Some("STOPPED");
                    match (status.last_status, stopping) {
                        (TaskPhase::Running, false) => {
                            registered.push((t.metadata.name.clone(), addr))
                        }
                        (p, true) if p != TaskPhase::Stopped => {
                            d.draining.push((t.metadata.name.clone(), addr))
                        }
                        _ => {}
                    }
                }
            }
        }
        out.push(d);
    }
    out
}

/// Where a task's container port is reached from the host: the task's own address for
/// awsvpc, else the published host port on loopback.
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

    #[test]
    fn running_tasks_register_and_stopping_ones_drain() {
        let lbs = [obj(
            Kind::LoadBalancer,
            "front",
            json!({"listeners": [{"port": 8080, "protocol": "HTTP", "defaultService": "web"}]}),
            json!(null),
        )];
        let services = [obj(
            Kind::Service,
            "web",
            json!({"taskDefinition": "web", "desiredCount": 2,
                   "loadBalancers": [{"loadBalancerName": "front", "containerName": "app", "containerPort": 80}]}),
            json!(null),
        )];
        let tasks = [
            task("a", "RUNNING", "RUNNING", "172.20.0.2"),
            task("b", "PENDING", "RUNNING", "172.20.0.3"),
            task("c", "DEACTIVATING", "STOPPED", "172.20.0.4"),
            task("d", "STOPPED", "STOPPED", "172.20.0.5"),
        ];
        let tds = BTreeMap::from([(
            "web:1".to_string(),
            serde_json::from_value::<TaskDefinitionSpec>(json!({"networkMode": "awsvpc",
                "containerDefinitions": [{"name": "app", "image": "x", "memory": 8, "portMappings": [{"containerPort": 80}]}]}))
            .unwrap(),
        )]);
        let d = desired(&World {
            load_balancers: &lbs,
            services: &services,
            tasks: &tasks,
            task_definitions: &tds,
        });
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].targets["web"],
            vec![("a".to_string(), "172.20.0.2:80".parse().unwrap())]
        );
        assert_eq!(
            d[0].draining,
            vec![("c".to_string(), "172.20.0.4:80".parse().unwrap())]
        );
    }
}
