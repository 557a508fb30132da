//! The sled store's watch: replay from the event log, then live events.
//!
//! The log is the source of truth and the broadcast channel only a fast path: a watch
//! that falls behind the channel (or sees a revision gap) goes back to reading the log from
//! the last revision it yielded, and only fails with [`StoreError::Expired`] if the log no
//! longer holds that revision. Each event is yielded once, in order: anything at or below
//! the last yielded revision is skipped.
//!
//! Reading the log is a blocking sled call, but it is served from sled's page cache in
//! batches of [`REPLAY_BATCH`] small values, short enough to run on an async task.

use super::backend;
use crate::keys::{decode_event_key, event_key};
use crate::{StoreError, Watch, WatchEvent};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

/// Events read from the log per step of a replay.
const REPLAY_BATCH: usize = 256;

struct SledWatch {
    events: sled::Tree,
    live: broadcast::Receiver<Arc<WatchEvent>>,
    /// The last revision yielded (or the revision the watch started after).
    last: u64,
    buffer: VecDeque<WatchEvent>,
    /// Reading the log rather than the live channel.
    replaying: bool,
    done: bool,
}

/// Starts a watch of events after `from`. `live` must have been subscribed before
/// `current` (the store revision) was read.
pub(super) fn start(
    events: sled::Tree,
    live: broadcast::Receiver<Arc<WatchEvent>>,
    current: u64,
    from: u64,
) -> Result<Watch, StoreError> {
    if from < current {
        let oldest = match events.first().map_err(backend)? {
            Some((k, _)) => decode_event_key(&k)?,
            None => current + 1,
        };
        if oldest > from + 1 {
            return Err(StoreError::Expired { from, oldest });
        }
    }
    let state = SledWatch {
        events,
        live,
        last: from,
        buffer: VecDeque::new(),
        replaying: true,
        done: false,
    };
    Ok(Watch::from_stream(futures::stream::unfold(
        state,
        |mut w| async move {
            let item = w.next().await?;
            Some((item, w))
        },
    )))
}

impl SledWatch {
    async fn next(&mut self) -> Option<Result<WatchEvent, StoreError>> {
        if self.done {
            return None;
        }
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.last = event.revision;
                return Some(Ok(event));
            }
            if self.replaying {
                match self.read_log() {
                    Ok(true) => {}
                    Ok(false) => self.replaying = false,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            match self.live.recv().await {
                Ok(event) if event.revision <= self.last => {}
                Ok(event) if event.revision == self.last + 1 => {
                    self.last = event.revision;
                    return Some(Ok(WatchEvent::clone(&event)));
                }
                // A gap, or the channel dropped events for us: catch up from the log.
                Ok(_) | Err(RecvError::Lagged(_)) => self.replaying = true,
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Buffers the next events after `last` from the log; false when there are none.
    fn read_log(&mut self) -> Result<bool, StoreError> {
        let first = self.last + 1;
        let entries = self.events.range(event_key(first)..).take(REPLAY_BATCH);
        for (expect, entry) in (first..).zip(entries) {
            let (k, v) = entry.map_err(backend)?;
            let revision = decode_event_key(&k)?;
            if revision != expect {
                // The log was trimmed past what this watch still needed.
                return Err(StoreError::Expired {
                    from: self.last,
                    oldest: revision,
                });
            }
            let event: WatchEvent =
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    key: format!("event {revision}"),
                    message: e.to_string(),
                })?;
            self.buffer.push_back(event);
        }
        Ok(!self.buffer.is_empty())
    }
}
