//! Tests of `describe` (one per kind with a dedicated summary).

use super::*;
use serde_json::json;

fn now() -> OffsetDateTime {
    parse_time("2024-05-01T12:00:00Z").unwrap()
}

#[test]
fn task_definition_summary() {
    let o = json!({"kind": "TaskDefinition",
        "metadata": {"name": "web", "revision": 2, "generation": 1, "resourceVersion": 7,
                     "creationTimestamp": "2024-05-01T11:55:00Z", "labels": {"team": "shop"}},
        "spec": {"family": "web", "cpu": "256", "memory": "512", "networkMode": "bridge",
            "containerDefinitions": [{"name": "web", "image": "nginx:1.25", "cpu": 128, "memory": 256,
                "portMappings": [{"containerPort": 80, "hostPort": 8080}], "essential": true,
                "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 30, "retries": 3},
                "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}],
                "environment": [{"name": "MODE", "value": "prod"}]}]}});
    let d = describe(&o, now());
    for want in [
        "Name:             web:2\n",
        "Kind:             TaskDefinition\n",
        "Labels:           team=shop\n",
        "Created:          2024-05-01T11:55:00Z (5m ago)\n",
        "ResourceVersion:  7\n",
        "  Family:        web\n",
        "  Containers:\n    web:\n",
        "      Image:         nginx:1.25\n",
        "      Ports:         8080:80/tcp\n",
        "      Health Check:  CMD-SHELL curl -f http://localhost/ || exit 1 (interval 30s, retries 3)\n",
        "      Depends On:    db (HEALTHY)\n",
        "        MODE=prod\n",
        "Status:   <none>\n",
    ] {
        assert!(d.contains(want), "missing {want:?} in\n{d}");
    }
    assert!(
        !d.contains("Cluster:"),
        "task definitions are not clustered:\n{d}"
    );
    assert!(!d.contains("Events"), "{d}");
}

#[test]
fn service_connect_names_are_listed() {
    let o = json!({"kind": "Service", "metadata": {"name": "shop", "cluster": "default"},
        "spec": {"taskDefinition": "shop", "desiredCount": 1,
            "serviceConnectConfiguration": {"enabled": true, "namespace": "internal",
                "services": [{"portName": "http", "discoveryName": "shop-http",
                    "clientAliases": [{"port": 8080, "dnsName": "shop.internal"}]}]}}});
    let d = describe(&o, now());
    assert!(
        d.contains("Service Connect:  shop-http (portName http), shop.internal:8080\n"),
        "{d}"
    );
    assert!(
        !d.contains("namespace"),
        "shown once, not again as the rest of the spec:\n{d}"
    );
}

#[test]
fn task_status_and_events_newest_first() {
    let o = json!({"kind": "Task", "metadata": {"name": "abc"},
        "spec": {"taskDefinition": "web:1"},
        "status": {"lastStatus": "STOPPED", "desiredStatus": "STOPPED", "stopCode": "TaskFailedToStart",
            "stoppedReason": "CannotPullContainerError: image nope:latest not found",
            "events": [
                {"createdAt": "2024-05-01T11:00:00Z", "message": "older"},
                {"createdAt": "2024-05-01T11:59:00Z", "message": "newer"}]}});
    let d = describe(&o, now());
    assert!(d.contains("Cluster:          default\n"), "{d}");
    assert!(d.contains("  Stop Code:        TaskFailedToStart\n"), "{d}");
    assert!(
        d.contains("  Stopped Reason:   CannotPullContainerError: image nope:latest not found\n"),
        "{d}"
    );
    let events = &d[d.find("Events:").unwrap()..];
    assert_eq!(
        events,
        "Events:\n  AGE   MESSAGE\n  60s   newer\n  60m   older\n"
    );
}

#[test]
fn container_instance_resources_and_attributes() {
    let o = json!({"kind": "ContainerInstance", "metadata": {"name": "0a1b2c", "cluster": "default"},
        "spec": {},
        "status": {"status": "ACTIVE", "agentConnected": true,
            "lastHeartbeat": "2024-05-01T11:59:50Z",
            "registeredResources": {"cpu": 2048, "memory": 3900},
            "remainingResources": {"cpu": 1792, "memory": 3388, "ports": [8080]},
            "attributes": {"ecs.os-type": "linux", "ecs.cpu-architecture": "x86_64"},
            "runningTasksCount": 1, "pendingTasksCount": 0}});
    let d = describe(&o, now());
    assert!(d.contains("Kind:             ContainerInstance\n"), "{d}");
    assert!(d.contains("  Agent Connected:  true\n"), "{d}");
    assert!(d.contains("  Running Tasks:    1\n"), "{d}");
    let resources = &d[d.find("  Resources:").unwrap()..];
    assert!(
        resources.contains("CPU (units)     1792        2048"),
        "{resources}"
    );
    assert!(resources.contains("Ports (taken)   8080"), "{resources}");
    assert!(d.contains("    ecs.cpu-architecture:  x86_64\n"), "{d}");
}

#[test]
fn an_instance_lists_the_tasks_placed_on_it() {
    let task = |name: &str, bound: &str, last: &str| {
        json!({"kind": "Task", "metadata": {"name": name, "cluster": "shop",
            "labels": {"ecsctl.service": "web"}},
            "spec": {"taskDefinition": "web", "containerInstance": bound},
            "status": {"lastStatus": last, "taskDefinition": "web:3"}})
    };
    let tasks = [
        task("t2", "i-a", "RUNNING"),
        task("t1", "i-a", "PENDING"),
        task("t3", "i-b", "RUNNING"),
        task("t4", "i-a", "STOPPED"),
    ];
    let d = instance_tasks("i-a", &tasks);
    let lines: Vec<&str> = d.lines().collect();
    assert_eq!(lines[0], "Tasks:");
    assert!(
        lines[2].contains("t1") && lines[2].contains("PENDING"),
        "{d}"
    );
    assert!(lines[3].contains("t2") && lines[3].contains("web:3"), "{d}");
    assert_eq!(lines.len(), 4, "{d}");
    assert_eq!(instance_tasks("i-c", &tasks), "");
}

#[test]
fn task_names_its_container_instance() {
    let o = json!({"kind": "Task", "metadata": {"name": "abc"},
        "spec": {"taskDefinition": "web:1"},
        "status": {"lastStatus": "RUNNING", "desiredStatus": "RUNNING", "containerInstance": "0a1b2c"}});
    let d = describe(&o, now());
    assert!(d.contains("  Container Instance:  0a1b2c\n"), "{d}");
}
