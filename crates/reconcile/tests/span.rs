//! Each reconcile runs in a `reconcile` span carrying controller, key and attempt.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecsctl_reconcile::{Action, Backoff, Controller, QueueConfig, default_error_policy};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[derive(Debug, thiserror::Error)]
#[error("not yet")]
struct NotYet;

type Spans = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// Records the fields of every span named `reconcile`.
struct Recorder(Spans);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        if attrs.metadata().name() == "reconcile" {
            let mut fields = Fields(Vec::new());
            attrs.record(&mut fields);
            self.0.lock().expect("lock").push(fields.0);
        }
    }
}

fn field(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn every_reconcile_has_a_span_with_controller_key_and_attempt() {
    let spans: Spans = Arc::default();
    let subscriber = tracing_subscriber::registry().with(Recorder(Arc::clone(&spans)));
    // The test runtime is single-threaded, so spawned reconciles see this default too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let config = QueueConfig::default().with_backoff(
        Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).expect("valid"),
    );
    let controller = Controller::<String>::new("task", config);
    let handle = controller.handle();
    let runs = Arc::new(Mutex::new(0u32));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(controller.run(
        {
            let runs = Arc::clone(&runs);
            move |_key: String| {
                let runs = Arc::clone(&runs);
                async move {
                    let mut runs = runs.lock().expect("lock");
                    *runs += 1;
                    if *runs < 3 {
                        Err(NotYet)
                    } else {
                        Ok(Action::await_change())
                    }
                }
            }
        },
        default_error_policy,
        1,
        async move {
            let _ = stopped.await;
        },
    ));
    handle.add("default/web-1".to_string());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _ = stop.send(());
    task.await.expect("joined").expect("ran");

    let spans = spans.lock().expect("lock");
    let expected: Vec<_> = ["1", "2", "3"]
        .iter()
        .map(|attempt| {
            field(&[
                ("controller", "task"),
                ("key", "\"default/web-1\""),
                ("attempt", attempt),
            ])
        })
        .collect();
    assert_eq!(*spans, expected);
}
