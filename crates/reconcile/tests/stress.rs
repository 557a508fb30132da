//! Real threads, real time: many adds from several tasks while reconciles run in parallel.
//! Checks the two guarantees that matter to a level-triggered controller: a key never runs twice
//! at once, and no add is lost (every key runs at least once after its last add).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecsctl_reconcile::{Action, Controller, QueueConfig, default_error_policy};

#[derive(Debug, thiserror::Error)]
#[error("unused")]
struct Never;

const KEYS: [&str; 5] = ["a", "b", "c", "d", "e"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_adds_are_never_lost_and_never_overlap() {
    let clock = Arc::new(AtomicU64::new(0)); // a logical clock shared by adds and runs
    let last_add: Arc<Mutex<HashMap<&'static str, u64>>> = Arc::default();
    let last_start: Arc<Mutex<HashMap<&'static str, u64>>> = Arc::default();
    let running: Arc<Mutex<HashMap<&'static str, usize>>> = Arc::default();
    let overlaps = Arc::new(AtomicUsize::new(0));

    let controller = Controller::new("stress", QueueConfig::default());
    let handle = controller.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(controller.run(
        {
            let (clock, last_start, running, overlaps) = (
                Arc::clone(&clock),
                Arc::clone(&last_start),
                Arc::clone(&running),
                Arc::clone(&overlaps),
            );
            move |key: &'static str| {
                let (clock, last_start, running, overlaps) = (
                    Arc::clone(&clock),
                    Arc::clone(&last_start),
                    Arc::clone(&running),
                    Arc::clone(&overlaps),
                );
                async move {
                    {
                        let mut running = running.lock().expect("lock");
                        let count = running.entry(key).or_insert(0);
                        *count += 1;
                        if *count > 1 {
                            overlaps.fetch_add(1, Ordering::SeqCst);
                        }
                        let now = clock.fetch_add(1, Ordering::SeqCst);
                        last_start.lock().expect("lock").insert(key, now);
                    }
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                    *running.lock().expect("lock").entry(key).or_insert(1) -= 1;
                    Ok::<_, Never>(Action::await_change())
                }
            }
        },
        default_error_policy,
        4,
        async move {
            let _ = stopped.await;
        },
    ));

    let producers: Vec<_> = (0..4)
        .map(|p| {
            let (handle, clock, last_add) =
                (handle.clone(), Arc::clone(&clock), Arc::clone(&last_add));
            tokio::spawn(async move {
                for i in 0..500 {
                    let key = KEYS[(i * 7 + p) % KEYS.len()];
                    {
                        // Stamp, then add, under one lock so "last add" is really the last.
                        let mut last_add = last_add.lock().expect("lock");
                        last_add.insert(key, clock.fetch_add(1, Ordering::SeqCst));
                        handle.add(key);
                    }
                    if i % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.expect("producer joined");
    }

    // Wait (real time, bounded) until every key has started after its last add.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let caught_up = {
            let adds = last_add.lock().expect("lock");
            let starts = last_start.lock().expect("lock");
            KEYS.iter()
                .all(|k| starts.get(k).copied().unwrap_or(0) > adds.get(k).copied().unwrap_or(0))
        };
        if caught_up {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "an add was lost: adds {:?}, starts {:?}",
            last_add.lock().expect("lock"),
            last_start.lock().expect("lock")
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let _ = stop.send(());
    task.await.expect("joined").expect("ran");
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "a key ran twice at once"
    );
}
