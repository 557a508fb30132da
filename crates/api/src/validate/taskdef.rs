//! ECS rules for task definitions that the types alone do not enforce.

use super::Report;
use crate::humanize::looks_like_template;
use crate::taskdef::*;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn check(spec: &TaskDefinitionSpec, r: &mut Report) {
    let containers = &spec.container_definitions;
    let mode = spec.network_mode();
    if containers.is_empty() || containers.len() > 10 {
        r.error(
            "spec.containerDefinitions",
            format!("a task has 1..10 containers, got {}", containers.len()),
        );
    }
    let mut names = BTreeMap::new();
    for (i, c) in containers.iter().enumerate() {
        let p = format!("spec.containerDefinitions[{i}]");
        if !valid_ecs_name(&c.name) {
            r.error(
                format!("{p}.name"),
                format!(
                    "{:?}: container names use letters, digits, '-' and '_' (1..255)",
                    c.name
                ),
            );
        }
        if let Some(first) = names.insert(c.name.as_str(), i) {
            r.error(
                format!("{p}.name"),
                format!(
                    "container name {:?} is already used by containerDefinitions[{first}]",
                    c.name
                ),
            );
        }
    }
    if !containers.is_empty() && !containers.iter().any(ContainerDefinition::is_essential) {
        r.error(
            "spec.containerDefinitions",
            "at least one container must be essential (essential defaults to true)",
        );
    }
    check_fargate(spec, r);
    check_resources(spec, r);
    for (i, c) in spec.placement_constraints.iter().enumerate() {
        let p = format!("spec.placementConstraints[{i}]");
        match &c.expression {
            Some(e) => super::service::check_member_of(e, &format!("{p}.expression"), r),
            None => r.error(p, "memberOf needs an expression"),
        }
    }
    let volumes = check_volumes(spec, r);
    let mut host_ports: BTreeMap<(u16, Protocol), String> = BTreeMap::new();
    for (i, c) in containers.iter().enumerate() {
        let p = format!("spec.containerDefinitions[{i}]");
        check_image(&c.image, &format!("{p}.image"), r);
        check_ports(c, mode, &p, &mut host_ports, r);
        check_dependencies(c, containers, &names, &p, r);
        if let Some(h) = &c.health_check {
            check_health(h, &format!("{p}.healthCheck"), r);
        }
        for (j, m) in c.mount_points.iter().enumerate() {
            if !volumes.contains(m.source_volume.as_str()) {
                r.error(
                    format!("{p}.mountPoints[{j}].sourceVolume"),
                    format!("no volume named {:?} in spec.volumes", m.source_volume),
                );
            }
            if !m.container_path.starts_with('/') {
                r.error(
                    format!("{p}.mountPoints[{j}].containerPath"),
                    "must be an absolute path",
                );
            }
        }
        for (j, v) in c.volumes_from.iter().enumerate() {
            if v.source_container == c.name || !names.contains_key(v.source_container.as_str()) {
                r.error(
                    format!("{p}.volumesFrom[{j}].sourceContainer"),
                    format!(
                        "no other container named {:?} in this task",
                        v.source_container
                    ),
                );
            }
        }
        for (j, l) in c.links.iter().enumerate() {
            let target = l.split(':').next().unwrap_or(l);
            if mode != NetworkMode::Bridge {
                r.error(
                    format!("{p}.links[{j}]"),
                    format!(
                        "links work only with networkMode bridge, not {}",
                        mode.as_str()
                    ),
                );
            } else if target == c.name || !names.contains_key(target) {
                r.error(
                    format!("{p}.links[{j}]"),
                    format!("no other container named {target:?} in this task"),
                );
            }
        }
        if mode == NetworkMode::Awsvpc {
            for (field, set) in [
                ("hostname", c.hostname.is_some()),
                ("dnsServers", !c.dns_servers.is_empty()),
                ("dnsSearchDomains", !c.dns_search_domains.is_empty()),
                ("extraHosts", !c.extra_hosts.is_empty()),
            ] {
                if set {
                    r.error(
                        format!("{p}.{field}"),
                        "not supported with networkMode awsvpc (as in ECS)",
                    );
                }
            }
        }
        let mut seen = BTreeSet::new();
        for (j, u) in c.ulimits.iter().enumerate() {
            if u.soft_limit > u.hard_limit {
                r.error(
                    format!("{p}.ulimits[{j}]"),
                    format!(
                        "softLimit {} is above hardLimit {}",
                        u.soft_limit, u.hard_limit
                    ),
                );
            }
            if !seen.insert(u.name) {
                r.error(
                    format!("{p}.ulimits[{j}].name"),
                    "this ulimit is already set",
                );
            }
        }
        let mut env = BTreeSet::new();
        for (j, e) in c.environment.iter().enumerate() {
            if !env.insert(e.name.as_str()) {
                r.warn(
                    format!("{p}.environment[{j}].name"),
                    format!("{:?} is set twice; the last value wins", e.name),
                );
            }
        }
        for (j, s) in c.secrets.iter().enumerate() {
            if env.contains(s.name.as_str()) {
                r.error(
                    format!("{p}.secrets[{j}].name"),
                    format!("{:?} is also set in environment", s.name),
                );
            }
        }
        if let (Some(m), Some(res)) = (c.memory, c.memory_reservation)
            && res.0 > m.0
        {
            r.error(
                format!("{p}.memoryReservation"),
                format!("{} MiB is above the hard limit memory {} MiB", res.0, m.0),
            );
        }
        if let Some(m) = c.memory
            && m.0 < 6
        {
            r.error(
                format!("{p}.memory"),
                format!("Docker needs at least 6 MiB, got {}", m.0),
            );
        }
        if spec.memory.is_none() && c.memory.is_none() && c.memory_reservation.is_none() {
            r.error(
                p.clone(),
                "at least one of memory or memoryReservation must be set when the task has no task-level memory (as in ECS)",
            );
        }
        if !c.environment_files.is_empty() {
            r.warn(
                format!("{p}.environmentFiles"),
                "S3 environment files cannot be fetched locally and are ignored",
            );
        }
        if c.resource_requirements
            .iter()
            .any(|x| x.resource_type == ResourceType::Gpu)
        {
            r.warn(
                format!("{p}.resourceRequirements"),
                "GPUs are not scheduled by ecsctl; the requirement is ignored",
            );
        }
    }
    if let Some(rp) = &spec.runtime_platform
        && rp
            .operating_system_family
            .is_some_and(|f| f != OsFamily::LINUX)
    {
        r.error(
            "spec.runtimePlatform.operatingSystemFamily",
            "Windows containers cannot run on a Linux Docker engine",
        );
    }
    if let Some(px) = &spec.proxy_configuration
        && !names.contains_key(px.container_name.as_str())
    {
        r.error(
            "spec.proxyConfiguration.containerName",
            format!("no container named {:?} in this task", px.container_name),
        );
    }
}

