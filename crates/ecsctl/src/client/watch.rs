//! `GET /v1/watch` that outlives the server it started on.
//!
//! A server ends its watches when it shuts down, and a server that dies breaks them. With
//! several servers (one store behind them all, so one sequence of revisions), the watch goes
//! on at another one from the revision of the last event it read: nothing is missed and
//! nothing comes twice. With one server, a watch that the server ended ends (as it always
//! did); one that broke off is tried once more there.

use super::{BrokeOff, Client, LineStream};
use anyhow::Result;
use api::wire::WatchEvent;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// A connection that ends sooner than this without an event has not really worked: a round
/// of such ends over every server stops the watch instead of going round forever.
const SHORT_LIVED: Duration = Duration::from_secs(5);

/// A watch of the store through the API, resumed on another server when its own goes away.
#[derive(Debug)]
pub struct WatchStream {
    client: Client,
    /// The revision of the last event read (at first: where the watch started). A new
    /// connection asks for the events after it.
    last: u64,
    /// The open connection: its server's index, its lines, when it was opened and whether
    /// an event came on it.
    open: Option<Open>,
    /// The server whose connection just ended: the next connection tries the others first.
    lost: Option<usize>,
    /// Connections in a row that ended soon and without an event.
    failed_ends: usize,
}

#[derive(Debug)]
struct Open {
    server: usize,
    lines: LineStream,
    since: Instant,
    got_event: bool,
}

impl WatchStream {
    /// Opens the watch at the current server (or the next that can be reached): an error
    /// answer (an expired `from`, a refused token) or no server at all shows at once.
    pub(super) async fn start(client: Client, from: u64) -> Result<Self> {
        let mut w = WatchStream::unopened(client, from);
        w.connect().await?;
        Ok(w)
    }

    /// The watch, not connected yet: the first [`WatchStream::next`] connects.
    pub(super) fn unopened(client: Client, from: u64) -> Self {
        WatchStream {
            client,
            last: from,
            open: None,
            lost: None,
            failed_ends: 0,
        }
    }

    /// The revision of the last event read (or where the watch started).
    pub fn revision(&self) -> u64 {
        self.last
    }

    async fn connect(&mut self) -> Result<()> {
        let path = format!("/v1/watch?from={}", self.last);
        let (server, lines) = self.client.stream_from(&path, self.lost).await?;
        self.lost = None;
        self.open = Some(Open {
            server,
            lines,
            since: Instant::now(),
            got_event: false,
        });
        Ok(())
    }

    /// The next event; `None` when the watch is over (its only server ended it, or every
    /// server ended it at once). When its server goes away, the watch reconnects (each
    /// server once, in order) and resumes; if none can be reached, the error is
    /// [`super::Unreachable`], and calling `next` again tries again. An error the server
    /// sent (a `{"error"}` line, such as a watch that fell behind) ends the watch.
    pub async fn next<O: DeserializeOwned>(&mut self) -> Result<Option<WatchEvent<O>>> {
        loop {
            let Some(open) = self.open.as_mut() else {
                self.connect().await?;
                continue;
            };
            let ended = match open.lines.next::<WatchEvent<O>>().await {
                Ok(Some(ev)) => {
                    self.last = self.last.max(ev.revision);
                    open.got_event = true;
                    self.failed_ends = 0;
                    return Ok(Some(ev));
                }
                Ok(None) if self.client.servers.len() == 1 => {
                    self.open = None;
                    return Ok(None);
                }
                Ok(None) => None,
                Err(e) if e.downcast_ref::<BrokeOff>().is_some() => Some(e),
                Err(e) => {
                    self.open = None;
                    return Err(e);
                }
            };
            let worked = open.got_event || open.since.elapsed() >= SHORT_LIVED;
            let server = open.server;
            self.open = None;
            self.failed_ends = if worked { 0 } else { self.failed_ends + 1 };
            if self.failed_ends >= self.client.servers.len() {
                self.failed_ends = 0;
                return match ended {
                    Some(e) => Err(e),
                    None => Ok(None),
                };
            }
            tracing::info!(
                server = %self.client.servers.addr(server),
                revision = self.last,
                reason = %ended.map_or_else(|| "the server ended it".to_string(), |e| e.to_string()),
                "the watch ended; resuming it"
            );
            self.lost = Some(server);
        }
    }
}
