//! The metrics sampler on a FakeRuntime: it follows a managed container from its start,
//! reads its stats once per resolution, records CPU as % of the task's reservation, and forgets the task when it dies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::{Kind, Object};
use ecsctl_controllers::Context;
use ecsctl_controllers::metrics::{MetricKind, Metrics, run_sampler};
use runtime::{ContainerRuntime, ContainerSpec, FakeRuntime, Stats};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use store::{SledStore, Store};
use time::OffsetDateTime;

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600 + secs).unwrap()
}

#[tokio::test(start_paused = true)]
async fn samples_started_containers_against_their_reservation() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
    let td = Object::new(
        Kind::TaskDefinition,
        "burn",
        json!({"family": "burn", "containerDefinitions": [
            {"name": "main", "image": "img", "cpu": 256, "memory": 100}]}),
    );
    store.apply(td).unwrap();
    let fake = Arc::new(FakeRuntime::with_images(["img"]));
    let metrics = Metrics::new(Duration::from_secs(1), Duration::from_secs(60));
    let mut ctx = Context::new(store.clone(), fake.clone(), "test");
    ctx.metrics = metrics.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sampler = tokio::spawn(run_sampler(ctx, metrics.clone(), async move {
        let _ = stop_rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(10)).await;

    let labels: BTreeMap<String, String> = [
        ("ecsctl.managed", "true"),
        ("ecsctl.instance", "test"),
        ("ecsctl.cluster", "default"),
        ("ecsctl.task", "t1"),
        ("ecsctl.container", "main"),
        ("ecsctl.service", "web"),
        ("ecsctl.taskdef", "burn:1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let spec = ContainerSpec {
        name: "t1-main".to_string(),
        image: "img".to_string(),
        labels,
        ..ContainerSpec::default()
    };
    let id = fake.create(&spec).await.unwrap();
    fake.start(&id).await.unwrap();
    let sample = |secs: i64, cpu_ns: u64| Stats {
        cpu_total_ns: cpu_ns,
        memory_bytes: 50 * 1024 * 1024,
        memory_limit_bytes: 100 * 1024 * 1024,
        at: at(secs),
    };
    fake.set_stats(&id, sample(0, 0)).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // One core for 2 s against 256 units: 400 %.
    fake.set_stats(&id, sample(2, 2_000_000_000)).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let tasks = metrics.tasks();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].task, "t1");
    assert_eq!(tasks[0].service.as_deref(), Some("web"));
    assert!((tasks[0].cpu_percent - 400.0).abs() < 1e-6, "{tasks:?}");
    assert!((tasks[0].memory_percent - 50.0).abs() < 1e-6, "{tasks:?}");
    let now = tasks[0].at;
    let avg = metrics.service_average(
        "default",
        "web",
        MetricKind::Cpu,
        Duration::from_secs(5),
        now,
    );
    assert!(avg.is_some_and(|a| (a - 400.0).abs() < 1e-6), "{avg:?}");

    // The container stops: the task is forgotten.
    fake.stop(&id, Duration::from_secs(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(metrics.tasks().is_empty(), "{:?}", metrics.tasks());
    let _ = stop_tx.send(());
    sampler.await.unwrap();
}
