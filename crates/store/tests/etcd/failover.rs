//! The loss of an etcd member, while the store writes, lists and watches.

use super::*;

/// Kills `member`, then writes, lists and watches through `store` while it is down, and
/// restarts it. Each call must succeed within [`STEP`] (the store may take longer: its
/// request timeout is longer here): a new etcd leader is elected within a second on these
/// clusters, and a request caught by the election fails after etcd's own request timeout
/// (6 s here) and is retried.
async fn ride_out_the_loss_of(
    cluster: &mut EtcdCluster,
    member: usize,
    store: &EtcdStore,
    watch: &mut Watch,
) {
    let before = store.list(&ListQuery::new(Kind::Service)).unwrap().revision;
    cluster.kill(member).unwrap();
    let names: Vec<String> = (0..3).map(|i| format!("m{member}-down-{i}")).collect();
    for name in &names {
        let started = Instant::now();
        store.apply(svc(name, 1)).unwrap();
        assert!(
            started.elapsed() < STEP,
            "an apply took {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let listed = store.list(&ListQuery::new(Kind::Service)).unwrap();
    assert!(
        started.elapsed() < STEP,
        "a list took {:?}",
        started.elapsed()
    );
    assert_eq!(listed.revision, before + 3);
    for name in &names {
        assert!(
            listed.items.iter().any(|o| &o.metadata.name == name),
            "{name} not listed"
        );
    }
    let events = events_through(watch, before + 3).await;
    let seen: Vec<String> = events
        .iter()
        .map(|e| e.object.metadata.name.clone())
        .collect();
    assert_eq!(
        revisions(&events),
        (before + 1..=before + 3).collect::<Vec<_>>()
    );
    assert_eq!(seen, names);
    cluster.restart(member).unwrap();
}

/// A store given every member goes on through the loss of the member it talks to (its
/// watch included) and through the loss of etcd's leader.
#[tokio::test]
async fn the_store_rides_out_the_loss_of_a_member() {
    let mut cluster = EtcdCluster::start(3).unwrap();
    let prefix = unique_prefix();
    let mut options = options(&cluster, &prefix);
    options.request_timeout = 2 * STEP;
    let store = EtcdStore::connect(options).unwrap();
    assert_eq!(store.endpoints(), cluster.endpoints());
    store.apply(svc("before", 1)).unwrap();
    let mut watch = store.watch(0).unwrap();
    assert_eq!(next_event(&mut watch).await.revision, 1);

    // The first endpoint: the member the store, and its watch, use until it fails.
    ride_out_the_loss_of(&mut cluster, 0, &store, &mut watch).await;
    // The leader (maybe member 0 again, since re-elected): writes wait for a new one.
    let leader = cluster.leader().expect("the cluster has a leader");
    ride_out_the_loss_of(&mut cluster, leader, &store, &mut watch).await;

    for member in 0..cluster.len() {
        assert!(cluster.health(member), "member {member} is not healthy");
    }
    assert_eq!(
        store
            .list(&ListQuery::new(Kind::Service))
            .unwrap()
            .items
            .len(),
        7
    );
}
