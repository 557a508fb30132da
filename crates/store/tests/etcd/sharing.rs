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

/// Range requests member `member` of `cluster` has answered so far (etcd's gRPC counter of
/// its KV service).
fn ranges_served(cluster: &EtcdCluster, member: usize) -> u64 {
    use std::io::{Read, Write};
    let endpoint = &cluster.endpoints()[member];
    let mut conn = std::net::TcpStream::connect(endpoint).unwrap();
    conn.set_read_timeout(Some(STEP)).unwrap();
    conn.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {endpoint}\r\n\r\n").as_bytes())
        .unwrap();
    let mut metrics = String::new();
    conn.read_to_string(&mut metrics).unwrap();
    metrics
        .lines()
        .filter(|l| {
            l.starts_with("grpc_server_handled_total{")
                && l.contains(r#"grpc_method="Range""#)
                && l.contains(r#"grpc_service="etcdserverpb.KV""#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn taskdef(image: &str) -> Object {
    Object::new(
        Kind::TaskDefinition,
        "web",
        json!({"family": "web", "containerDefinitions": [{"name": "app", "image": image}]}),
    )
}

/// A server's next write plans on what its last write read and wrote (nothing was written in
/// between, or its transaction would have failed): registrations in a row read nothing from
/// etcd. Another server's write in between is not missed: the next write plans on a fresh
/// read and numbers the revision after the other server's.
#[tokio::test]
async fn writes_in_a_row_plan_on_what_the_last_one_left_and_see_other_servers_writes() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let (a, b) = (connect(&cluster, &prefix), connect(&cluster, &prefix));
    let name = Object::display_name;

    assert_eq!(name(&a.apply(taskdef("web:1")).unwrap().object), "web:1");
    let before = ranges_served(&cluster, 0);
    for n in 2..=6 {
        let registered = a.apply(taskdef(&format!("web:{n}"))).unwrap().object;
        assert_eq!(name(&registered), format!("web:{n}"));
    }
    assert_eq!(
        ranges_served(&cluster, 0) - before,
        0,
        "registrations after the first read nothing"
    );

    // b registers the next revision; a, unaware, plans on its view, its transaction fails,
    // and it registers the one after b's.
    assert_eq!(name(&b.apply(taskdef("web:7")).unwrap().object), "web:7");
    let registered = a.apply(taskdef("web:8")).unwrap().object;
    assert_eq!(name(&registered), "web:8");
    assert_eq!(registered.metadata.resource_version, Some(8));
    // An unchanged definition is no new revision, whichever server last wrote it.
    let again = b.apply(taskdef("web:8")).unwrap();
    assert_eq!(name(&again.object), "web:8");
    assert_eq!(again.action, ecsctl_store::ApplyAction::Unchanged);
    let family = a.list(&ListQuery::new(Kind::TaskDefinition)).unwrap().items;
    assert_eq!(family.len(), 8);
    assert_eq!(
        b.get(&ObjectKey::new(Kind::TaskDefinition, None, "web"))
            .unwrap()
            .map(|o| o.display_name()),
        Some("web:8".to_string())
    );
}
