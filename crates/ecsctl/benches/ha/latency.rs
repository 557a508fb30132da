//! Apply latency through a server, and watch delay (write acknowledged -> event on a watch)
//! at the store level and through the HTTP API.

use super::stream::HttpWatch;
use crate::common::request;
use api::{Kind, Object};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};
use store::Store;

/// Writes before the measured ones, so that connections (to etcd, the server's first
/// requests) are set up before the clock runs.
pub const WARM_UP: usize = 10;
/// How long one write's event may take before the run counts the watch as broken.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A TaskDefinition of family `bench` whose environment makes each apply a new revision (as
/// the `apply` bench).
fn task_definition(i: usize) -> String {
    format!(
        r#"{{"objects":[{{"apiVersion":"ecs/v1","kind":"TaskDefinition","metadata":{{"name":"bench"}},"spec":{{"containerDefinitions":[{{"name":"app","image":"busybox","memory":64,"environment":[{{"name":"I","value":"{i}"}}]}}]}}}}]}}"#
    )
}

/// `n` sequential applies of a new TaskDefinition revision through `POST /v1/apply`, one
/// request at a time; each one's latency.
pub fn applies(socket: &Path, n: usize) -> Vec<Duration> {
    let mut lat = Vec::with_capacity(n);
    for i in 0..WARM_UP + n {
        let body = task_definition(i);
        let t = Instant::now();
        let (status, resp) = request(socket, "POST", "/v1/apply", &body);
        let took = t.elapsed();
        assert_eq!(status, 200, "{resp}");
        if i >= WARM_UP {
            lat.push(took);
        }
    }
    lat
}

/// Milliseconds from `ack` to `event`, negative when the event came before the write's
/// answer (the store may publish an event before the writer's call returns).
fn signed_ms(ack: Instant, event: Instant) -> f64 {
    match event.checked_duration_since(ack) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(ack.duration_since(event).as_secs_f64() * 1000.0),
    }
}

/// Store level: `n` sequential applies (a Service whose desiredCount changes) on `store`,
/// and a watch of the same store from its current revision on a thread of its own with its
/// own runtime (as a controller's). For each write, the delay from `apply` returning to the
/// watch yielding the write's revision (the next write waits for the event), and how long
/// the `apply` call took.
pub fn store_delays(store: Arc<dyn Store>, n: usize) -> (Vec<f64>, Vec<Duration>) {
    let mut watch = store
        .watch(store.revision())
        .expect("watch the store from its current revision");
    let (tx, arrivals) = mpsc::channel::<(u64, Instant)>();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let watcher = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the watcher");
        rt.block_on(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return,
                    event = watch.next() => match event {
                        Some(Ok(e)) => {
                            if tx.send((e.revision, Instant::now())).is_err() {
                                return;
                            }
                        }
                        other => panic!("the store's watch ended: {other:?}"),
                    },
                }
            }
        });
    });
    let mut delays = Vec::with_capacity(n);
    let mut writes = Vec::with_capacity(n);
    for i in 0..WARM_UP + n {
        let object = Object::new(
            Kind::Service,
            "watch-bench",
            serde_json::json!({"taskDefinition": "web", "desiredCount": i + 1}),
        );
        let sent = Instant::now();
        let written = store.apply(object).expect("store apply");
        let ack = Instant::now();
        let revision = written
            .object
            .metadata
            .resource_version
            .expect("a written object has a resourceVersion");
        let event = loop {
            match arrivals.recv_timeout(EVENT_TIMEOUT) {
                Ok((r, at)) if r == revision => break at,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no event for revision {revision} within {EVENT_TIMEOUT:?}")
                }
                Err(RecvTimeoutError::Disconnected) => panic!("the watcher thread ended"),
            }
        };
        if i >= WARM_UP {
            delays.push(signed_ms(ack, event));
            writes.push(ack.duration_since(sent));
        }
    }
    let _ = stop.send(());
    watcher.join().expect("the watcher thread panicked");
    (delays, writes)
}

/// Through the API: `n` sequential applies of a new Secret each on the server at `write`,
/// and a `GET /v1/watch` on the server at `watch` (another server on the same etcd, or the
/// same one). For each, the delay from the apply's answer to the event's line, and how long
/// the apply took (no controller reacts to a Secret: the apply path alone).
pub fn http_delays(write: &Path, watch: &Path, n: usize) -> (Vec<f64>, Vec<Duration>) {
    let stream = HttpWatch::open(watch);
    let run = std::process::id();
    let mut delays = Vec::with_capacity(n);
    let mut applies = Vec::with_capacity(n);
    for i in 0..WARM_UP + n {
        let name = format!("watch-{run}-{i}");
        let body = format!(
            r#"{{"objects":[{{"apiVersion":"ecs/v1","kind":"Secret","metadata":{{"name":"{name}"}},"spec":{{"value":"v{i}"}}}}]}}"#
        );
        let sent = Instant::now();
        let (status, resp) = request(write, "POST", "/v1/apply", &body);
        let ack = Instant::now();
        assert_eq!(status, 200, "{resp}");
        let event = stream
            .arrival_of(&name, EVENT_TIMEOUT)
            .unwrap_or_else(|| panic!("no watch event for Secret {name} within {EVENT_TIMEOUT:?}"));
        if i >= WARM_UP {
            delays.push(signed_ms(ack, event));
            applies.push(ack.duration_since(sent));
        }
    }
    (delays, applies)
}
