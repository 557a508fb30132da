//! The etcd store's watch: replay from the event log, then etcd's own watch of the log's
//! keys.
//!
//! The log is the source of truth, as in sled, and etcd's watch only the fast path: when
//! etcd cancels it (its history was compacted past where the watch stood), when the member
//! serving it goes away, or when an event is missing, the watch reads the log again from the
//! last revision it yielded, then watches again from there. It fails with
//! [`StoreError::Expired`] only when the log no longer holds that revision: the caller then
//! lists again. Each event is yielded once, in order.

use super::wire::{self, RangeRequest, RequestOp, TxnRequest, WatchCreateRequest};
use super::{EtcdStore, Meta, Shared, backend, missing_answer};
use crate::{StoreError, Watch, WatchEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Events read from the log per step of a replay.
const REPLAY_BATCH: i64 = 256;
/// Events a watcher may have waiting before the watch stops reading etcd.
const BUFFER: usize = 1024;
/// Pause before watching again after etcd's watch broke off.
const REWATCH_PAUSE: Duration = Duration::from_millis(100);

/// Starts a watch of the events after `from`: fails at once, as sled does, when the log no
/// longer reaches back to `from`.
pub(super) fn start(store: &EtcdStore, from: u64) -> Result<Watch, StoreError> {
    let shared = store.shared.clone();
    let check = shared.clone();
    store.block(async move {
        let (meta, events, _) = read_log(&check, from, 1).await?;
        check_continuity(from, meta.revision, events.first())
    })?;
    let (tx, mut rx) = mpsc::channel(BUFFER);
    store.handle().spawn(run(shared, from, tx));
    Ok(Watch::from_stream(futures::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
    })))
}

/// `Expired` when the log should hold the event after `last` (the store is past it) and does
/// not.
fn check_continuity(last: u64, current: u64, first: Option<&WatchEvent>) -> Result<(), StoreError> {
    if current <= last {
        return Ok(());
    }
    match first.map(|e| e.revision) {
        Some(r) if r == last + 1 => Ok(()),
        oldest => Err(StoreError::Expired {
            from: last,
            oldest: oldest.unwrap_or(current + 1),
        }),
    }
}

/// The store revision and up to `limit` logged events after `last`, in one transaction; and
/// whether more follow.
async fn read_log(
    shared: &Shared,
    last: u64,
    limit: i64,
) -> Result<(Meta, Vec<WatchEvent>, bool), StoreError> {
    let layout = &shared.layout;
    let mut events =
        RangeRequest::between(layout.event(last + 1), wire::prefix_end(&layout.events()));
    events.limit = limit;
    let answer = shared
        .gateway
        .txn(&TxnRequest {
            success: vec![
                RequestOp::Range(RangeRequest::key(layout.meta(crate::keys::META_REVISION))),
                RequestOp::Range(events),
            ],
            ..Default::default()
        })
        .await
        .map_err(backend)?;
    let mut meta = Meta::from_range(answer.range(0).ok_or_else(missing_answer)?)?;
    meta.at = answer.header.revision;
    shared.seen(meta.revision);
    let logged = answer.range(1).ok_or_else(missing_answer)?;
    let decoded = logged
        .kvs
        .iter()
        .map(|kv| decode_event(&kv.key, &kv.value))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((meta, decoded, logged.more))
}

fn decode_event(key: &[u8], value: &[u8]) -> Result<WatchEvent, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt {
        key: format!("event {}", String::from_utf8_lossy(key)),
        message: e.to_string(),
    })
}

type Sender = mpsc::Sender<Result<WatchEvent, StoreError>>;

/// Why etcd's watch stopped.
enum Stop {
    /// The watcher went away.
    Closed,
    /// Read the log again and watch anew.
    Again(String),
}

async fn run(shared: Arc<Shared>, mut last: u64, tx: Sender) {
    loop {
        let at = match replay(&shared, &mut last, &tx).await {
            Ok(Some(at)) => at,
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        match follow(&shared, &mut last, at, &tx).await {
            Stop::Closed => return,
            Stop::Again(why) => {
                tracing::debug!(why, last, "etcd watch broke off; catching up from the log");
                tokio::time::sleep(REWATCH_PAUSE).await;
            }
        }
    }
}

/// Sends every logged event after `last`; returns the etcd revision the log was last read
/// at (where etcd's watch takes over), or `None` when the watcher went away.
async fn replay(shared: &Shared, last: &mut u64, tx: &Sender) -> Result<Option<i64>, StoreError> {
    loop {
        let (meta, events, more) = read_log(shared, *last, REPLAY_BATCH).await?;
        check_continuity(*last, meta.revision, events.first())?;
        for event in events {
            if event.revision != *last + 1 {
                return Err(StoreError::Expired {
                    from: *last,
                    oldest: event.revision,
                });
            }
            *last = event.revision;
            if tx.send(Ok(event)).await.is_err() {
                return Ok(None);
            }
        }
        if !more {
            return Ok(Some(meta.at));
        }
    }
}

/// Follows etcd's watch of the log's keys from etcd revision `at + 1`.
async fn follow(shared: &Shared, last: &mut u64, at: i64, tx: &Sender) -> Stop {
    let layout = &shared.layout;
    let request = wire::WatchRequest {
        create_request: WatchCreateRequest {
            key: layout.events(),
            range_end: wire::prefix_end(&layout.events()),
            start_revision: at + 1,
        },
    };
    let body = tokio::select! {
        () = tx.closed() => return Stop::Closed,
        b = shared.gateway.stream("/v3/watch", &request) => b,
    };
    let (member, body) = match body {
        Ok(b) => b,
        Err(e) => return Stop::Again(e.to_string()),
    };
    let mut messages = super::client::MessageReader::new(body);
    loop {
        let message = tokio::select! {
            () = tx.closed() => return Stop::Closed,
            m = messages.next::<wire::WatchMessage>() => m,
        };
        let result = match message {
            None => return Stop::Again(format!("{member} ended the watch")),
            Some(Err(e)) => return Stop::Again(format!("{member}: {e}")),
            Some(Ok(wire::WatchMessage { error: Some(e), .. })) => {
                return Stop::Again(format!("{member}: {e}"));
            }
            Some(Ok(wire::WatchMessage { result: None, .. })) => continue,
            Some(Ok(wire::WatchMessage {
                result: Some(r), ..
            })) => r,
        };
        if result.canceled || result.compact_revision > 0 {
            return Stop::Again(format!(
                "{member} canceled the watch (compacted to {}): {}",
                result.compact_revision, result.cancel_reason
            ));
        }
        for event in result.events.iter().filter(|e| e.is_put()) {
            let event = match decode_event(&event.kv.key, &event.kv.value) {
                Ok(e) => e,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return Stop::Closed;
                }
            };
            if event.revision <= *last {
                continue;
            }
            if event.revision != *last + 1 {
                return Stop::Again(format!(
                    "event {} came after {}: one is missing",
                    event.revision, last
                ));
            }
            *last = event.revision;
            shared.seen(event.revision);
            if tx.send(Ok(event)).await.is_err() {
                return Stop::Closed;
            }
        }
    }
}
