//! Watch events and the [`Watch`] handle that yields them.

use crate::StoreError;
use futures::stream::{BoxStream, Stream, StreamExt};
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

// Watch events are what `GET /v1/watch` sends: one definition, in `api::wire`, shared with
// the server and the CLI.
pub use api::wire::{WatchEvent, WatchEventType};

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
