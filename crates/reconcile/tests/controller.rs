//! Controller behaviour under paused tokio time: every timing below is exact.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecsctl_reconcile::{
    Action, Backoff, ConfigError, Controller, QueueConfig, QueueHandle, default_error_policy,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

#[derive(Debug, thiserror::Error)]
#[error("reconcile failed on purpose")]
struct Failed;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Start times (relative to the test's start) of every reconcile, per key, and the highest
/// number of reconciles seen running at once, overall and per key.
#[derive(Clone)]
struct Log {
    t0: Instant,
    starts: Arc<Mutex<Vec<(&'static str, Duration)>>>,
    ends: Arc<Mutex<Vec<(&'static str, Duration)>>>,
    running: Arc<AtomicUsize>,
    max_running: Arc<AtomicUsize>,
    running_per_key: Arc<Mutex<HashMap<&'static str, usize>>>,
    max_per_key: Arc<AtomicUsize>,
}

impl Log {
    fn new() -> Self {
        Self {
            t0: Instant::now(),
            starts: Arc::default(),
            ends: Arc::default(),
            running: Arc::default(),
            max_running: Arc::default(),
            running_per_key: Arc::default(),
            max_per_key: Arc::default(),
        }
    }

    fn begin(&self, key: &'static str) -> usize {
        let mut starts = self.starts.lock().expect("lock");
        starts.push((key, self.t0.elapsed()));
        let now_running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now_running, Ordering::SeqCst);
        let mut per_key = self.running_per_key.lock().expect("lock");
        let count = per_key.entry(key).or_insert(0);
        *count += 1;
        self.max_per_key.fetch_max(*count, Ordering::SeqCst);
        starts.iter().filter(|(k, _)| *k == key).count()
    }

    fn end(&self, key: &'static str) {
        self.ends
            .lock()
            .expect("lock")
            .push((key, self.t0.elapsed()));
        self.running.fetch_sub(1, Ordering::SeqCst);
        *self
            .running_per_key
            .lock()
            .expect("lock")
            .entry(key)
            .or_insert(1) -= 1;
    }

    fn starts_of(&self, key: &str) -> Vec<Duration> {
        let starts = self.starts.lock().expect("lock");
        starts
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, t)| *t)
            .collect()
    }

    fn ends_of(&self, key: &str) -> Vec<Duration> {
        let ends = self.ends.lock().expect("lock");
        ends.iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, t)| *t)
            .collect()
    }

    fn runs(&self) -> usize {
        self.starts.lock().expect("lock").len()
    }

    fn gaps_of(&self, key: &str) -> Vec<Duration> {
        self.starts_of(key)
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect()
    }
}

struct Running {
    handle: QueueHandle<&'static str>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ConfigError>>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("controller task joined")
            .expect("controller ran");
    }
}

