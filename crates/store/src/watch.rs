//! Watch events and the [`Watch`] handle that yields them.

use crate::StoreError;
use api::Object;
use futures::stream::{BoxStream, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What happened to the object of a [`WatchEvent`]. On the wire: `ADDED`, `MODIFIED`,
/// `DELETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WatchEventType {
    /// The object was created (for TaskDefinitions: a new revision).
    Added,
    /// The object's spec, labels or status changed.
    Modified,
    /// The object was deleted; the event carries its last stored state.
    Deleted,
}

/// One write, as a watch reports it. On the wire: `{"revision", "type", "object"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchEvent {
    /// The store revision of the write (unique, increasing by one per write).
    pub revision: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: WatchEventType,
    /// The object after the write (for a delete: before it).
    pub object: Object,
}

/// A stream of watch events, from [`crate::Store::watch`].
///
/// Events come in revision order, each exactly once. After an error (such as
/// [`StoreError::Expired`]) the watch ends; `None` also means the store was closed.
pub struct Watch {
    inner: BoxStream<'static, Result<WatchEvent, StoreError>>,
}

impl Watch {
    /// Wraps any stream of events, for other store implementations and test fakes.
    pub fn from_stream(
        stream: impl Stream<Item = Result<WatchEvent, StoreError>> + Send + 'static,
    ) -> Self {
        Watch {
            inner: stream.boxed(),
        }
    }

    /// The next event; `None` when the watch has ended.
    pub async fn next(&mut self) -> Option<Result<WatchEvent, StoreError>> {
        self.inner.next().await
    }
}

impl Stream for Watch {
    type Item = Result<WatchEvent, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}
