//! The Docker volumes of a task: named so that they cannot meet another server's, another
//! cluster's or another task's, labelled so that ownership can be read back, and never one
//! that ecsctl did not make.
//!
//! - Task-scoped volumes (`dockerVolumeConfiguration` with scope task, `host: {}`, or no
//!   configuration): `ecsctl-<instance>.<cluster>.<task>.<volume>`, labelled with the task
//!   too; removed with the task's containers (`reconciler::remove_orphans`).
//! - Shared volumes (scope shared): `ecsctl-<instance>.<cluster>.<volume>`; the local
//!   stand-ins of EFS file systems: `ecsctl-efs-<instance>.<cluster>.<id>`. Labelled with
//!   the server and the cluster: a cluster's `data` is never another cluster's `data`.
//!
//! `.` separates the parts because ECS names (clusters, volumes, tasks) cannot contain it, so
//! two different owners never spell the same name. A name longer than Docker allows is
//! shortened to a stable hash; the labels still say whose it is. `driverOpts` are not passed
//! on: the local driver's `o=bind,device=/` would bind any host path past the policy.

use super::containers::TaskIdentity;
use super::names::bounded;
use api::taskdef::{Volume, VolumeScope};
use runtime::{VolumeInfo, labels};
use std::collections::BTreeMap;

/// A Docker volume a task needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerVolume {
    /// The task definition's name of the volume.
    pub volume: String,
    /// The Docker volume's name.
    pub name: String,
    /// The labels it is made with, and must carry to be used.
    pub labels: BTreeMap<String, String>,
    /// Shared by the cluster's tasks (else the task's own).
    pub shared: bool,
    /// Made when missing (task-scoped volumes always are).
    pub autoprovision: bool,
}

/// What to do about a Docker volume, given what the engine holds under its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeDecision {
    /// It is there and ours: mount it.
    Use,
    /// It is missing: make it.
    Create,
    /// The task cannot start: why.
    Refuse(String),
}

/// The Docker volume behind a task definition volume; `None` for a bind of a host path.
pub fn docker_volume(id: &TaskIdentity<'_>, v: &Volume) -> Option<DockerVolume> {
    if v.host.as_ref().is_some_and(|h| h.source_path.is_some()) {
        return None;
    }
    let base = BTreeMap::from([
        (labels::MANAGED.to_string(), "true".to_string()),
        (labels::INSTANCE.to_string(), id.instance.to_string()),
        (labels::CLUSTER.to_string(), id.cluster.to_string()),
    ]);
    if let Some(efs) = &v.efs_volume_configuration {
        let mut labels = base;
        labels.insert(
            labels::VOLUME.to_string(),
            format!("efs:{}", efs.file_system_id),
        );
        return Some(DockerVolume {
            volume: v.name.clone(),
            name: efs_volume_name(id.instance, id.cluster, &efs.file_system_id),
            labels,
            shared: true,
            autoprovision: true,
        });
    }
    let mut labels = base;
    labels.insert(labels::VOLUME.to_string(), v.name.clone());
    match &v.docker_volume_configuration {
        Some(d) if d.scope == Some(VolumeScope::Shared) => Some(DockerVolume {
            volume: v.name.clone(),
            name: shared_volume_name(id.instance, id.cluster, &v.name),
            labels,
            shared: true,
            // As in ECS: a shared volume is made only when asked to be.
            autoprovision: d.autoprovision == Some(true),
        }),
        _ => {
            labels.insert(labels::TASK.to_string(), id.task_id.to_string());
            Some(DockerVolume {
                volume: v.name.clone(),
                name: task_volume_name(id.instance, id.cluster, id.task_id, &v.name),
                labels,
                shared: false,
                autoprovision: true,
            })
        }
    }
}

/// Docker name of a cluster's shared volume on one server.
pub fn shared_volume_name(instance: &str, cluster: &str, volume: &str) -> String {
    bounded(
        format!("ecsctl-{instance}.{cluster}.{volume}"),
        &[instance, cluster, volume],
    )
}

/// Docker name of the local stand-in of an EFS file system in a cluster (its own prefix: a
/// volume may be called `efs`).
pub fn efs_volume_name(instance: &str, cluster: &str, file_system_id: &str) -> String {
    bounded(
        format!("ecsctl-efs-{instance}.{cluster}.{file_system_id}"),
        &["efs", instance, cluster, file_system_id],
    )
}

/// Docker name of a task's own volume: three dots where a shared volume's name has two, so
/// the two kinds never meet; task names are chosen by users, so the server and the cluster
/// are in it too.
pub fn task_volume_name(instance: &str, cluster: &str, task_id: &str, volume: &str) -> String {
    bounded(
        format!("ecsctl-{instance}.{cluster}.{task_id}.{volume}"),
        &[instance, cluster, task_id, volume],
    )
}