pub(super) fn valid_ecs_name(s: &str) -> bool {
    crate::names::is_ecs_name(s)
}

fn check_image(image: &str, path: &str, r: &mut Report) {
    if image.trim().is_empty() {
        r.error(path, "must not be empty");
    } else if looks_like_template(image) || image.contains(['{', '}', '$', '<', '>']) {
        r.error(
            path,
            format!("{image:?} is not an image reference (an unrendered template placeholder)"),
        );
    } else if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        r.error(
            path,
            format!("{image:?} is not an image reference (it contains whitespace)"),
        );
    }
}

fn check_fargate(spec: &TaskDefinitionSpec, r: &mut Report) {
    if !spec
        .requires_compatibilities
        .contains(&Compatibility::Fargate)
    {
        return;
    }
    if spec.network_mode() != NetworkMode::Awsvpc {
        r.error(
            "spec.networkMode",
            format!(
                "FARGATE requires networkMode awsvpc, got {}",
                spec.network_mode().as_str()
            ),
        );
    }
    let (Some(cpu), Some(mem)) = (spec.cpu, spec.memory) else {
        r.error("spec", "FARGATE requires task-level cpu and memory");
        return;
    };
    let ok = match cpu.0 {
        256 => [512, 1024, 2048].contains(&mem.0),
        512 => (1024..=4096).contains(&mem.0) && mem.0 % 1024 == 0,
        1024 => (2048..=8192).contains(&mem.0) && mem.0 % 1024 == 0,
        2048 => (4096..=16384).contains(&mem.0) && mem.0 % 1024 == 0,
        4096 => (8192..=30720).contains(&mem.0) && mem.0 % 1024 == 0,
        8192 => (16384..=61440).contains(&mem.0) && mem.0 % 4096 == 0,
        16384 => (32768..=122880).contains(&mem.0) && mem.0 % 8192 == 0,
        _ => {
            r.error(
                "spec.cpu",
                format!(
                    "FARGATE task cpu is one of 256, 512, 1024, 2048, 4096, 8192, 16384, got {}",
                    cpu.0
                ),
            );
            return;
        }
    };
    if !ok {
        r.error(
            "spec.memory",
            format!(
                "{} MiB is not a FARGATE memory size for cpu {}",
                mem.0, cpu.0
            ),
        );
    }
}

