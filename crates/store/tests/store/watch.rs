//! Watches: replay, live, lag recovery, expiry.

use super::{key, open, svc};
use api::Kind;
use ecsctl_store::{StoreError, WatchEventType};

#[tokio::test]
async fn watch_replays_then_streams_live_without_gaps_or_dupes() {
    let (_d, store) = open();
    let store = std::sync::Arc::new(store);
    for i in 0..5 {
        store.apply(svc(&format!("s{i}"), 1)).unwrap();
    }
    let mut watch = store.watch(2).unwrap();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                store.apply(svc(&format!("s{}", i % 7), i + 1000)).unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    while seen.last() != Some(&205) {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(20), watch.next())
            .await
            .expect("watch stalled")
            .unwrap()
            .unwrap();
        assert_eq!(ev.object.metadata.resource_version, Some(ev.revision));
        seen.push(ev.revision);
    }
    writer.join().unwrap();
    assert_eq!(seen, (3..=205).collect::<Vec<_>>());
}

#[tokio::test]
async fn watch_reports_event_types() {
    let (_d, store) = open();
    let mut watch = store.watch(0).unwrap();
    store.apply(svc("web", 1)).unwrap();
    store.apply(svc("web", 2)).unwrap();
    store.delete(&key(Kind::Service, "web")).unwrap();
    let mut types = Vec::new();
    for _ in 0..3 {
        types.push(watch.next().await.unwrap().unwrap().event_type);
    }
    assert_eq!(
        types,
        [
            WatchEventType::Added,
            WatchEventType::Modified,
            WatchEventType::Deleted
        ]
    );
    drop(store);
    assert!(
        watch.next().await.is_none(),
        "the watch ends when the store closes"
    );
}

#[tokio::test]
async fn a_lagging_watch_catches_up_from_the_log() {
    let (_d, store) = open();
    let mut watch = store.watch(0).unwrap();
    // One batch of more events than the live channel holds: the watch must fall back to
    // the log instead of losing any.
    let objs: Vec<_> = (0..1500).map(|i| svc(&format!("s{i}"), 1)).collect();
    store.apply_all(objs, false).unwrap();
    store.apply(svc("last", 1)).unwrap();
    for expected in 1..=1501 {
        let ev = watch.next().await.unwrap().unwrap();
        assert_eq!(ev.revision, expected);
    }
}

#[tokio::test]
async fn watch_from_before_the_log_is_expired() {
    let (fixture, store) = open();
    drop(store);
    let store = fixture.reopen(Some(5));
    for i in 0..20 {
        store.apply(svc(&format!("s{i}"), 1)).unwrap();
    }
    let err = store.watch(3).unwrap_err();
    assert_eq!(
        err,
        StoreError::Expired {
            from: 3,
            oldest: 16
        }
    );
    let mut watch = store.watch(15).unwrap();
    assert_eq!(watch.next().await.unwrap().unwrap().revision, 16);
    // Reopening with a smaller capacity trims the log.
    drop(watch);
    drop(store);
    // Sled trims its log when it opens; etcd's log follows the capacity with the next write.
    let store = fixture.reopen(Some(2));
    store.apply(svc("s20", 1)).unwrap();
    assert!(matches!(
        store.watch(18),
        Err(StoreError::Expired { oldest: 20, .. })
    ));
    assert!(store.watch(19).is_ok());
    assert!(
        store.watch(25).is_ok(),
        "a watch from the future waits for live events"
    );
}
