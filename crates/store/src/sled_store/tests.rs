//! Tests that need to reach past the `Store` trait into sled.
#![allow(clippy::unwrap_used)]

use super::{SledStore, labels};
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

/// What only sled's trees can show of Secret values (their contract is the contract
/// suite's, tests/store/secrets.rs, run on sled too): no tree but `secrets` ever holds a
/// value, across a reopen, and a delete empties it.
#[test]
fn secret_values_stay_in_their_own_tree() {
    let dir = tempfile::tempdir().unwrap();
    let key = ObjectKey::new(Kind::Secret, None, "db-password");
    let secret = |v: &str| Object::new(Kind::Secret, "db-password", json!({"value": v}));
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.apply(secret("hunter2-original")).unwrap();
        store.apply(secret("hunter2-changed")).unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    for tree in [&store.trees.objects, &store.trees.events, &store.trees.meta] {
        for entry in tree.iter() {
            let (_, v) = entry.unwrap();
            assert!(!String::from_utf8_lossy(&v).contains("hunter2"));
        }
    }
    assert_eq!(store.trees.secrets.len(), 1);
    store.delete(&key).unwrap();
    assert!(store.trees.secrets.is_empty());
}

/// A data directory written before Secrets belonged to a cluster keeps `Secret/NAME`; the
/// store moves such Secrets into the default cluster when it opens (object, value and label
/// index), and a Secret of another cluster with the same name stays apart.
#[test]
fn secrets_stored_without_a_cluster_move_into_the_default_cluster() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        // The old layout, as an older server wrote it.
        let old = json!({"apiVersion": "ecs/v1", "kind": "Secret",
            "metadata": {"name": "db", "labels": {"team": "shop"}, "resourceVersion": 7},
            "spec": {}, "status": {"valueBytes": 6}});
        store
            .trees
            .objects
            .insert("Secret/db", serde_json::to_vec(&old).unwrap())
            .unwrap();
        store.trees.secrets.insert("Secret/db", "s3cret").unwrap();
        store
            .trees
            .labels
            .insert(labels::entry("Secret", ("team", "shop"), "Secret/db"), &[])
            .unwrap();
        store.db.flush().unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    let key = ObjectKey::new(Kind::Secret, None, "db");
    assert_eq!(key.cluster.as_deref(), Some("default"));
    let moved = store
        .get(&key)
        .unwrap()
        .expect("the Secret is in the default cluster");
    assert_eq!(moved.metadata.cluster.as_deref(), Some("default"));
    assert_eq!(moved.metadata.resource_version, Some(7));
    assert_eq!(store.secret_value(&key).unwrap().as_deref(), Some("s3cret"));
    assert!(store.trees.objects.get("Secret/db").unwrap().is_none());
    assert!(store.trees.secrets.get("Secret/db").unwrap().is_none());
    let by_label = store
        .list(&crate::ListQuery::new(Kind::Secret).with_label("team", "shop"))
        .unwrap();
    assert_eq!(by_label.items.len(), 1, "the label index follows the move");
    // Another cluster's Secret of the same name is another Secret.
    let shop = ObjectKey::new(Kind::Secret, Some("shop"), "db");
    assert_eq!(store.secret_value(&shop).unwrap(), None);
    let mut other = Object::new(Kind::Secret, "db", json!({"value": "other"}));
    other.metadata.cluster = Some("shop".to_string());
    store.apply(other).unwrap();
    assert_eq!(store.secret_value(&shop).unwrap().as_deref(), Some("other"));
    assert_eq!(store.secret_value(&key).unwrap().as_deref(), Some("s3cret"));
    drop(store);
    // Opening again moves nothing more and loses nothing.
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.secret_value(&key).unwrap().as_deref(), Some("s3cret"));
}
