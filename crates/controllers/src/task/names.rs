//! The Docker names of what a task makes: its containers, its network namespace holder and its
//! volumes. Task names are chosen by users and repeat across clusters and across servers
//! sharing one engine, so every name holds the server (`ecsctl.instance`), the cluster and the
//! task; `.` separates them because ECS names cannot contain it, so no two owners can spell
//! the same name. Labels, not names, say what a container or volume is (adoption reads them);
//! a name only has to be unique, and readable in `docker ps`.

use super::containers::TaskIdentity;
use api::hash::Fnv;

/// Longest name kept as it is: a volume's name is a directory name of Docker's local driver.
pub(crate) const MAX_NAME: usize = 255;

/// Docker name of a task's container.
pub fn container_name(id: &TaskIdentity<'_>, container: &str) -> String {
    bounded(
        format!(
            "ecsctl-{}.{}.{}.{container}",
            id.instance, id.cluster, id.task_id
        ),
        &["container", id.instance, id.cluster, id.task_id, container],
    )
}

/// Docker name of a task's network namespace holder (its own prefix: a container may be
/// called `netns`).
pub fn netns_name(id: &TaskIdentity<'_>) -> String {
    bounded(
        format!("ecsctl-netns-{}.{}.{}", id.instance, id.cluster, id.task_id),
        &["netns", id.instance, id.cluster, id.task_id],
    )
}

/// `name`, or a stable hash of its parts when Docker could not store it (too long, or a
/// character Docker refuses, as an EFS id may hold).
pub(crate) fn bounded(name: String, parts: &[&str]) -> String {
    let docker_safe = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.len() <= MAX_NAME && docker_safe {
        return name;
    }
    let mut h = Fnv::new();
    for p in parts {
        h.write(p.as_bytes());
        h.write(&[0]);
    }
    format!("ecsctl-h{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<'a>(instance: &'a str, cluster: &'a str, task: &'a str) -> TaskIdentity<'a> {
        TaskIdentity {
            task_id: task,
            cluster,
            task_definition: "web:1",
            service: None,
            instance,
            aliases: &[],
            publish_on: "127.0.0.1",
            endpoint: None,
        }
    }

    #[test]
    fn a_task_name_repeated_in_another_cluster_or_server_is_another_container() {
        let names = [
            container_name(&id("i1", "default", "t"), "app"),
            container_name(&id("i1", "shop", "t"), "app"),
            container_name(&id("i2", "default", "t"), "app"),
            netns_name(&id("i1", "default", "t")),
            container_name(&id("i1", "default", "t"), "netns"),
        ];
        assert_eq!(names[0], "ecsctl-i1.default.t.app");
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        let long = "x".repeat(255);
        let n = container_name(&id("i1", "default", &long), "app");
        assert!(n.len() <= MAX_NAME && n.starts_with("ecsctl-h"), "{n}");
    }
}