fn check_resources(spec: &TaskDefinitionSpec, r: &mut Report) {
    let cs = &spec.container_definitions;
    if let Some(task_mem) = spec.memory {
        let sum: u64 = cs
            .iter()
            .filter_map(|c| c.memory)
            .map(|m| u64::from(m.0))
            .sum();
        let res: u64 = cs
            .iter()
            .filter_map(|c| c.memory_reservation)
            .map(|m| u64::from(m.0))
            .sum();
        if sum > u64::from(task_mem.0) {
            r.error(
                "spec.memory",
                format!(
                    "{} MiB is less than the containers' memory ({sum} MiB in all)",
                    task_mem.0
                ),
            );
        } else if res > u64::from(task_mem.0) {
            r.error(
                "spec.memory",
                format!(
                    "{} MiB is less than the containers' memoryReservation ({res} MiB in all)",
                    task_mem.0
                ),
            );
        }
    }
    if let Some(task_cpu) = spec.cpu {
        let sum: u64 = cs
            .iter()
            .filter_map(|c| c.cpu)
            .map(|m| u64::from(m.0))
            .sum();
        if sum > u64::from(task_cpu.0) {
            r.error(
                "spec.cpu",
                format!(
                    "{} units is less than the containers' cpu ({sum} units in all)",
                    task_cpu.0
                ),
            );
        }
    }
}

fn check_volumes<'a>(spec: &'a TaskDefinitionSpec, r: &mut Report) -> BTreeSet<&'a str> {
    let mut names = BTreeSet::new();
    for (i, v) in spec.volumes.iter().enumerate() {
        let p = format!("spec.volumes[{i}]");
        if !names.insert(v.name.as_str()) {
            r.error(
                format!("{p}.name"),
                format!("volume name {:?} is used twice", v.name),
            );
        }
        let kinds = [
            v.host.is_some(),
            v.docker_volume_configuration.is_some(),
            v.efs_volume_configuration.is_some(),
            v.fsx_windows_file_server_volume_configuration.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            r.error(p.clone(), "set at most one of host, dockerVolumeConfiguration, efsVolumeConfiguration, fsxWindowsFileServerVolumeConfiguration");
        }
        if v.name.is_empty()
            || v.name.len() > 255
            || !v
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            r.error(
                format!("{p}.name"),
                format!(
                    "{:?}: a volume name is 1 to 255 letters, digits, '-' and '_' (as in ECS)",
                    v.name
                ),
            );
        }
        if let Some(path) = v.host.as_ref().and_then(|h| h.source_path.as_deref())
            && let Some(why) = crate::hostpath::not_normal(path)
        {
            // Compared as written at apply, resolved on the host at start: a spelling that
            // means another path (`/srv/data/../../etc`) is refused before either.
            r.error(format!("{p}.host.sourcePath"), format!("{path:?} {why}"));
        }
        if v.efs_volume_configuration.is_some() {
            r.warn(
                format!("{p}.efsVolumeConfiguration"),
                "EFS is not reachable locally; a local Docker volume stands in for it",
            );
        }
        if v.fsx_windows_file_server_volume_configuration.is_some() {
            r.error(
                format!("{p}.fsxWindowsFileServerVolumeConfiguration"),
                "FSx for Windows volumes need Windows containers",
            );
        }
        if let Some(d) = &v.docker_volume_configuration
            && d.autoprovision == Some(true)
            && d.scope != Some(VolumeScope::Shared)
        {
            r.error(
                format!("{p}.dockerVolumeConfiguration.autoprovision"),
                "autoprovision needs scope shared (as in ECS)",
            );
        }
    }
    names
}

