//! Our types to Docker's and back. Pure functions, no I/O: the unit tests below pin the
//! mapping without an engine.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum,
    ContainerSummary as DockerSummary, ContainerSummaryStateEnum, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, HostConfigLogConfig, Mount, MountTmpfsOptions, MountType,
    NetworkingConfig, PortBinding as DockerPortBinding, ResourcesUlimits,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::types::observed::{
    ContainerInfo, ContainerState, ContainerSummary, HealthStatus, PortBinding, Stats,
};
use crate::types::spec::{
    ContainerId, ContainerSpec, HealthSpec, MountSource, NetworkAttach, Protocol,
};

/// The body of `POST /containers/create` for a spec (already validated).
pub(super) fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let mut exposed = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<DockerPortBinding>>> = HashMap::new();
    for p in &spec.ports {
        let key = format!("{}/{}", p.container_port, p.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let binding = DockerPortBinding {
            host_ip: p.host_ip.clone(),
            // "" asks the engine for an ephemeral port.
            host_port: Some(
                p.host_port
                    .filter(|&h| h != 0)
                    .map_or(String::new(), |h| h.to_string()),
            ),
        };
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    let publish = matches!(
        spec.network,
        NetworkAttach::Bridge | NetworkAttach::Named { .. }
    );

    let host_config = HostConfig {
        network_mode: Some(network_mode(&spec.network)),
        port_bindings: (publish && !bindings.is_empty()).then_some(bindings),
        cpu_shares: spec
            .cpu_shares
            .map(|c| i64::try_from(c).unwrap_or(i64::MAX)),
        nano_cpus: spec.nano_cpus,
        memory: spec.memory_bytes,
        memory_reservation: spec.memory_reservation_bytes,
        mounts: (!spec.mounts.is_empty()).then(|| spec.mounts.iter().map(mount).collect()),
        ulimits: (!spec.ulimits.is_empty()).then(|| {
            spec.ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect()
        }),
        readonly_rootfs: Some(spec.readonly_rootfs),
        privileged: Some(spec.privileged),
        cap_add: non_empty(&spec.cap_add),
        cap_drop: non_empty(&spec.cap_drop),
        init: spec.init,
        extra_hosts: (!spec.extra_hosts.is_empty()).then(|| {
            spec.extra_hosts
                .iter()
                .map(|(h, ip)| format!("{h}:{ip}"))
                .collect()
        }),
        dns: non_empty(&spec.dns),
        shm_size: spec.shm_size,
        pids_limit: spec.pids_limit,
        sysctls: (!spec.sysctls.is_empty()).then(|| to_hash(&spec.sysctls)),
        security_opt: non_empty(&spec.security_opt),
        log_config: Some(HostConfigLogConfig {
            typ: Some("json-file".to_owned()),
            config: Some(HashMap::from([
                ("max-size".to_owned(), spec.log.max_size_bytes.to_string()),
                ("max-file".to_owned(), spec.log.max_files.to_string()),
            ])),
        }),
        ..Default::default()
    };

    let networking_config = match &spec.network {
        NetworkAttach::Named { network, aliases } => Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.clone(),
                EndpointSettings {
                    aliases: non_empty(aliases),
                    ..Default::default()
                },
            )])),
        }),
        _ => None,
    };

    ContainerCreateBody {
        image: Some(spec.image.clone()),
        labels: Some(to_hash(&spec.labels)),
        env: (!spec.env.is_empty())
            .then(|| spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        working_dir: spec.working_dir.clone(),
        user: spec.user.clone(),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck: spec.health_check.as_ref().map(health_config),
        stop_timeout: spec.stop_timeout_secs,
        stop_signal: spec.stop_signal.clone(),
        hostname: spec.hostname.clone(),
        tty: Some(spec.tty),
        open_stdin: Some(spec.open_stdin),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

/// Docker's `HostConfig.NetworkMode` for an attachment.
pub(super) fn network_mode(net: &NetworkAttach) -> String {
    match net {
        NetworkAttach::Bridge => "bridge".to_owned(),
        NetworkAttach::Host => "host".to_owned(),
        NetworkAttach::None => "none".to_owned(),
        NetworkAttach::Container(id) => format!("container:{id}"),
        NetworkAttach::Named { network, .. } => network.clone(),
    }
}

fn health_config(h: &HealthSpec) -> HealthConfig {
    let nanos = |d: std::time::Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    HealthConfig {
        test: Some(h.test.clone()),
        interval: Some(nanos(h.interval)),
        timeout: Some(nanos(h.timeout)),
        retries: Some(i64::from(h.retries)),
        start_period: Some(nanos(h.start_period)),
        ..Default::default()
    }
}

fn mount(m: &crate::types::spec::MountSpec) -> Mount {
    let (typ, source, tmpfs_options) = match &m.source {
        MountSource::Bind(p) => (MountType::BIND, Some(p.display().to_string()), None),
        MountSource::Volume(v) => (MountType::VOLUME, Some(v.clone()), None),
        MountSource::Tmpfs { size } => (
            MountType::TMPFS,
            None,
            Some(MountTmpfsOptions {
                size_bytes: *size,
                ..Default::default()
            }),
        ),
    };
    Mount {
        target: Some(m.target.clone()),
        source,
        typ: Some(typ),
        read_only: Some(m.read_only),
        tmpfs_options,
        ..Default::default()
    }
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn to_hash(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn to_btree(m: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    m.unwrap_or_default().into_iter().collect()
}

/// Docker's label filter: `label=k=v` for each entry (the engine ANDs them).
pub(super) fn label_filters(labels: &BTreeMap<String, String>) -> Vec<String> {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// Parses Docker's RFC 3339 timestamps; its "zero time" (year 1) means never.
pub(super) fn parse_time(s: Option<&str>) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::parse(s?, &Rfc3339).ok()?;
    (t.year() > 1).then_some(t)
}

/// An inspect response in our words.
pub(super) fn container_info(r: ContainerInspectResponse) -> ContainerInfo {
    let state = r.state.unwrap_or_default();
    let config = r.config.unwrap_or_default();
    let status = state_from_inspect(state.status);
    let settings = r.network_settings.unwrap_or_default();

    let mut ports = Vec::new();
    for (key, bindings) in settings.ports.unwrap_or_default() {
        let Some((port, proto)) = parse_port_key(&key) else {
            continue;
        };
        for b in bindings.unwrap_or_default() {
            let Some(host_port) = b.host_port.as_deref().and_then(|p| p.parse().ok()) else {
                continue;
            };
            ports.push(PortBinding {
                container_port: port,
                host_ip: b.host_ip.unwrap_or_default(),
                host_port,
                protocol: proto,
            });
        }
    }
    ports.sort();

    let ip_addresses = settings
        .networks
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(net, ep)| {
            ep.ip_address
                .filter(|ip| !ip.is_empty())
                .map(|ip| (net, ip))
        })
        .collect();

    let health = state.health.and_then(|h| match h.status? {
        HealthStatusEnum::STARTING => Some(HealthStatus::Starting),
        HealthStatusEnum::HEALTHY => Some(HealthStatus::Healthy),
        HealthStatusEnum::UNHEALTHY => Some(HealthStatus::Unhealthy),
        _ => None,
    });

    ContainerInfo {
        id: ContainerId(r.id.unwrap_or_default()),
        name: strip_slash(r.name.unwrap_or_default()),
        image: config.image.or(r.image).unwrap_or_default(),
        labels: to_btree(config.labels),
        state: status,
        exit_code: matches!(status, ContainerState::Exited | ContainerState::Dead)
            .then_some(state.exit_code.unwrap_or_default()),
        oom_killed: state.oom_killed.unwrap_or(false),
        started_at: parse_time(state.started_at.as_deref()),
        finished_at: parse_time(state.finished_at.as_deref()),
        health,
        ports,
        ip_addresses,
        error: state.error.filter(|e| !e.is_empty()),
    }
}

fn state_from_inspect(s: Option<ContainerStateStatusEnum>) -> ContainerState {
    match s {
        Some(ContainerStateStatusEnum::RUNNING) => ContainerState::Running,
        Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited,
        Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
        Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
        // "stopping" is a running process on its way out.
        Some(ContainerStateStatusEnum::STOPPING) => ContainerState::Running,
        _ => ContainerState::Created,
    }
}

/// A list entry in our words.
pub(super) fn container_summary(s: DockerSummary) -> ContainerSummary {
    let state = match s.state {
        Some(ContainerSummaryStateEnum::RUNNING | ContainerSummaryStateEnum::STOPPING) => {
            ContainerState::Running
        }
        Some(ContainerSummaryStateEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerSummaryStateEnum::EXITED) => ContainerState::Exited,
        Some(ContainerSummaryStateEnum::DEAD) => ContainerState::Dead,
        Some(ContainerSummaryStateEnum::REMOVING) => ContainerState::Removing,
        _ => ContainerState::Created,
    };
    ContainerSummary {
        id: ContainerId(s.id.unwrap_or_default()),
        name: strip_slash(
            s.names
                .and_then(|n| n.into_iter().next())
                .unwrap_or_default(),
        ),
        image: s.image.unwrap_or_default(),
        labels: to_btree(s.labels),
        state,
    }
}

fn strip_slash(name: String) -> String {
    match name.strip_prefix('/') {
        Some(n) => n.to_owned(),
        None => name,
    }
}

/// `"80/tcp"` -> (80, Tcp).
fn parse_port_key(key: &str) -> Option<(u16, Protocol)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto = match proto {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => return None,
    };
    Some((port.parse().ok()?, proto))
}

/// One stats reading in our words.
pub(super) fn stats(s: bollard::models::ContainerStatsResponse) -> Stats {
    let cpu_total_ns = s
        .cpu_stats
        .as_ref()
        .and_then(|c| c.cpu_usage.as_ref())
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    let mem = s.memory_stats.unwrap_or_default();
    // As `docker stats`: page cache that can be dropped is not counted.
    let inactive = mem
        .stats
        .as_ref()
        .and_then(|m| {
            m.get("inactive_file")
                .or_else(|| m.get("total_inactive_file"))
                .copied()
        })
        .unwrap_or(0);
    Stats {
        cpu_total_ns,
        memory_bytes: mem.usage.unwrap_or(0).saturating_sub(inactive),
        memory_limit_bytes: mem.limit.unwrap_or(0),
        at: parse_time(s.read.as_deref()).unwrap_or_else(OffsetDateTime::now_utc),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::types::spec::PortSpec;

    #[test]
    fn ports_become_exposed_ports_and_bindings() {
        let spec = ContainerSpec {
            ports: vec![
                PortSpec::tcp(80),
                PortSpec {
                    container_port: 53,
                    host_port: Some(5353),
                    protocol: Protocol::Udp,
                    host_ip: Some("127.0.0.1".into()),
                },
            ],
            ..ContainerSpec::new("web", "img")
        };
        let body = create_body(&spec);
        let mut exposed = body.exposed_ports.unwrap();
        exposed.sort();
        assert_eq!(exposed, vec!["53/udp".to_owned(), "80/tcp".to_owned()]);
        let bindings = body.host_config.unwrap().port_bindings.unwrap();
        let http = bindings["80/tcp"].as_ref().unwrap();
        assert_eq!(http[0].host_port.as_deref(), Some(""));
        let dns = bindings["53/udp"].as_ref().unwrap();
        assert_eq!(dns[0].host_port.as_deref(), Some("5353"));
        assert_eq!(dns[0].host_ip.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn network_modes_and_health() {
        let spec = ContainerSpec {
            network: NetworkAttach::Container("abc".into()),
            health_check: Some(HealthSpec {
                test: vec!["CMD-SHELL".into(), "true".into()],
                interval: Duration::from_secs(1),
                timeout: Duration::from_millis(500),
                retries: 2,
                start_period: Duration::ZERO,
            }),
            ..ContainerSpec::new("web", "img")
        };
        let body = create_body(&spec);
        let hc = body.host_config.unwrap();
        assert_eq!(hc.network_mode.as_deref(), Some("container:abc"));
        assert_eq!(hc.log_config.unwrap().typ.as_deref(), Some("json-file"));
        let health = body.healthcheck.unwrap();
        assert_eq!(health.interval, Some(1_000_000_000));
        assert_eq!(health.retries, Some(2));

        let named = ContainerSpec {
            network: NetworkAttach::Named {
                network: "net1".into(),
                aliases: vec!["web".into()],
            },
            ..ContainerSpec::new("web", "img")
        };
        let body = create_body(&named);
        let eps = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(eps["net1"].aliases, Some(vec!["web".to_owned()]));
    }

    #[test]
    fn zero_time_is_never() {
        assert_eq!(parse_time(Some("0001-01-01T00:00:00Z")), None);
        assert!(parse_time(Some("2024-05-01T10:00:00.123456789Z")).is_some());
        assert_eq!(parse_port_key("8080/udp"), Some((8080, Protocol::Udp)));
    }
}
