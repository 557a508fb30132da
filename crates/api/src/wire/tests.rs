//! The wire format is a promise to every client: each body serializes to the bytes the
//! server has always sent (fixed here as text) and reads back to the same value.

use super::*;
use crate::{Kind, Object};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// `value` serializes to exactly `text`, and `text` deserializes to `value`.
fn same<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: T, text: &str) {
    assert_eq!(serde_json::to_string(&value).unwrap(), text);
    assert_eq!(serde_json::from_str::<T>(text).unwrap(), value);
}

fn td(revision: u64) -> Object {
    let mut o = Object::new(Kind::TaskDefinition, "web", serde_json::json!({}));
    o.metadata.revision = Some(revision);
    o
}

#[test]
fn apply_and_delete_results() {
    let mut svc = Object::new(Kind::Service, "web", serde_json::json!({}));
    svc.metadata.revision = Some(4);
    same(
        ApplyResponse {
            results: vec![
                ApplyResult::new(&td(2), ApplyAction::Created),
                ApplyResult::new(&svc, ApplyAction::Unchanged),
            ],
            warnings: vec!["service/web: w".into()],
        },
        r#"{"results":[{"kind":"TaskDefinition","name":"web","cluster":null,"action":"created","revision":2},{"kind":"Service","name":"web","cluster":null,"action":"unchanged"}],"warnings":["service/web: w"]}"#,
    );
    svc.metadata.cluster = Some("prod".into());
    same(
        DeleteResponse {
            deleted: vec![ObjectRef::of(&svc), ObjectRef::of(&td(1))],
        },
        r#"{"deleted":[{"kind":"Service","name":"web","cluster":"prod"},{"kind":"TaskDefinition","name":"web","cluster":null,"revision":1}]}"#,
    );
}

#[test]
fn errors() {
    same(
        ErrorBody {
            error: "bad".into(),
            details: vec!["a".into()],
        },
        r#"{"error":"bad","details":["a"]}"#,
    );
    same(
        StreamError {
            error: "gone".into(),
        },
        r#"{"error":"gone"}"#,
    );
}

#[test]
fn health() {
    same(
        Health {
            status: HealthStatus::Ok,
            revision: 7,
            runtime: RuntimeHealth::Disabled(health::RuntimeDisabled::Disabled),
        },
        r#"{"status":"ok","revision":7,"runtime":"disabled"}"#,
    );
    same(
        RuntimeHealth::Probed(health::EngineHealth::Available {
            version: "27.1".into(),
        }),
        r#"{"state":"available","version":"27.1"}"#,
    );
    same(
        RuntimeHealth::Probed(health::EngineHealth::Unavailable {
            reason: "down".into(),
        }),
        r#"{"state":"unavailable","reason":"down"}"#,
    );
}

#[test]
fn logs_and_watch() {
    same(
        LogLine {
            container: "web".into(),
            stream: LogStream::Stderr,
            text: "oops".into(),
            timestamp: None,
        },
        r#"{"container":"web","stream":"stderr","text":"oops","timestamp":null}"#,
    );
    let event: WatchEvent<serde_json::Value> = WatchEvent {
        revision: 3,
        event_type: WatchEventType::Deleted,
        object: serde_json::json!({"kind": "Task"}),
    };
    same(
        event,
        r#"{"revision":3,"type":"DELETED","object":{"kind":"Task"}}"#,
    );
}

#[test]
fn metrics() {
    same(
        ServiceMetrics {
            cluster: "default".into(),
            service: "web".into(),
            values: ServiceMetricValues {
                tasks: 2,
                cpu_percent: Some(1.5),
                memory_percent: None,
                requests_per_target_per_sec: Some(0.0),
                at: None,
            },
        },
        r#"{"cluster":"default","service":"web","tasks":2,"cpuPercent":1.5,"memoryPercent":null,"requestsPerTargetPerSec":0.0,"at":null}"#,
    );
    same(
        MetricsList {
            items: vec![TaskMetrics {
                cluster: "c".into(),
                service: None,
                task: "t".into(),
                cpu_percent: 3.0,
                memory_percent: 4.25,
                at: "2024-01-01T00:00:00Z".into(),
            }],
        },
        r#"{"items":[{"cluster":"c","service":null,"task":"t","cpuPercent":3.0,"memoryPercent":4.25,"at":"2024-01-01T00:00:00Z"}]}"#,
    );
    same(
        ServiceSeries {
            cluster: "default".into(),
            service: "web".into(),
            resolution_seconds: 10.0,
            from: "2024-01-01T00:00:00Z".into(),
            to: "2024-01-01T00:10:00Z".into(),
            points: vec![SeriesPoint {
                at: "2024-01-01T00:05:00Z".into(),
                cpu_percent: Some(12.5),
                memory_percent: Some(3.0),
                requests_per_target_per_sec: None,
            }],
        },
        r#"{"cluster":"default","service":"web","resolutionSeconds":10.0,"from":"2024-01-01T00:00:00Z","to":"2024-01-01T00:10:00Z","points":[{"at":"2024-01-01T00:05:00Z","cpuPercent":12.5,"memoryPercent":3.0,"requestsPerTargetPerSec":null}]}"#,
    );
}

