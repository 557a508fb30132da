//! A `GET /v1/watch` stream over a unix socket, read on a thread of its own that stamps each
//! event with the moment its line was complete. Raw HTTP/1.1 (chunked transfer coding
//! decoded here), like `common::request`, so that the delay is the server's and not a client
//! library's.

use std::io::{BufRead, BufReader, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One event as the bench needs it: the object's name and when its line arrived.
#[derive(Debug)]
struct Arrival {
    name: String,
    at: Instant,
}

/// An open `GET /v1/watch` (from the server's current revision). Dropping it closes the
/// connection and joins the reader thread.
#[derive(Debug)]
pub struct HttpWatch {
    conn: UnixStream,
    events: Receiver<Arrival>,
    reader: Option<JoinHandle<()>>,
}

impl HttpWatch {
    /// Opens the watch and returns once the response headers are in: the server creates
    /// the store's watch before it answers, so every write after this is seen.
    pub fn open(socket: &Path) -> HttpWatch {
        let mut conn = UnixStream::connect(socket).expect("connect for a watch");
        conn.write_all(b"GET /v1/watch HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .expect("send the watch request");
        let mut reader = BufReader::new(conn.try_clone().expect("clone the watch connection"));
        let chunked = read_headers(&mut reader);
        let (tx, events) = mpsc::channel();
        let reader = std::thread::spawn(move || read_events(reader, chunked, &tx));
        HttpWatch {
            conn,
            events,
            reader: Some(reader),
        }
    }

    /// When the event of the object `name` arrived, skipping other objects' events;
    /// `None` when none came within `within` or the stream ended.
    pub fn arrival_of(&self, name: &str, within: Duration) -> Option<Instant> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(a) if a.name == name => return Some(a.at),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

impl Drop for HttpWatch {
    fn drop(&mut self) {
        let _ = self.conn.shutdown(Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Reads the status line and headers; panics unless 200. Whether the body is chunked.
fn read_headers(reader: &mut impl BufRead) -> bool {
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .expect("read the watch's status");
    assert!(
        line.starts_with("HTTP/1.1 200"),
        "GET /v1/watch answered {line:?}"
    );
    let mut chunked = false;
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .expect("read the watch's headers");
        let header = line.trim_end();
        if header.is_empty() {
            return chunked;
        }
        let lower = header.to_ascii_lowercase();
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
}

/// Decodes the body into lines and sends each event's object name with its arrival time,
/// until the connection closes.
fn read_events(mut reader: impl BufRead, chunked: bool, tx: &mpsc::Sender<Arrival>) {
    let mut pending = Vec::new();
    loop {
        let Some(data) = next_piece(&mut reader, chunked) else {
            return;
        };
        let at = Instant::now();
        pending.extend_from_slice(&data);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let Ok(event) = serde_json::from_slice::<serde_json::Value>(&line) else {
                continue;
            };
            if let Some(name) = event["object"]["metadata"]["name"].as_str() {
                let arrival = Arrival {
                    name: name.to_string(),
                    at,
                };
                if tx.send(arrival).is_err() {
                    return;
                }
            }
        }
    }
}

/// The next piece of body: one chunk, or whatever a read returns when not chunked; `None` at
/// the end of the body or of the connection.
fn next_piece(reader: &mut impl BufRead, chunked: bool) -> Option<Vec<u8>> {
    if !chunked {
        let mut buf = vec![0u8; 8192];
        let n = reader.read(&mut buf).ok().filter(|n| *n > 0)?;
        buf.truncate(n);
        return Some(buf);
    }
    let mut size_line = String::new();
    if reader.read_line(&mut size_line).ok()? == 0 {
        return None;
    }
    let hex = size_line.trim().split(';').next().unwrap_or("");
    let size = usize::from_str_radix(hex, 16).ok().filter(|s| *s > 0)?;
    let mut data = vec![0u8; size + 2]; // the chunk and its CRLF
    reader.read_exact(&mut data).ok()?;
    data.truncate(size);
    Some(data)
}
