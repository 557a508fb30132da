//! Reconcile throughput on the FakeRuntime: SERVICES services x 10 tasks (default 1,000 x 10)
//! converge from scratch, then one more pass over everything (steady state).
//! `cargo bench -p ecsctl-controllers --bench scale` (SERVICES=100 for a quick look).
//! Targets: converge < 10 s, steady-state pass < 1 s, memory < 200 MB.
//!
//! Then placement over many hosts: the same services on a fresh store with 100 container
//! instances (three zones, spread on zone then binpack on memory), timed from the first
//! service pass until every task exists, placed and written (the service controller as it
//! runs in the server: placement, the ledger and the store writes), beside Nomad's
//! published C1M rate (3,750 placements/s, five servers, end to end).

use api::{Kind, Object, ObjectKey};
use ecsctl_controllers::Context;
use ecsctl_controllers::service::reconciler::reconcile_service;
use ecsctl_controllers::task::reconciler::reconcile_task;
use runtime::FakeRuntime;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use store::{ListQuery, SledStore, Store};

fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn pass(ctx: &Context, store: &SledStore) -> usize {
    let mut n = 0;
    let t = Instant::now();
    for s in store
        .list(&ListQuery::new(Kind::Service))
        .expect("list")
        .items
    {
        reconcile_service(ctx, &s.key()).await.expect("service");
        n += 1;
    }
    let services = t.elapsed();
    let t = Instant::now();
    for t in store.list(&ListQuery::new(Kind::Task)).expect("list").items {
        reconcile_task(ctx, &t.key()).await.expect("task");
        n += 1;
    }
    if std::env::var_os("VERBOSE").is_some() {
        eprintln!(
            "pass: services {:.3} s, tasks {:.3} s",
            services.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
    }
    n
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let services: usize = std::env::var("SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path().join("store")).expect("store"));
    let fake = Arc::new(FakeRuntime::with_images(["img"]));
    let ctx = Context::new(store.clone(), fake.clone(), "bench");
    // The bench's 10,000 tasks reserve 160 GB: declare an instance that big (placement is
    // part of what is measured).
    store
        .apply(Object::new(
            Kind::Cluster,
            "default",
            json!({"capacity": {"cpu": 1_000_000, "memory": 1_000_000}}),
        ))
        .expect("cluster");
    seed_services(&store, services, json!({}));

    let t0 = Instant::now();
    let mut rounds = 0;
    loop {
        rounds += 1;
        pass(&ctx, &store).await;
        let running = fake.containers().len();
        let steady = store
            .list(&ListQuery::new(Kind::Service))
            .expect("list")
            .items
            .iter()
            .all(|s| {
                s.status
                    .get("conditions")
                    .and_then(|c| c.as_array())
                    .is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "SteadyState" && c["status"] == "True")
                    })
            });
        if running == services * 10 && steady {
            break;
        }
        assert!(
            rounds < 20,
            "not converged after {rounds} passes ({running} containers)"
        );
    }
    let converge = t0.elapsed();
    let rev = store.revision();
    fake.clear_calls();
    let t1 = Instant::now();
    let n = pass(&ctx, &store).await;
    let steady = t1.elapsed();
    assert_eq!(store.revision(), rev, "a steady-state pass writes nothing");
    assert_eq!(fake.mutating_call_count(), 0);
    let _ = ObjectKey::new(Kind::Service, None, "svc-0");
    let placed = place_over_instances(services).await;
    println!(
        "{services} services x 10 tasks: converged from scratch in {:.2} s ({rounds} passes; target < 10 s); steady-state pass over {n} objects {:.3} s (target < 1 s); peak RSS {:.0} MiB (target < 200)",
        converge.as_secs_f64(),
        steady.as_secs_f64(),
        rss_mib()
    );
    println!("{placed}");
}

/// The task definition `web` (16 MiB) and `services` services of 10 of its tasks, each spec
/// with the fields of `extra`.
fn seed_services(store: &SledStore, services: usize, extra: serde_json::Value) {
    store
        .apply(Object::new(
            Kind::TaskDefinition,
            "web",
            json!({"containerDefinitions": [{"name": "app", "image": "img", "memory": 16}]}),
        ))
        .expect("td");
    let objects: Vec<Object> = (0..services)
        .map(|i| {
            let mut spec = json!({"taskDefinition": "web", "desiredCount": 10});
            if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
                s.extend(e.clone());
            }
            Object::new(Kind::Service, format!("svc-{i}"), spec)
        })
        .collect();
    store.apply_all(objects, false).expect("services");
}

/// Nomad's C1M rate as HashiCorp published it.
const NOMAD_C1M_PER_S: f64 = 3750.0;
const INSTANCES: usize = 100;

/// `services` x 10 tasks placed over 100 fake container instances: the rate, and its ratio
/// to Nomad's.
async fn place_over_instances(services: usize) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path().join("store")).expect("store"));
    let fake = Arc::new(FakeRuntime::with_images(["img"]));
    let ctx = Context::new(store.clone(), fake, "bench");
    let instances: Vec<Object> = (0..INSTANCES)
        .map(|i| {
            let mut o = Object::new(Kind::ContainerInstance, format!("ci-{i:03}"), json!({}));
            o.metadata.cluster = Some("default".into());
            o
        })
        .collect();
    store.apply_all(instances, false).expect("instances");
    for i in 0..INSTANCES {
        let key = ObjectKey::new(
            Kind::ContainerInstance,
            Some("default"),
            &format!("ci-{i:03}"),
        );
        let zone = ["a", "b", "c"][i % 3];
        store
            .update_status(
                &key,
                json!({"status": "ACTIVE", "agentConnected": true,
                    "registeredResources": {"cpu": 4096, "memory": 16384},
                    "remainingResources": {"cpu": 4096, "memory": 16384},
                    "attributes": {"ecs.availability-zone": zone}}),
                None,
            )
            .expect("instance status");
    }
    seed_services(
        &store,
        services,
        json!({"placementStrategy": [
            {"type": "spread", "field": "attribute:ecs.availability-zone"},
            {"type": "binpack", "field": "memory"}]}),
    );
    ctx.ledger().rebuild(store.as_ref());
    let keys: Vec<ObjectKey> = store
        .list(&ListQuery::new(Kind::Service))
        .expect("list")
        .items
        .iter()
        .map(Object::key)
        .collect();
    let t0 = Instant::now();
    for key in &keys {
        reconcile_service(&ctx, key).await.expect("service");
    }
    let took = t0.elapsed();
    let tasks = store.list(&ListQuery::new(Kind::Task)).expect("list").items;
    let placed = tasks
        .iter()
        .filter(|t| t.spec.get("containerInstance").is_some())
        .count();
    assert_eq!(placed, services * 10, "every task placed in one pass");
    let rate = placed as f64 / took.as_secs_f64();
    format!(
        "placement over {INSTANCES} instances: {placed} tasks placed and written in {:.2} s = {rate:.0}/s, {:.2}x Nomad's C1M rate ({NOMAD_C1M_PER_S:.0}/s)",
        took.as_secs_f64(),
        rate / NOMAD_C1M_PER_S
    )
}