#[test]
fn load_balancer_status() {
    let target = |health| TargetStatus {
        service: "web".into(),
        task_id: "t1".into(),
        addr: "127.0.0.1:8080".parse().unwrap(),
        health,
        requests: 5,
        in_flight: 0,
        rate_per_sec: 0.5,
    };
    same(
        LoadBalancerStatus {
            name: "front".into(),
            cluster: "default".into(),
            listeners: vec![
                ListenerStatus {
                    port: 8443,
                    protocol: crate::kinds::LbProtocol::Https,
                    address: "127.0.0.1".into(),
                    bound: false,
                    error: Some("in use".into()),
                    certificates: vec![CertificateStatus {
                        name: "tls".into(),
                        not_after: Some("2030-01-01T00:00:00Z".into()),
                    }],
                },
                ListenerStatus {
                    port: 80,
                    protocol: crate::kinds::LbProtocol::Http,
                    address: "0.0.0.0".into(),
                    bound: true,
                    error: None,
                    certificates: Vec::new(),
                },
            ],
            targets: vec![
                target(TargetHealth::Initial),
                target(TargetHealth::Unhealthy("timeout".into())),
            ],
        },
        concat!(
            r#"{"name":"front","cluster":"default","listeners":["#,
            r#"{"port":8443,"protocol":"HTTPS","address":"127.0.0.1","bound":false,"error":"in use","certificates":[{"name":"tls","notAfter":"2030-01-01T00:00:00Z"}]},"#,
            r#"{"port":80,"protocol":"HTTP","address":"0.0.0.0","bound":true,"error":null}],"targets":["#,
            r#"{"service":"web","taskId":"t1","addr":"127.0.0.1:8080","health":{"state":"initial"},"requests":5,"inFlight":0,"ratePerSec":0.5},"#,
            r#"{"service":"web","taskId":"t1","addr":"127.0.0.1:8080","health":{"state":"unhealthy","reason":"timeout"},"requests":5,"inFlight":0,"ratePerSec":0.5}]}"#
        ),
    );
}

#[test]
fn syncs() {
    same(
        SyncRequest {
            dir: "/srv/deploy".into(),
            dry_run: true,
            prune: false,
        },
        r#"{"dir":"/srv/deploy","dryRun":true,"prune":false}"#,
    );
    let defaults: SyncRequest = serde_json::from_str(r#"{"dir":"/d"}"#).unwrap();
    assert!(defaults.prune && !defaults.dry_run);
    assert!(serde_json::from_str::<SyncRequest>(r#"{"dir":"/d","force":true}"#).is_err());
    same(
        SyncResponse {
            source: "/d".into(),
            revision: "abc".into(),
            dry_run: false,
            applied: vec![ApplyResult::new(&td(1), ApplyAction::Configured)],
            pruned: vec![crate::ObjectKey::new(Kind::Service, Some("default"), "old").into()],
            prune_skipped: false,
            drift: vec![],
            warnings: vec![],
            errors: vec![],
        },
        r#"{"source":"/d","revision":"abc","dryRun":false,"applied":[{"kind":"TaskDefinition","name":"web","cluster":null,"action":"configured","revision":1}],"pruned":[{"kind":"Service","name":"old","cluster":"default"}],"pruneSkipped":false,"drift":[],"warnings":[],"errors":[]}"#,
    );
    same(
        SyncList {
            items: vec![SyncStatus {
                source: "/d".into(),
                revision: None,
                last_applied_at: Some("2024-01-01T00:00:00Z".into()),
                state: SyncState::OutOfSync,
                errors: vec!["a.yaml:1:1: bad".into()],
                objects: 3,
                applied: SyncCounts {
                    created: 1,
                    configured: 0,
                    unchanged: 2,
                },
                pruned: vec![],
                drift: vec!["service/web".into()],
                warnings: vec![],
                events: vec![SyncEvent {
                    at: "2024-01-01T00:00:00Z".into(),
                    message: "synced".into(),
                }],
            }],
        },
        r#"{"items":[{"source":"/d","revision":null,"lastAppliedAt":"2024-01-01T00:00:00Z","state":"OutOfSync","errors":["a.yaml:1:1: bad"],"objects":3,"applied":{"created":1,"configured":0,"unchanged":2},"pruned":[],"drift":["service/web"],"warnings":[],"events":[{"at":"2024-01-01T00:00:00Z","message":"synced"}]}]}"#,
    );
}

#[test]
fn object_lists() {
    let list: ObjectList<serde_json::Value> = ObjectList {
        items: vec![serde_json::json!({"kind": "Cluster"})],
        revision: 9,
    };
    same(list, r#"{"items":[{"kind":"Cluster"}],"revision":9}"#);
}

#[test]
fn instance_state() {
    use crate::instance::InstanceStatus;
    same(
        InstanceStateRequest {
            status: InstanceStatus::Draining,
        },
        r#"{"status":"DRAINING"}"#,
    );
    same(
        InstanceStateRequest {
            status: InstanceStatus::Active,
        },
        r#"{"status":"ACTIVE"}"#,
    );
    // A word this release does not know reads as Unknown, which the server refuses.
    let odd: InstanceStateRequest = serde_json::from_str(r#"{"status":"SLEEPY"}"#).unwrap();
    assert_eq!(odd.status, InstanceStatus::Unknown);
    assert!(serde_json::from_str::<InstanceStateRequest>(r#"{"state":"ACTIVE"}"#).is_err());
    let mut ci = Object::new(Kind::ContainerInstance, "i-1", serde_json::json!({}));
    ci.metadata.cluster = Some("prod".into());
    same(
        InstanceStateResponse {
            instance: ci,
            changed: true,
        },
        r#"{"instance":{"apiVersion":"ecs/v1","kind":"ContainerInstance","metadata":{"name":"i-1","cluster":"prod"},"spec":{}},"changed":true}"#,
    );
}