fn spawn<F, Fut, P>(config: QueueConfig, reconcile: F, policy: P, concurrency: usize) -> Running
where
    F: Fn(&'static str) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Action, Failed>> + Send + 'static,
    P: Fn(&&'static str, &Failed, u32) -> Action + Send + Sync + 'static,
{
    let controller = Controller::new("test", config);
    let handle = controller.handle();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(controller.run(reconcile, policy, concurrency, async move {
        let _ = stopped.await;
    }));
    Running { handle, stop, task }
}

fn fast_backoff() -> QueueConfig {
    QueueConfig::default().with_backoff(Backoff::new(ms(100), secs(1)).expect("valid"))
}

#[tokio::test(start_paused = true)]
async fn keys_added_several_times_before_running_reconcile_once() {
    let log = Log::new();
    let running = spawn(
        QueueConfig::default(),
        {
            let log = log.clone();
            move |key| {
                let log = log.clone();
                async move {
                    log.begin(key);
                    log.end(key);
                    Ok(Action::await_change())
                }
            }
        },
        default_error_policy,
        2,
    );
    for key in ["a", "a", "b", "a", "b"] {
        running.handle.add(key);
    }
    sleep(secs(60)).await;
    assert_eq!(log.starts_of("a").len(), 1);
    assert_eq!(log.starts_of("b").len(), 1);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_key_added_while_in_flight_runs_again_afterwards_never_overlapping() {
    let log = Log::new();
    let running = spawn(
        QueueConfig::default(),
        {
            let log = log.clone();
            move |key| {
                let log = log.clone();
                async move {
                    log.begin(key);
                    sleep(secs(1)).await;
                    log.end(key);
                    Ok(Action::await_change())
                }
            }
        },
        default_error_policy,
        4,
    );
    running.handle.add("a");
    sleep(ms(500)).await;
    running.handle.add("a"); // in flight: parked, not run alongside
    running.handle.add("a"); // deduped with the parked add
    sleep(secs(10)).await;

    assert_eq!(log.starts_of("a"), [Duration::ZERO, secs(1)]);
    assert_eq!(log.ends_of("a"), [secs(1), secs(2)]);
    assert_eq!(log.max_per_key.load(Ordering::SeqCst), 1);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn requeue_runs_the_key_again_after_the_delay_and_await_change_does_not() {
    let log = Log::new();
    let running = spawn(
        QueueConfig::default(),
        {
            let log = log.clone();
            move |key| {
                let log = log.clone();
                async move {
                    let run = log.begin(key);
                    log.end(key);
                    Ok(if run < 3 {
                        Action::requeue(secs(10))
                    } else {
                        Action::await_change()
                    })
                }
            }
        },
        default_error_policy,
        1,
    );
    running.handle.add("a");
    sleep(secs(300)).await;
    assert_eq!(log.starts_of("a"), [Duration::ZERO, secs(10), secs(20)]);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_event_during_a_requeue_delay_runs_the_key_early() {
    let log = Log::new();
    let running = spawn(
        QueueConfig::default(),
        {
            let log = log.clone();
            move |key| {
                let log = log.clone();
                async move {
                    log.begin(key);
                    log.end(key);
                    Ok(Action::requeue(secs(30)))
                }
            }
        },
        default_error_policy,
        1,
    );
    running.handle.add("a");
    sleep(secs(5)).await;
    running.handle.add("a");
    sleep(secs(40)).await;
    // 0, then the event at 5 s (earliest deadline wins), then 30 s after that run.
    assert_eq!(log.starts_of("a"), [Duration::ZERO, secs(5), secs(35)]);
    running.stop().await;
}

/// Fails on the runs listed in `failing` (1-based), succeeds with `await_change` otherwise,
/// except that a success before the last run requeues after 1 s so the script keeps going.
fn scripted(
    log: &Log,
    failing: &'static [usize],
    last: usize,
) -> impl Fn(&'static str) -> futures::future::BoxFuture<'static, Result<Action, Failed>>
+ Send
+ Sync
+ 'static {
    let log = log.clone();
    move |key| {
        let log = log.clone();
        Box::pin(async move {
            let run = log.begin(key);
            log.end(key);
            if failing.contains(&run) {
                Err(Failed)
            } else if run < last {
                Ok(Action::requeue(secs(1)))
            } else {
                Ok(Action::await_change())
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_on_consecutive_failures_and_resets_after_a_success() {
    let log = Log::new();
    let running = spawn(
        fast_backoff(),
        scripted(&log, &[1, 2, 3, 5, 6], 7),
        default_error_policy,
        1,
    );
    running.handle.add("a");
    sleep(secs(60)).await;
    assert_eq!(
        log.gaps_of("a"),
        [
            ms(100), // failure 1
            ms(200), // failure 2
            ms(400), // failure 3, then run 4 succeeds and requeues after 1 s
            secs(1),
            ms(100), // failure count was reset by the success
            ms(200),
        ]
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn backoff_never_exceeds_its_cap() {
    let log = Log::new();
    let config =
        QueueConfig::default().with_backoff(Backoff::new(ms(100), ms(300)).expect("valid"));
    let running = spawn(
        config,
        scripted(&log, &[1, 2, 3, 4, 5, 6, 7], 8),
        default_error_policy,
        1,
    );
    running.handle.add("a");
    sleep(secs(60)).await;
    assert_eq!(
        log.gaps_of("a"),
        [
            ms(100),
            ms(200),
            ms(300),
            ms(300),
            ms(300),
            ms(300),
            ms(300)
        ]
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_default_backoff_is_five_milliseconds_doubling() {
    let log = Log::new();
    let running = spawn(
        QueueConfig::default(),
        scripted(&log, &[1, 2, 3], 4),
        default_error_policy,
        1,
    );
    running.handle.add("a");
    sleep(secs(60)).await;
    assert_eq!(log.gaps_of("a"), [ms(5), ms(10), ms(20)]);
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn error_policy_sees_consecutive_attempt_counts_and_can_stop_retries() {
    let log = Log::new();
    let calls: Arc<Mutex<Vec<(&'static str, u32)>>> = Arc::default();
    let running = spawn(
        fast_backoff(),
        scripted(&log, &[1, 2, 3, 4, 5], 6),
        {
            let calls = Arc::clone(&calls);
            move |key: &&'static str, _error: &Failed, attempts: u32| {
                calls.lock().expect("lock").push((*key, attempts));
                if attempts < 3 {
                    Action::requeue(secs(2))
                } else {
                    // Bad input: record it and wait for the user to change something.
                    Action::await_change()
                }
            }
        },
        1,
    );
    running.handle.add("a");
    sleep(secs(60)).await;
    assert_eq!(*calls.lock().expect("lock"), [("a", 1), ("a", 2), ("a", 3)]);
    assert_eq!(log.starts_of("a"), [Duration::ZERO, secs(2), secs(4)]);

    // A change arrives: the key runs again, still failing, and the count goes on.
    running.handle.add("a");
    sleep(secs(1)).await;
    assert_eq!(calls.lock().expect("lock").last(), Some(&("a", 4)));
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn concurrency_bounds_how_many_keys_run_at_once() {
    let log = Log::new();
    let running = spawn(
        QueueConfig::default(),
        {
            let log = log.clone();
            move |key| {
                let log = log.clone();
                async move {
                    log.begin(key);
                    sleep(secs(1)).await;
                    log.end(key);
                    Ok(Action::await_change())
                }
            }
        },
        default_error_policy,
        3,
    );
    let keys = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"];
    for key in keys {
        running.handle.add(key);
    }
    sleep(secs(60)).await;
    assert_eq!(log.runs(), 10);
    assert_eq!(log.max_running.load(Ordering::SeqCst), 3);
    let last_start = keys
        .iter()
        .flat_map(|k| log.starts_of(k))
        .max()
        .expect("ran");
    assert_eq!(
        last_start,
        secs(3),
        "ten one-second reconciles, three at a time"
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_drops_pending_keys_lets_in_flight_finish_and_returns() {
    let log = Log::new();
    let running = spawn(
        QueueConfig::default(),
        {
            let log = log.clone();
            move |key| {
                let log = log.clone();
                async move {
                    log.begin(key);
                    sleep(secs(5)).await;
                    log.end(key);
                    Ok(Action::requeue(secs(1)))
                }
            }
        },
        default_error_policy,
        1,
    );
    let handle = running.handle.clone();
    handle.add("slow");
    handle.add("queued"); // waits for the only slot
    handle.add_after("later", secs(30));
    sleep(secs(1)).await;

    let t0 = log.t0;
    running.stop().await;
    assert_eq!(
        t0.elapsed(),
        secs(5),
        "run returned when the in-flight reconcile ended"
    );
    assert_eq!(log.ends_of("slow"), [secs(5)]);
    assert!(handle.is_shutdown());

    handle.add("after-shutdown");
    sleep(secs(120)).await;
    assert_eq!(log.runs(), 1, "nothing else ran: {:?}", log.starts);
}

#[tokio::test(start_paused = true)]
async fn shutdown_with_nothing_in_flight_returns_at_once() {
    let running = spawn(
        QueueConfig::default(),
        |_key| async { Ok(Action::await_change()) },
        default_error_policy,
        1,
    );
    running.handle.add_after("a", secs(3600));
    let start = Instant::now();
    running.stop().await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_reconcile_is_retried_with_backoff_and_the_controller_survives() {
    let log = Log::new();
    let running = spawn(
        fast_backoff(),
        {
            let log = log.clone();
            move |key| {
                let log = log.clone();
                async move {
                    let run = log.begin(key);
                    log.end(key);
                    assert!(key != "a" || run > 1, "the first run of a panics");
                    Ok(Action::await_change())
                }
            }
        },
        default_error_policy,
        1,
    );
    running.handle.add("a");
    sleep(secs(10)).await;
    assert_eq!(log.starts_of("a"), [Duration::ZERO, ms(100)]);
    running.handle.add("b");
    sleep(secs(1)).await;
    assert_eq!(
        log.starts_of("b"),
        [secs(10)],
        "still reconciling other keys"
    );
    running.stop().await;
}

#[tokio::test]
async fn zero_concurrency_is_rejected() {
    let controller = Controller::<&'static str>::new("test", QueueConfig::default());
    let result = controller
        .run(
            |_key| async { Ok::<_, Failed>(Action::await_change()) },
            default_error_policy,
            0,
            std::future::pending(),
        )
        .await;
    assert_eq!(result, Err(ConfigError::ZeroConcurrency));
}
