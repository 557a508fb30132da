//! Tests that need to reach past the `Store` trait into sled.
#![allow(clippy::unwrap_used)]

use super::SledStore;
use crate::keys::event_key;
use crate::{ListQuery, Store, StoreError};
use api::{Kind, Object, ObjectKey};
use serde_json::json;

#[tokio::test]
async fn corrupt_values_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    store
        .apply(Object::new(Kind::Service, "web", json!({})))
        .unwrap();
    store
        .trees
        .objects
        .insert("Service/default/web", &b"{not json"[..])
        .unwrap();
    store
        .trees
        .events
        .insert(event_key(1), &b"\xff"[..])
        .unwrap();

    let err = store
        .get(&ObjectKey::new(Kind::Service, None, "web"))
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { key, .. } if key == "Service/default/web"),
        "{err}"
    );
    assert!(err.to_string().contains("Service/default/web"));
    let err = store.list(&ListQuery::new(Kind::Service)).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }));
    let err = store
        .apply(Object::new(Kind::Service, "web", json!({"a": 1})))
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }));

    let mut watch = store.watch(0).unwrap();
    let err = watch.next().await.unwrap().unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { key, .. } if key == "event 1"),
        "{err}"
    );
    assert!(watch.next().await.is_none(), "a watch ends after an error");

    store.trees.meta.insert("revision", &b"short"[..]).unwrap();
    drop(watch);
    drop(store);
    let err = SledStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

/// Apply latency including the flush. Run with
/// `cargo test -p ecsctl-store --release -- --ignored --nocapture apply_latency`.
#[test]
#[ignore]
fn apply_latency() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut times = Vec::new();
    for i in 0..1000u64 {
        let obj = Object::new(
            Kind::Service,
            format!("s{}", i % 50),
            json!({"desiredCount": i}),
        );
        let start = std::time::Instant::now();
        store.apply(obj).unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "apply latency: p50 {:?} p99 {:?} max {:?}",
        p(0.5),
        p(0.99),
        p(1.0)
    );
}