/// Whether the volume found under the name may be mounted: only one ecsctl made for this
/// server, cluster, volume (and task, for a task's own).
pub fn decide(dv: &DockerVolume, found: Option<&VolumeInfo>) -> VolumeDecision {
    let Some(found) = found else {
        return if dv.autoprovision {
            VolumeDecision::Create
        } else {
            VolumeDecision::Refuse(format!(
                "volume {}: the shared volume {} of cluster {} does not exist and autoprovision is false; ecsctl mounts only volumes it made (set dockerVolumeConfiguration.autoprovision: true to make it)",
                dv.volume,
                dv.name,
                dv.labels.get(labels::CLUSTER).map_or("", String::as_str)
            ))
        };
    };
    let mismatch = dv
        .labels
        .iter()
        .find(|(k, v)| found.labels.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .or_else(|| {
            // A shared volume must not be some task's own.
            (dv.shared && found.labels.contains_key(labels::TASK)).then(|| labels::TASK.to_string())
        });
    match mismatch {
        None => VolumeDecision::Use,
        Some(label) => VolumeDecision::Refuse(format!(
            "volume {}: the Docker volume {} exists but was not made by ecsctl for this {} (its label {label} differs); ecsctl never mounts a volume it did not make: remove or rename that volume",
            dv.volume,
            dv.name,
            if dv.shared { "cluster" } else { "task" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::names::MAX_NAME;
    use serde_json::json;

    fn id(task: &'static str, cluster: &'static str) -> TaskIdentity<'static> {
        TaskIdentity {
            task_id: task,
            cluster,
            task_definition: "web:1",
            service: None,
            instance: "i1",
            aliases: &[],
            publish_on: "127.0.0.1",
            endpoint: None,
        }
    }

    fn vol(v: serde_json::Value) -> Volume {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn names_are_per_server_cluster_and_task() {
        let shared = vol(
            json!({"name": "data", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true}}),
        );
        let a = docker_volume(&id("t1", "a"), &shared).unwrap();
        let b = docker_volume(&id("t2", "b"), &shared).unwrap();
        assert_eq!(a.name, "ecsctl-i1.a.data");
        assert_eq!(b.name, "ecsctl-i1.b.data");
        assert_eq!(
            docker_volume(&id("t9", "a"), &shared).unwrap(),
            a,
            "one per cluster"
        );
        assert_eq!(a.labels[labels::CLUSTER], "a");
        assert_eq!(a.labels[labels::INSTANCE], "i1");
        assert_eq!(a.labels[labels::MANAGED], "true");
        assert!(!a.labels.contains_key(labels::TASK));
        // `a-b` + `c` and `a` + `b-c` are different volumes.
        assert_ne!(
            shared_volume_name("i", "a-b", "c"),
            shared_volume_name("i", "a", "b-c")
        );

        let own = vol(json!({"name": "scratch"}));
        let t = docker_volume(&id("t1", "a"), &own).unwrap();
        assert_eq!(t.name, "ecsctl-i1.a.t1.scratch");
        assert_eq!(t.labels[labels::TASK], "t1");
        assert!(!t.shared && t.autoprovision);

        let efs = vol(json!({"name": "fs", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}));
        assert_eq!(
            docker_volume(&id("t1", "a"), &efs).unwrap().name,
            "ecsctl-efs-i1.a.fs-1"
        );
        let bind = vol(json!({"name": "h", "host": {"sourcePath": "/srv"}}));
        assert_eq!(docker_volume(&id("t1", "a"), &bind), None);

        let long = "v".repeat(255);
        let n = shared_volume_name("i1", &"c".repeat(255), &long);
        assert!(n.len() <= MAX_NAME && n.starts_with("ecsctl-h"), "{n}");
        assert_ne!(n, shared_volume_name("i1", &"d".repeat(255), &long));
    }

    #[test]
    fn only_our_own_volumes_are_mounted() {
        let shared = vol(json!({"name": "data", "dockerVolumeConfiguration": {"scope": "shared"}}));
        let dv = docker_volume(&id("t1", "a"), &shared).unwrap();
        let e = match decide(&dv, None) {
            VolumeDecision::Refuse(e) => e,
            other => panic!("{other:?}"),
        };
        assert!(e.contains("autoprovision"), "{e}");
        let provisioned = DockerVolume {
            autoprovision: true,
            ..dv.clone()
        };
        assert_eq!(decide(&provisioned, None), VolumeDecision::Create);

        let ours = VolumeInfo {
            name: dv.name.clone(),
            labels: dv.labels.clone(),
        };
        assert_eq!(decide(&dv, Some(&ours)), VolumeDecision::Use);
        let foreign = VolumeInfo {
            name: dv.name.clone(),
            labels: BTreeMap::new(),
        };
        assert!(
            matches!(decide(&dv, Some(&foreign)), VolumeDecision::Refuse(e) if e.contains("not made by ecsctl"))
        );
        let mut other_cluster = ours.clone();
        other_cluster
            .labels
            .insert(labels::CLUSTER.into(), "b".into());
        assert!(matches!(
            decide(&dv, Some(&other_cluster)),
            VolumeDecision::Refuse(_)
        ));

        let own = docker_volume(&id("t1", "a"), &vol(json!({"name": "s"}))).unwrap();
        let mut others = VolumeInfo {
            name: own.name.clone(),
            labels: own.labels.clone(),
        };
        others.labels.insert(labels::TASK.into(), "t2".into());
        assert!(
            matches!(decide(&own, Some(&others)), VolumeDecision::Refuse(e) if e.contains("this task"))
        );
    }
}
