//! Compaction of etcd's history, which the store's watches must not notice.

use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn apply_services(store: &EtcdStore, names: std::ops::Range<u64>) {
    for i in names {
        store.apply(svc(&format!("s{i}"), i)).unwrap();
    }
}

/// Compacting etcd's history takes nothing from the store's own event log: a watch open
/// across the compaction keeps going, and one started after it from an old store revision
/// replays every event once, in order.
#[tokio::test]
async fn compacting_etcds_history_loses_no_event() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let store = connect(&cluster, &prefix);
    apply_services(&store, 0..10);
    let mut open = store.watch(0).unwrap();
    assert_eq!(
        revisions(&events_through(&mut open, 10).await),
        (1..=10).collect::<Vec<_>>()
    );

    // The first call compacts nothing and says where etcd is; the next compacts up to there.
    let first = store.compact(None).unwrap();
    apply_services(&store, 10..20);
    let second = store.compact(Some(first)).unwrap();
    assert!(second > first, "{second} after {first}");
    let old_read = cluster.gateway(
        0,
        "/v3/kv/range",
        &json!({"key": b64(format!("{prefix}/m/revision")), "revision": first - 1}),
    );
    let refused = old_read.expect_err("etcd still has the history compact() removed");
    assert!(refused.to_string().contains("compacted"), "{refused}");
    // Another server compacted as far already: no error.
    assert!(store.compact(Some(first)).unwrap() >= second);

    // Writes go on with a compaction after each, up to where the one before left etcd.
    let mut at = second;
    for i in 20..30 {
        store.apply(svc(&format!("s{i}"), i)).unwrap();
        at = store.compact(Some(at)).unwrap();
    }
    let mut late = store.watch(3).unwrap();
    assert_eq!(
        revisions(&events_through(&mut open, 30).await),
        (11..=30).collect::<Vec<_>>()
    );
    assert_eq!(
        revisions(&events_through(&mut late, 30).await),
        (4..=30).collect::<Vec<_>>()
    );
}

/// Watches started while one thread writes and another compacts etcd's history to its
/// newest revision again and again: some watches ask etcd for history it just compacted
/// (between reading the event log and watching from there), are refused, and must catch
/// up from the log; every watch still yields each event once, in order. (About five in 200
/// watches take that path on a 2-core machine.)
#[tokio::test]
async fn watches_started_during_compactions_yield_every_event_once() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let store = connect(&cluster, &prefix);
    apply_services(&store, 0..10);
    let writing = Arc::new(AtomicBool::new(true));
    let compactor = {
        let (store, writing) = (store.clone(), writing.clone());
        std::thread::spawn(move || {
            while writing.load(Ordering::Relaxed) {
                let now = store.compact(None).unwrap();
                store.compact(Some(now)).unwrap();
            }
        })
    };
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || apply_services(&store, 10..210))
    };
    let mut watches = Vec::new();
    while !writer.is_finished() {
        let from = store.revision().saturating_sub(3);
        watches.push((from, store.watch(from).unwrap()));
        std::thread::sleep(Duration::from_millis(10));
    }
    writer.join().unwrap();
    writing.store(false, Ordering::Relaxed);
    compactor.join().unwrap();
    assert!(
        watches.len() >= 20,
        "only {} watches started",
        watches.len()
    );
    let checks = watches.into_iter().map(|(from, mut watch)| async move {
        assert_eq!(
            revisions(&events_through(&mut watch, 210).await),
            (from + 1..=210).collect::<Vec<_>>(),
            "the watch from {from}"
        );
    });
    futures::future::join_all(checks).await;
}