fn check_ports(
    c: &ContainerDefinition,
    mode: NetworkMode,
    p: &str,
    host_ports: &mut BTreeMap<(u16, Protocol), String>,
    r: &mut Report,
) {
    if mode == NetworkMode::None && !c.port_mappings.is_empty() {
        r.error(
            format!("{p}.portMappings"),
            "networkMode none has no ports to publish",
        );
        return;
    }
    for (j, pm) in c.port_mappings.iter().enumerate() {
        let pp = format!("{p}.portMappings[{j}]");
        let proto = pm.protocol.unwrap_or(Protocol::Tcp);
        let Some(cp) = pm.container_port else {
            if pm.container_port_range.is_none() {
                r.error(pp, "missing required field \"containerPort\"");
            } else if pm.host_port.is_some() {
                r.error(
                    format!("{pp}.hostPort"),
                    "not allowed with containerPortRange",
                );
            }
            continue;
        };
        if pm.container_port_range.is_some() {
            r.error(
                format!("{pp}.containerPortRange"),
                "set containerPort or containerPortRange, not both",
            );
        }
        let host = match (mode, pm.host_port) {
            (NetworkMode::Host | NetworkMode::Awsvpc, Some(h)) if h.0 != cp.0 => {
                r.error(
                    format!("{pp}.hostPort"),
                    format!(
                        "with networkMode {} hostPort must equal containerPort ({}), got {}",
                        mode.as_str(),
                        cp.0,
                        h.0
                    ),
                );
                continue;
            }
            (NetworkMode::Host | NetworkMode::Awsvpc, _) => cp.0,
            (_, Some(h)) => h.0,
            (_, None) => 0,
        };
        if host == 0 {
            continue; // ephemeral
        }
        let what = format!("{}/{}", c.name, cp.0);
        if let Some(prev) = host_ports.insert((host, proto), what) {
            r.error(
                format!("{pp}.hostPort"),
                format!("host port {host}/{proto:?} is already used by {prev}").to_lowercase(),
            );
        }
    }
}

fn check_dependencies(
    c: &ContainerDefinition,
    all: &[ContainerDefinition],
    names: &BTreeMap<&str, usize>,
    p: &str,
    r: &mut Report,
) {
    for (j, d) in c.depends_on.iter().enumerate() {
        let dp = format!("{p}.dependsOn[{j}]");
        let Some(&target) = names.get(d.container_name.as_str()) else {
            r.error(
                format!("{dp}.containerName"),
                format!("no container named {:?} in this task", d.container_name),
            );
            continue;
        };
        if d.container_name == c.name {
            r.error(
                format!("{dp}.containerName"),
                "a container cannot depend on itself",
            );
            continue;
        }
        let t = &all[target];
        match d.condition {
            DependencyCondition::Complete | DependencyCondition::Success if t.is_essential() => r.error(
                format!("{dp}.condition"),
                format!(
                    "{:?} is essential, so it cannot be waited on with {:?}: mark it essential: false (as ECS requires)",
                    t.name,
                    d.condition
                )
                .replace("Complete", "COMPLETE")
                .replace("Success", "SUCCESS"),
            ),
            DependencyCondition::Healthy if t.checked_health().is_none() => r.error(
                format!("{dp}.condition"),
                format!(
                    "HEALTHY needs a healthCheck on {:?} that Docker runs (a command starting with CMD or CMD-SHELL)",
                    t.name
                ),
            ),
            _ => {}
        }
        if let Some(cycle) = find_cycle(all, names, target, c.name.as_str()) {
            r.error(
                format!("{dp}.containerName"),
                format!("dependency cycle: {} -> {cycle}", c.name),
            );
        }
    }
}

/// Whether `start` (transitively) depends on `origin`; returns the path if so.
fn find_cycle(
    all: &[ContainerDefinition],
    names: &BTreeMap<&str, usize>,
    start: usize,
    origin: &str,
) -> Option<String> {
    let mut stack = vec![(start, all[start].name.clone())];
    let mut seen = BTreeSet::new();
    while let Some((i, path)) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        for d in &all[i].depends_on {
            if d.container_name == origin {
                return Some(format!("{path} -> {origin}"));
            }
            if let Some(&n) = names.get(d.container_name.as_str()) {
                stack.push((n, format!("{path} -> {}", d.container_name)));
            }
        }
    }
    None
}

fn check_health(h: &HealthCheck, p: &str, r: &mut Report) {
    match h.command.first().map(String::as_str) {
        None => r.error(format!("{p}.command"), "must not be empty"),
        Some("CMD") | Some("CMD-SHELL") if h.command.len() >= 2 => {}
        Some("NONE") => {}
        Some("CMD") | Some("CMD-SHELL") => r.error(format!("{p}.command"), "the command after CMD/CMD-SHELL is missing"),
        Some(first) => r.warn(
            format!("{p}.command[0]"),
            format!(
                "{first:?}: a health check command starts with \"CMD\" ([\"CMD\", \"/healthcheck\"]) or \"CMD-SHELL\" ([\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"]); ECS registers this one and Docker ignores it, so the container runs without a health check"
            ),
        ),
    }
}
