//! Several servers on one state: what one writes the others read and watch, and writers
//! racing each other lose nothing.

use super::*;

/// Two stores on one prefix are two servers on one state: what one writes, the other reads
/// at once (no cache in between), and both watches see one sequence of revisions.
#[tokio::test]
async fn two_servers_on_one_prefix_share_one_state() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let (a, b) = (connect(&cluster, &prefix), connect(&cluster, &prefix));
    let mut watch_a = a.watch(0).unwrap();
    let mut watch_b = b.watch(0).unwrap();

    let created = a.apply(svc("web", 1)).unwrap().object;
    assert_eq!(created.metadata.resource_version, Some(1));
    assert_eq!(b.get(&service("web")).unwrap(), Some(created.clone()));
    let listed = b.list(&ListQuery::new(Kind::Service)).unwrap();
    assert_eq!((listed.items, listed.revision), (vec![created], 1));
    assert_eq!(b.revision(), 1, "b learned the revision from its list");

    // Writes alternate between the servers: one sequence of revisions, whoever writes.
    for i in 0..6 {
        let (store, other) = if i % 2 == 0 { (&b, &a) } else { (&a, &b) };
        let name = format!("s{i}");
        let written = store.apply(svc(&name, i)).unwrap().object;
        assert_eq!(written.metadata.resource_version, Some(i + 2));
        assert_eq!(other.get(&service(&name)).unwrap(), Some(written));
    }
    let updated = b.apply(svc("web", 2)).unwrap().object;
    assert_eq!(updated.metadata.resource_version, Some(8));
    assert_eq!(a.get(&service("web")).unwrap(), Some(updated));
    a.delete(&service("s0")).unwrap();
    assert_eq!(b.get(&service("s0")).unwrap(), None);
    let names: Vec<String> = b
        .list(&ListQuery::new(Kind::Service))
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.metadata.name)
        .collect();
    assert_eq!(names, ["s1", "s2", "s3", "s4", "s5", "web"]);

    let expected: Vec<(u64, WatchEventType, String)> = [
        (1, WatchEventType::Added, "web"),
        (2, WatchEventType::Added, "s0"),
        (3, WatchEventType::Added, "s1"),
        (4, WatchEventType::Added, "s2"),
        (5, WatchEventType::Added, "s3"),
        (6, WatchEventType::Added, "s4"),
        (7, WatchEventType::Added, "s5"),
        (8, WatchEventType::Modified, "web"),
        (9, WatchEventType::Deleted, "s0"),
    ]
    .into_iter()
    .map(|(r, t, n)| (r, t, n.to_string()))
    .collect();
    assert_eq!(summary(&events_through(&mut watch_a, 9).await), expected);
    assert_eq!(summary(&events_through(&mut watch_b, 9).await), expected);
}

/// 100 read-modify-write increments of `counter`'s desiredCount with its resourceVersion,
/// each retried on a conflict, and 100 applies of objects of the writer's own; returns how
/// many conflicts the writer met.
fn increment_and_write(store: &EtcdStore, writer: usize) -> usize {
    let mut conflicts = 0;
    for i in 0..100 {
        loop {
            let current = store.get(&service("counter")).unwrap().unwrap();
            let count = current.spec["desiredCount"].as_u64().unwrap();
            let mut next = current.cas_request();
            next.spec["desiredCount"] = json!(count + 1);
            match store.apply(next) {
                Ok(_) => break,
                Err(StoreError::Conflict { .. }) => conflicts += 1,
                Err(e) => panic!("writer {writer}: {e}"),
            }
        }
        store.apply(svc(&format!("w{writer}-{i}"), 1)).unwrap();
    }
    conflicts
}

/// Two servers writing at once: no increment is lost (the compare-and-swap on the
/// resourceVersion holds across connections), no object is lost, and the store revisions
/// they share are one contiguous sequence with one event each.
#[tokio::test]
async fn concurrent_writers_on_two_servers_lose_nothing() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let stores = [connect(&cluster, &prefix), connect(&cluster, &prefix)];
    stores[0].apply(svc("counter", 0)).unwrap();

    let writers: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(writer, store)| {
            let store = store.clone();
            std::thread::spawn(move || increment_and_write(&store, writer))
        })
        .collect();
    let conflicts: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();

    let counter = stores[1].get(&service("counter")).unwrap().unwrap();
    assert_eq!(
        counter.spec["desiredCount"], 200,
        "increments lost ({conflicts} conflicts retried)"
    );
    let listed = stores[0].list(&ListQuery::new(Kind::Service)).unwrap();
    let mut names: Vec<String> = listed.items.into_iter().map(|o| o.metadata.name).collect();
    names.sort();
    let mut expected: Vec<String> = (0..2)
        .flat_map(|w| (0..100).map(move |i| format!("w{w}-{i}")))
        .chain(["counter".to_string()])
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    // The counter's creation, 200 increments, 200 objects.
    assert_eq!(listed.revision, 401);

    let mut watch = stores[1].watch(0).unwrap();
    let events = events_through(&mut watch, 401).await;
    assert_eq!(revisions(&events), (1..=401).collect::<Vec<_>>());
    let counts: Vec<u64> = events
        .iter()
        .filter(|e| e.object.metadata.name == "counter")
        .map(|e| e.object.spec["desiredCount"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, (0..=200).collect::<Vec<_>>());
}
