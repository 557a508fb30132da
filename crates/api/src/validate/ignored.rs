//! Fields of a task definition that ecsctl accepts (they are ECS's, and real task definitions
//! carry them) but does not apply to the containers it makes: each one present is a warning
//! at apply, so that nobody believes a device is passed through or a log driver used when it
//! is not. What is listed here is what `controllers::task::containers` does not map; a field
//! that starts being applied leaves this list.

use super::Report;
use crate::taskdef::{LogDriver, TaskDefinitionSpec};

/// The words every warning of this module ends with.
pub const NOT_APPLIED: &str = "accepted but not applied by ecsctl";

/// Adds a warning for each field of `spec` that ecsctl does not apply.
pub(super) fn check(spec: &TaskDefinitionSpec, r: &mut Report) {
    let mut warn = |path: String, why: &str| r.warn(path, format!("{NOT_APPLIED} ({why})"));
    if let Some(mode) = spec.pid_mode {
        warn(
            "spec.pidMode".into(),
            &format!("{mode:?} asked; each container keeps its own pid namespace"),
        );
    }
    if let Some(mode) = spec.ipc_mode {
        warn(
            "spec.ipcMode".into(),
            &format!("{mode:?} asked; each container keeps Docker's default ipc namespace"),
        );
    }
    for (i, v) in spec.volumes.iter().enumerate() {
        let Some(d) = &v.docker_volume_configuration else {
            continue;
        };
        if !d.driver_opts.is_empty() {
            warn(
                format!("spec.volumes[{i}].dockerVolumeConfiguration.driverOpts"),
                "the volume is a plain local Docker volume",
            );
        }
        if d.driver.as_deref().is_some_and(|x| x != "local") {
            warn(
                format!("spec.volumes[{i}].dockerVolumeConfiguration.driver"),
                "the volume is a plain local Docker volume",
            );
        }
    }
    for (i, c) in spec.container_definitions.iter().enumerate() {
        let p = format!("spec.containerDefinitions[{i}]");
        if !c.links.is_empty() {
            warn(
                format!("{p}.links"),
                "no Docker link is made: the containers of an awsvpc task reach each other on localhost, and services reach each other by name on the cluster network",
            );
        }
        if let Some(l) = &c.log_configuration {
            let why = if l.log_driver == LogDriver::Awslogs {
                "output goes to Docker's json-file log that `ecsctl logs` reads; the awslogs group and stream prefix only name the streams in `describe task`"
            } else {
                "output goes to Docker's json-file log that `ecsctl logs` reads"
            };
            warn(format!("{p}.logConfiguration"), why);
        }
        let Some(lp) = &c.linux_parameters else {
            continue;
        };
        if !lp.devices.is_empty() {
            warn(
                format!("{p}.linuxParameters.devices"),
                "no host device is passed to the container",
            );
        }
        for (j, t) in lp.tmpfs.iter().enumerate() {
            if !t.mount_options.is_empty() {
                warn(
                    format!("{p}.linuxParameters.tmpfs[{j}].mountOptions"),
                    "the tmpfs is mounted with Docker's defaults and its size",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn warnings(spec: serde_json::Value) -> Vec<String> {
        let spec: TaskDefinitionSpec = serde_json::from_value(spec).unwrap();
        let mut r = Report::default();
        check(&spec, &mut r);
        r.warnings.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn each_ignored_field_warns() {
        let w = warnings(json!({
            "pidMode": "task", "ipcMode": "host",
            "volumes": [{"name": "v", "dockerVolumeConfiguration": {"scope": "shared",
                "driver": "rexray", "driverOpts": {"type": "nfs"}}}],
            "containerDefinitions": [{"name": "app", "image": "x", "memory": 8,
                "links": ["db"],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}},
                "linuxParameters": {"devices": [{"hostPath": "/dev/fuse"}],
                    "tmpfs": [{"containerPath": "/t", "size": 8, "mountOptions": ["noexec"]}]}}]
        }));
        let paths: Vec<&str> = w.iter().map(|x| x.split(": ").next().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "spec.pidMode",
                "spec.ipcMode",
                "spec.volumes[0].dockerVolumeConfiguration.driverOpts",
                "spec.volumes[0].dockerVolumeConfiguration.driver",
                "spec.containerDefinitions[0].links",
                "spec.containerDefinitions[0].logConfiguration",
                "spec.containerDefinitions[0].linuxParameters.devices",
                "spec.containerDefinitions[0].linuxParameters.tmpfs[0].mountOptions",
            ]
        );
        assert!(w.iter().all(|x| x.contains(NOT_APPLIED)), "{w:#?}");
    }

    #[test]
    fn what_is_applied_does_not_warn() {
        let w = warnings(json!({
            "volumes": [{"name": "v", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}],
            "containerDefinitions": [{"name": "app", "image": "x", "memory": 8,
                "linuxParameters": {"initProcessEnabled": true, "capabilities": {"drop": ["ALL"]},
                    "tmpfs": [{"containerPath": "/t", "size": 8}]}}]
        }));
        assert_eq!(w, Vec::<String>::new());
    }
}
