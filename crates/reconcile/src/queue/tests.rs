use std::time::Duration;

use tokio::time::{Instant, advance, timeout};

use super::*;

fn queue() -> WorkQueue<&'static str> {
    WorkQueue::new(QueueConfig::default())
}

/// Lease the next key if one is due right now, without letting paused time move.
async fn ready(queue: &WorkQueue<&'static str>) -> Option<Lease<&'static str>> {
    timeout(Duration::ZERO, queue.next()).await.ok().flatten()
}

async fn key(queue: &WorkQueue<&'static str>) -> &'static str {
    *ready(queue).await.expect("a key is due").key()
}

#[tokio::test(start_paused = true)]
async fn a_key_added_twice_before_it_runs_comes_out_once() {
    let q = queue();
    q.add("a");
    q.add("b");
    q.add("a");
    q.add("a");
    assert_eq!(q.len(), 2);
    assert_eq!(key(&q).await, "a");
    assert_eq!(key(&q).await, "b");
    assert!(ready(&q).await.is_none());
    assert!(q.is_empty());
}

#[tokio::test(start_paused = true)]
async fn keys_due_together_come_out_in_insertion_order() {
    let q = queue();
    for k in ["c", "a", "b"] {
        q.add(k);
    }
    let mut order = Vec::new();
    while let Some(lease) = ready(&q).await {
        order.push(*lease.key());
    }
    assert_eq!(order, ["c", "a", "b"]);
}

#[tokio::test(start_paused = true)]
async fn an_in_flight_key_is_not_handed_out_again_until_its_lease_drops() {
    let q = queue();
    q.add("a");
    let lease = ready(&q).await.expect("a is due");
    assert_eq!(q.in_flight(), 1);

    q.add("a");
    q.add("a");
    assert_eq!(q.len(), 1, "parked once");
    assert!(ready(&q).await.is_none(), "a is in flight");

    drop(lease);
    assert_eq!(q.in_flight(), 0);
    assert_eq!(key(&q).await, "a");
    assert!(ready(&q).await.is_none(), "the two adds ran once");
}

#[tokio::test(start_paused = true)]
async fn a_waiting_consumer_wakes_when_a_parked_key_is_released() {
    let q = Arc::new(queue());
    q.add("a");
    let lease = ready(&q).await.expect("a is due");
    q.add("a");
    let waiter = tokio::spawn({
        let q = Arc::clone(&q);
        async move { q.next().await.map(|l| *l.key()) }
    });
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    drop(lease);
    assert_eq!(waiter.await.expect("joined"), Some("a"));
}

#[tokio::test(start_paused = true)]
async fn add_after_waits_for_its_deadline() {
    let q = queue();
    let start = Instant::now();
    q.add_after("a", Duration::from_secs(10));
    assert_eq!(q.len(), 1);
    assert!(ready(&q).await.is_none());

    let lease = q.next().await.expect("not shut down");
    assert_eq!(*lease.key(), "a");
    assert_eq!(Instant::now() - start, Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn the_earliest_deadline_wins() {
    let q = queue();
    let start = Instant::now();
    q.add_after("a", Duration::from_secs(30));
    q.add_after("a", Duration::from_secs(5));
    q.add_after("a", Duration::from_secs(20));
    assert_eq!(q.len(), 1);
    q.next().await.expect("a");
    assert_eq!(Instant::now() - start, Duration::from_secs(5));
    assert!(q.is_empty(), "the later deadlines merged into the earliest");

    // An immediate add overrides a pending delay.
    q.add_after("b", Duration::from_secs(60));
    q.add("b");
    assert_eq!(key(&q).await, "b");
}

#[tokio::test(start_paused = true)]
async fn an_earlier_add_wakes_a_consumer_sleeping_on_a_later_deadline() {
    let q = Arc::new(queue());
    let start = Instant::now();
    q.add_after("late", Duration::from_secs(60));
    let waiter = tokio::spawn({
        let q = Arc::clone(&q);
        async move { q.next().await.map(|l| (*l.key(), Instant::now())) }
    });
    advance(Duration::from_secs(1)).await;
    q.add_after("soon", Duration::from_secs(2));
    let (key, at) = waiter.await.expect("joined").expect("not shut down");
    assert_eq!(key, "soon");
    assert_eq!(at - start, Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn parked_adds_keep_the_earliest_deadline() {
    let q = queue();
    q.add("a");
    let lease = ready(&q).await.expect("a");
    q.add_after("a", Duration::from_secs(30));
    q.add_after("a", Duration::from_secs(10));
    advance(Duration::from_secs(4)).await;
    let released = Instant::now();
    drop(lease);
    assert!(ready(&q).await.is_none(), "the parked deadline still holds");
    q.next().await.expect("a");
    assert_eq!(Instant::now() - released, Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn failures_count_up_and_reset() {
    let q = WorkQueue::new(QueueConfig::default().with_backoff(
        Backoff::new(Duration::from_millis(100), Duration::from_millis(250)).expect("valid"),
    ));
    q.add("a");
    assert_eq!(ready(&q).await.expect("a").attempt(), 1);
    assert_eq!(q.record_failure(&"a"), 1);
    assert_eq!(q.backoff_delay(&"a"), Duration::from_millis(100));
    assert_eq!(q.record_failure(&"a"), 2);
    assert_eq!(q.backoff_delay(&"a"), Duration::from_millis(200));
    assert_eq!(q.record_failure(&"a"), 3);
    assert_eq!(q.backoff_delay(&"a"), Duration::from_millis(250));
    q.add("a");
    assert_eq!(ready(&q).await.expect("a").attempt(), 4);
    assert_eq!(q.failures(&"b"), 0, "counts are per key");

    q.forget(&"a");
    assert_eq!(q.failures(&"a"), 0);
    q.add("a");
    assert_eq!(ready(&q).await.expect("a").attempt(), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_drops_pending_work_and_releases_waiters() {
    let q = Arc::new(queue());
    q.add("a");
    q.add_after("b", Duration::from_secs(1));
    let lease = ready(&q).await.expect("a");
    q.add("a");

    let waiter = tokio::spawn({
        let q = Arc::clone(&q);
        async move { q.next().await.map(|l| *l.key()) }
    });
    tokio::task::yield_now().await;
    q.shutdown();
    assert_eq!(waiter.await.expect("joined"), None);
    assert!(q.is_shutdown() && q.handle().is_shutdown());
    assert!(q.is_empty());

    q.add("c");
    q.handle().add_after("d", Duration::from_secs(1));
    assert!(q.is_empty(), "adds after shutdown are ignored");

    // The in-flight lease may still finish; its parked re-add is dropped.
    assert_eq!(q.in_flight(), 1);
    drop(lease);
    assert_eq!(q.in_flight(), 0);
    assert!(q.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn handles_enqueue_from_other_tasks() {
    let q = queue();
    let handle = q.handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        handle.clone().add("from-a-watch");
    });
    let lease = q.next().await.expect("not shut down");
    assert_eq!(*lease.key(), "from-a-watch");
}

#[tokio::test(start_paused = true)]
async fn an_overflowing_delay_means_never_rather_than_a_panic() {
    let q = queue();
    q.add_after("a", Duration::MAX);
    assert_eq!(q.len(), 1);
    assert!(
        timeout(Duration::from_secs(86_400 * 365), q.next())
            .await
            .is_err()
    );
}
