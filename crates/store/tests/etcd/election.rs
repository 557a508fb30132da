//! The leader election and the fence on a leader's writes.

use super::*;
use ecsctl_store::{ApplyResult, Election};

/// Server `id`'s candidacy, with a lease of 2 s.
/// The candidates' lease.
const TTL: Duration = Duration::from_secs(2);

fn election(store: &EtcdStore, id: &str) -> Election {
    Election::new(store, id, format!("server-{id}:8080"), TTL)
}

/// The refusal of a fenced write by a server that no longer leads.
fn assert_refused_as_former_leader(result: Result<ApplyResult, StoreError>, holder: &str) {
    match result {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("no longer the leader"), "{message}");
            assert!(
                message.contains(holder),
                "{message} does not say {holder:?}"
            );
        }
        other => panic!("a former leader's fenced write was not refused: {other:?}"),
    }
}

/// Two candidates: one leads, the other waits (past the lease's TTL: the leader keeps its
/// lease alive), both see who leads; after the leader resigns the other takes over at once,
/// and the former leader's fenced store can no longer write while its plain store can.
#[tokio::test]
async fn one_leader_at_a_time_and_a_former_leader_is_fenced_off() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let (store_a, store_b) = (connect(&cluster, &prefix), connect(&cluster, &prefix));
    let (a, b) = (election(&store_a, "a"), election(&store_b, "b"));
    let leading_a = tokio::time::timeout(STEP, a.campaign())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leading_a.id(), "a");
    let mut campaign_b = tokio::spawn({
        let b = b.clone();
        async move { b.campaign().await }
    });
    let pending = tokio::time::timeout(a.ttl() + Duration::from_millis(500), &mut campaign_b);
    assert!(pending.await.is_err(), "b was elected while a leads");
    for candidate in [&a, &b] {
        let leader = candidate.leader().await.unwrap().expect("a leader");
        assert_eq!(
            (leader.id.as_str(), leader.address.as_str()),
            ("a", "server-a:8080")
        );
    }

    let fenced_a = store_a.fenced(&leading_a);
    fenced_a.apply(svc("by-leader-a", 1)).unwrap();
    leading_a.resign().await;
    let leading_b = tokio::time::timeout(Duration::from_millis(1500), campaign_b)
        .await
        .expect("b not elected soon after a resigned")
        .unwrap()
        .unwrap();
    assert_eq!(leading_b.id(), "b");
    assert_eq!(
        a.leader().await.unwrap().map(|l| l.id).as_deref(),
        Some("b")
    );

    assert_refused_as_former_leader(fenced_a.apply(svc("by-former-a", 1)), "b leads");
    assert_eq!(store_a.get(&service("by-former-a")).unwrap(), None);
    store_a.apply(svc("by-server-a", 1)).unwrap();
    store_b
        .fenced(&leading_b)
        .apply(svc("by-leader-b", 1))
        .unwrap();
    assert!(store_b.get(&service("by-server-a")).unwrap().is_some());
}

/// The leader key's value and lease, read through the gateway behind the store's back.
fn leader_key_lease(cluster: &EtcdCluster, prefix: &str) -> Option<String> {
    let reply = cluster
        .gateway(
            0,
            "/v3/kv/range",
            &json!({"key": b64(format!("{prefix}/leader"))}),
        )
        .unwrap();
    reply["kvs"][0]["lease"].as_str().map(str::to_string)
}

/// The leader key deleted behind the leader's back (by hand, or by another tool): the
/// fenced store's writes are refused although the leader's lease is alive, and the leader
/// counts itself lost at its next keep-alive.
#[tokio::test]
async fn a_leader_whose_key_was_deleted_cannot_write() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let store = connect(&cluster, &prefix);
    let leading = tokio::time::timeout(STEP, election(&store, "a").campaign())
        .await
        .unwrap()
        .unwrap();
    let fenced = store.fenced(&leading);
    fenced.apply(svc("while-leading", 1)).unwrap();
    assert!(
        leader_key_lease(&cluster, &prefix).is_some(),
        "the leader key has no lease"
    );

    cluster
        .gateway(
            0,
            "/v3/kv/deleterange",
            &json!({"key": b64(format!("{prefix}/leader"))}),
        )
        .unwrap();
    assert_refused_as_former_leader(fenced.apply(svc("after", 1)), "none elected");
    assert_eq!(store.get(&service("after")).unwrap(), None);
    store.apply(svc("unfenced", 1)).unwrap();
    // The lease itself is still alive: the next keep-alive finds the key gone.
    tokio::time::timeout(TTL, leading.lost())
        .await
        .expect("a leader whose key was deleted did not count itself lost within the TTL");
}

/// The leader's lease revoked behind its back: the leader key goes with it, fenced writes
/// are refused, and the leadership reports itself lost within the lease's TTL.
#[tokio::test]
async fn a_leader_whose_lease_was_revoked_is_lost_within_the_ttl() {
    let cluster = EtcdCluster::start(1).unwrap();
    let prefix = unique_prefix();
    let store = connect(&cluster, &prefix);
    let candidate = election(&store, "a");
    let leading = tokio::time::timeout(STEP, candidate.campaign())
        .await
        .unwrap()
        .unwrap();
    let fenced = store.fenced(&leading);
    fenced.apply(svc("while-leading", 1)).unwrap();

    let lease = leader_key_lease(&cluster, &prefix).expect("the leader key has a lease");
    cluster
        .gateway(0, "/v3/lease/revoke", &json!({ "ID": lease }))
        .unwrap();
    assert_refused_as_former_leader(fenced.apply(svc("after", 1)), "none elected");
    assert_eq!(candidate.leader().await.unwrap(), None);
    tokio::time::timeout(candidate.ttl(), leading.lost())
        .await
        .expect("the leadership was not lost within the TTL");
    assert!(leading.is_lost());
}
