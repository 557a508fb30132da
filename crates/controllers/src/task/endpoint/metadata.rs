//! The task metadata endpoint's answers (v4), in ECS's shapes, from the Task, its task
//! definition and what the runtime shows of its containers. Pure.

use api::task::{ContainerPhase, TaskStatus};
use api::taskdef::{NetworkMode, TaskDefinitionSpec};
use ecsapi::arn::Arn;
use runtime::{ContainerInfo, Stats};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

/// The region in the ARNs ecsctl makes up for a task (it runs in no AWS region).
pub const REGION: &str = "us-east-1";

/// What the answers are made from: one task and its observed containers.
#[derive(Debug, Clone, Copy)]
pub struct TaskFacts<'a> {
    pub cluster: &'a str,
    pub task_id: &'a str,
    pub status: &'a TaskStatus,
    pub td: &'a TaskDefinitionSpec,
    /// `family:N`.
    pub task_definition: &'a str,
    pub service: Option<&'a str>,
    /// The account id in ARNs.
    pub account: &'a str,
    /// Each container of the task as the runtime shows it, with its task definition name
    /// (the namespace holder of an awsvpc task is not one).
    pub containers: &'a [(&'a str, &'a ContainerInfo)],
}

impl TaskFacts<'_> {
    fn task_arn(&self) -> String {
        Arn::task(REGION, self.account, self.cluster, self.task_id).to_string()
    }

    /// The task's addresses: the namespace holder's (awsvpc) or each container's own.
    fn mode(&self) -> NetworkMode {
        self.td.network_mode()
    }
}

fn time(t: Option<time::OffsetDateTime>) -> Option<String> {
    t.and_then(|t| t.format(&Rfc3339).ok())
}

fn network_mode_word(mode: NetworkMode) -> &'static str {
    match mode {
        NetworkMode::Awsvpc => "awsvpc",
        NetworkMode::Bridge => "bridge",
        NetworkMode::Host => "host",
        NetworkMode::None => "none",
    }
}

/// One container's metadata (`${ECS_CONTAINER_METADATA_URI_V4}`).
pub fn container(
    facts: &TaskFacts<'_>,
    name: &str,
    info: &ContainerInfo,
    netns_ips: &[String],
) -> Value {
    let def = facts
        .td
        .container_definitions
        .iter()
        .find(|c| c.name == name);
    let observed = facts.status.containers.iter().find(|c| c.name == name);
    let known = observed.map_or(ContainerPhase::Pending, |c| c.last_status);
    let desired = if facts.status.desired_status.is_stopped() {
        "STOPPED"
    } else {
        "RUNNING"
    };
    let mut limits = Map::new();
    if let Some(cpu) = def.and_then(|d| d.cpu) {
        limits.insert("CPU".into(), json!(cpu.0));
    }
    if let Some(mem) = def.and_then(|d| d.memory) {
        limits.insert("Memory".into(), json!(mem.0));
    }
    let mode = facts.mode();
    let ips: Vec<String> = match mode {
        NetworkMode::Awsvpc => netns_ips.to_vec(),
        _ => info.ip_addresses.values().cloned().collect(),
    };
    let mut network = json!({"NetworkMode": network_mode_word(mode)});
    if !ips.is_empty() {
        network["IPv4Addresses"] = json!(ips);
    }
    let mut out = json!({
        "DockerId": info.id.0,
        "Name": name,
        "DockerName": info.name,
        "Image": def.map_or(info.image.as_str(), |d| d.image.as_str()),
        "ImageID": info.image,
        "Labels": info.labels,
        "DesiredStatus": desired,
        "KnownStatus": known.as_str(),
        "Limits": limits,
        "Type": "NORMAL",
        "ContainerARN": format!(
            "arn:aws:ecs:{REGION}:{}:container/{}/{}/{}",
            facts.account, facts.cluster, facts.task_id, name
        ),
        "Networks": [network],
    });
    if let Some(t) = time(info.started_at) {
        out["StartedAt"] = json!(t);
    }
    if let Some(t) = time(info.finished_at).filter(|_| !info.state.is_alive()) {
        out["FinishedAt"] = json!(t);
    }
    if let Some(code) = observed.and_then(|c| c.exit_code) {
        out["ExitCode"] = json!(code);
    }
    let ports: Vec<Value> = observed
        .map(|c| c.network_bindings.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|b| {
            json!({
                "ContainerPort": b.container_port,
                "Protocol": match b.protocol {
                    api::taskdef::Protocol::Udp => "udp",
                    _ => "tcp",
                },
                "HostPort": b.host_port,
                "HostIp": b.host_ip,
            })
        })
        .collect();
    if !ports.is_empty() {
        out["Ports"] = json!(ports);
    }
    out
}

