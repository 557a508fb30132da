//! What the `/events` stream tells the page about one watch event: which object changed,
//! and which service it concerns, so the page refreshes only for what it shows.

use super::pages::{cluster_of, name_of, task_service};
use api::wire::{WatchEvent, WatchEventType};
use serde::Serialize;
use serde_json::Value;

/// One change, as the page's script reads it (`data:` of an SSE `change` event).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// `Service`, `Task`, `Cluster`, `ContainerInstance` or `TaskDefinition`.
    pub kind: String,
    /// "" for a task definition (they belong to no cluster).
    pub cluster: String,
    /// A task definition's family.
    pub name: String,
    /// The service it concerns: the service itself, or a task's service ("" for others).
    pub service: String,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// The object's generation (a spec change raises it).
    pub generation: u64,
    /// The store revision of the write.
    pub revision: u64,
}

/// The change a watch event makes to the pages, if any: the console shows clusters,
/// services, tasks, container instances and task definitions; other kinds change nothing
/// it shows.
pub fn change_of(event: &WatchEvent<Value>) -> Option<Change> {
    let obj = &event.object;
    let kind = obj.get("kind").and_then(Value::as_str)?;
    let (cluster, name) = (cluster_of(obj), name_of(obj));
    let service = match kind {
        "Service" => name,
        "Task" => task_service(obj).unwrap_or_default(),
        "Cluster" | "ContainerInstance" | "TaskDefinition" => "",
        _ => return None,
    };
    Some(Change {
        kind: kind.to_string(),
        cluster: match kind {
            "Cluster" => name,
            "TaskDefinition" => "",
            _ => cluster,
        }
        .to_string(),
        name: name.to_string(),
        service: service.to_string(),
        event_type: match event.event_type {
            WatchEventType::Added => "ADDED",
            WatchEventType::Modified => "MODIFIED",
            WatchEventType::Deleted => "DELETED",
        },
        generation: obj
            .pointer("/metadata/generation")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        revision: event.revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(object: Value) -> WatchEvent<Value> {
        WatchEvent {
            revision: 42,
            event_type: WatchEventType::Modified,
            object,
        }
    }

    #[test]
    fn services_and_their_tasks() {
        let svc = change_of(&event(json!({"kind": "Service",
            "metadata": {"name": "web", "cluster": "shop", "generation": 3}})))
        .unwrap();
        assert_eq!(
            (
                svc.kind.as_str(),
                svc.cluster.as_str(),
                svc.service.as_str(),
                svc.generation,
                svc.revision
            ),
            ("Service", "shop", "web", 3, 42)
        );
        let task = change_of(&event(json!({"kind": "Task",
            "metadata": {"name": "abc", "cluster": "shop", "labels": {"ecsctl.service": "web"}}})))
        .unwrap();
        assert_eq!((task.name.as_str(), task.service.as_str()), ("abc", "web"));
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(json["type"], "MODIFIED");
    }

    #[test]
    fn kinds_the_console_does_not_show_are_left_out() {
        assert_eq!(
            change_of(&event(
                json!({"kind": "Secret", "metadata": {"name": "db", "cluster": "shop"}})
            )),
            None
        );
        assert_eq!(change_of(&event(json!({"no": "kind"}))), None);
        let cl = change_of(&event(
            json!({"kind": "Cluster", "metadata": {"name": "shop"}}),
        ))
        .unwrap();
        assert_eq!((cl.cluster.as_str(), cl.service.as_str()), ("shop", ""));
    }

    #[test]
    fn task_definitions_by_family() {
        let td = change_of(&event(
            json!({"kind": "TaskDefinition", "metadata": {"name": "web", "revision": 4}}),
        ))
        .unwrap();
        assert_eq!(
            (td.kind.as_str(), td.cluster.as_str(), td.name.as_str()),
            ("TaskDefinition", "", "web")
        );
    }
}
