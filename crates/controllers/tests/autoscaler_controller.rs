//! The autoscaler with the service controller on a FakeRuntime: measured load scales the
//! service out, within max, with the numbers in a service event; no data, no scaling.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::service::ServiceStatus;
use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::autoscaler::reconciler::reconcile_autoscaler;
use ecsctl_controllers::service::reconciler::reconcile_service;
use runtime::FakeRuntime;
use serde_json::json;
use std::sync::Arc;
use store::{SledStore, Store};

fn world() -> (tempfile::TempDir, Arc<SledStore>, Context) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
    let fake = Arc::new(FakeRuntime::with_images(["img"]));
    let ctx = Context::new(store.clone(), fake, "test");
    (dir, store, ctx)
}

fn desired(store: &SledStore) -> u64 {
    let svc = store
        .get(&ObjectKey::new(Kind::Service, None, "web"))
        .unwrap()
        .unwrap();
    svc.spec["desiredCount"].as_u64().unwrap()
}

#[tokio::test]
async fn measured_cpu_scales_the_service_out_within_max() {
    let (_dir, store, ctx) = world();
    store
        .apply(Object::new(
            Kind::TaskDefinition,
            "web",
            json!({"containerDefinitions": [{"name": "app", "image": "img", "memory": 64, "cpu": 256}]}),
        ))
        .unwrap();
    store
        .apply(Object::new(
            Kind::Service,
            "web",
            json!({"taskDefinition": "web", "desiredCount": 1}),
        ))
        .unwrap();
    store
        .apply(Object::new(
            Kind::Autoscaler,
            "web-cpu",
            json!({"service": "web", "minCapacity": 1, "maxCapacity": 3, "targetTracking": [
                {"metric": "ECSServiceAverageCPUUtilization", "targetValue": 50.0, "scaleOutCooldown": 0}]}),
        ))
        .unwrap();
    let key = ObjectKey::new(Kind::Autoscaler, None, "web-cpu");

    // No data: no scaling.
    reconcile_autoscaler(&ctx, &key).await.unwrap();
    assert_eq!(desired(&store), 1);

    // 400% of the reserved CPU on the one task: 1 x 400/50 = 8, held at max 3.
    ctx.metrics
        .record_task("default", Some("web"), "t1", (ctx.now)(), 400.0, 10.0);
    reconcile_autoscaler(&ctx, &key).await.unwrap();
    assert_eq!(desired(&store), 3);

    // The service reports the decision as an event, once.
    reconcile_service(&ctx, &ObjectKey::new(Kind::Service, None, "web"))
        .await
        .unwrap();
    reconcile_service(&ctx, &ObjectKey::new(Kind::Service, None, "web"))
        .await
        .unwrap();
    let st: ServiceStatus = store
        .get(&ObjectKey::new(Kind::Service, None, "web"))
        .unwrap()
        .unwrap()
        .status_as()
        .unwrap();
    let scaled: Vec<&str> = st
        .events
        .iter()
        .map(|e| e.message.as_str())
        .filter(|m| m.contains("scaled from"))
        .collect();
    assert_eq!(
        scaled,
        vec![
            "(service web) scaled from 1 to 3: average CPU 400% > target 50% (held at maxCapacity 3) (autoscaler web-cpu)."
        ]
    );
}