/// The task's metadata with every container's (`${ECS_CONTAINER_METADATA_URI_V4}/task`).
pub fn task(facts: &TaskFacts<'_>, netns_ips: &[String]) -> Value {
    let (family, revision) = facts
        .task_definition
        .rsplit_once(':')
        .unwrap_or((facts.task_definition, ""));
    let mut limits = Map::new();
    if let Some(cpu) = facts.td.cpu.filter(|c| c.0 > 0) {
        // vCPUs at the task level, as ECS says it.
        limits.insert("CPU".into(), json!(f64::from(cpu.0) / 1024.0));
    }
    if let Some(mem) = facts.td.memory {
        limits.insert("Memory".into(), json!(mem.0));
    }
    let mut out = json!({
        "Cluster": facts.cluster,
        "TaskARN": facts.task_arn(),
        "Family": family,
        "Revision": revision,
        "DesiredStatus": facts.status.desired_status.as_str(),
        "KnownStatus": facts.status.last_status.as_str(),
        "LaunchType": "EC2",
        "Containers": facts
            .containers
            .iter()
            .map(|(name, info)| container(facts, name, info, netns_ips))
            .collect::<Vec<_>>(),
    });
    if !limits.is_empty() {
        out["Limits"] = Value::Object(limits);
    }
    if let Some(s) = facts.service {
        out["ServiceName"] = json!(s);
    }
    for (field, value) in [
        ("PullStartedAt", &facts.status.created_at),
        ("ExecutionStoppedAt", &facts.status.stopped_at),
    ] {
        if let Some(v) = value {
            out[field] = json!(v);
        }
    }
    if let Some(instance) = &facts.status.container_instance {
        out["ContainerInstanceARN"] = json!(
            Arn::container_instance(REGION, facts.account, facts.cluster, instance).to_string()
        );
    }
    out
}

/// One container's resource usage in the Docker stats shape ECS passes on
/// (`${ECS_CONTAINER_METADATA_URI_V4}/stats`): the counters ecsctl reads.
pub fn stats(info: &ContainerInfo, s: &Stats) -> Value {
    json!({
        "read": time(Some(s.at)),
        "name": format!("/{}", info.name),
        "id": info.id.0,
        "cpu_stats": {"cpu_usage": {"total_usage": s.cpu_total_ns}},
        "memory_stats": {"usage": s.memory_bytes, "limit": s.memory_limit_bytes},
    })
}

/// Every container's stats by Docker id (`${ECS_CONTAINER_METADATA_URI_V4}/task/stats`); a
/// container whose stats could not be read is `null`, as ECS leaves a stopped one.
pub fn task_stats(each: &[(&ContainerInfo, Option<Stats>)]) -> Value {
    Value::Object(
        each.iter()
            .map(|(info, s)| {
                (
                    info.id.0.clone(),
                    s.as_ref().map_or(Value::Null, |s| stats(info, s)),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::task::{ContainerStatus, DesiredStatus, TaskPhase};
    use runtime::{ContainerId, ContainerState};
    use std::collections::BTreeMap;

    fn info(id: &str, name: &str, ip: Option<&str>) -> ContainerInfo {
        ContainerInfo {
            id: ContainerId(id.into()),
            name: name.into(),
            image: "ecsctl/busybox:local".into(),
            labels: BTreeMap::from([("ecsctl.task".to_string(), "t1".to_string())]),
            state: ContainerState::Running,
            exit_code: None,
            oom_killed: false,
            started_at: Some(time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()),
            finished_at: None,
            health: None,
            ports: Vec::new(),
            ip_addresses: ip
                .map(|ip| BTreeMap::from([("bridge".to_string(), ip.to_string())]))
                .unwrap_or_default(),
            error: None,
        }
    }

    fn td(mode: &str) -> TaskDefinitionSpec {
        serde_json::from_value(json!({
            "family": "web",
            "networkMode": mode,
            "cpu": "512",
            "memory": "256",
            "containerDefinitions": [
                {"name": "app", "image": "ecsctl/busybox:local", "cpu": 128, "memory": 64},
                {"name": "side", "image": "ecsctl/busybox:local"}
            ]
        }))
        .unwrap()
    }

    fn status() -> TaskStatus {
        TaskStatus {
            task_definition: "web:3".into(),
            last_status: TaskPhase::Running,
            desired_status: DesiredStatus::Running,
            container_instance: Some("i-1".into()),
            containers: vec![ContainerStatus {
                name: "app".into(),
                last_status: ContainerPhase::Running,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn task_metadata_has_ecs_fields() {
        let (td, status) = (td("bridge"), status());
        let app = info("abc123", "ecsctl-s.default.t1.app", Some("172.17.0.5"));
        let side = info("def456", "ecsctl-s.default.t1.side", Some("172.17.0.6"));
        let containers = [("app", &app), ("side", &side)];
        let facts = TaskFacts {
            cluster: "default",
            task_id: "t1",
            status: &status,
            td: &td,
            task_definition: "web:3",
            service: Some("web"),
            account: "000000000000",
            containers: &containers,
        };
        let t = task(&facts, &[]);
        assert_eq!(t["Cluster"], "default");
        assert_eq!(
            t["TaskARN"],
            "arn:aws:ecs:us-east-1:000000000000:task/default/t1"
        );
        assert_eq!(t["Family"], "web");
        assert_eq!(t["Revision"], "3");
        assert_eq!(t["DesiredStatus"], "RUNNING");
        assert_eq!(t["KnownStatus"], "RUNNING");
        assert_eq!(t["ServiceName"], "web");
        assert_eq!(t["Limits"], json!({"CPU": 0.5, "Memory": 256}));
        let c = &t["Containers"][0];
        assert_eq!(c["DockerId"], "abc123");
        assert_eq!(c["Name"], "app");
        assert_eq!(c["DockerName"], "ecsctl-s.default.t1.app");
        assert_eq!(c["Image"], "ecsctl/busybox:local");
        assert_eq!(c["Labels"]["ecsctl.task"], "t1");
        assert_eq!(c["KnownStatus"], "RUNNING");
        assert_eq!(c["Limits"], json!({"CPU": 128, "Memory": 64}));
        assert_eq!(c["Type"], "NORMAL");
        assert_eq!(
            c["Networks"],
            json!([{"NetworkMode": "bridge", "IPv4Addresses": ["172.17.0.5"]}])
        );
        assert_eq!(c["StartedAt"], "2027-01-15T08:00:00Z");
        assert_eq!(t["Containers"][1]["KnownStatus"], "PENDING");
    }

    #[test]
    fn awsvpc_containers_have_the_task_address() {
        let (td, status) = (td("awsvpc"), status());
        let app = info("abc123", "n", None);
        let containers = [("app", &app)];
        let facts = TaskFacts {
            cluster: "shop",
            task_id: "t1",
            status: &status,
            td: &td,
            task_definition: "web:3",
            service: None,
            account: "1",
            containers: &containers,
        };
        let c = container(&facts, "app", &app, &["10.9.0.4".to_string()]);
        assert_eq!(
            c["Networks"],
            json!([{"NetworkMode": "awsvpc", "IPv4Addresses": ["10.9.0.4"]}])
        );
        assert!(task(&facts, &[]).get("ServiceName").is_none());
    }

    #[test]
    fn stats_in_dockers_shape() {
        let app = info("abc123", "n", None);
        let s = Stats {
            cpu_total_ns: 42,
            memory_bytes: 1024,
            memory_limit_bytes: 4096,
            at: time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        };
        let v = stats(&app, &s);
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 42);
        assert_eq!(v["memory_stats"], json!({"usage": 1024, "limit": 4096}));
        let all = task_stats(&[(&app, Some(s)), (&info("def", "m", None), None)]);
        assert_eq!(all["abc123"]["id"], "abc123");
        assert!(all["def"].is_null());
    }
}
