//! Newline-delimited JSON answers (a watch, logs), read one line at a time.

use anyhow::{Context, Result};
use api::wire::StreamError;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use std::fmt;

/// The connection under a stream failed after its answer began: the server went away (or
/// the network between). A watch resumes elsewhere; other streams end with it.
#[derive(Debug)]
pub struct BrokeOff {
    pub server: String,
    pub reason: String,
}

impl fmt::Display for BrokeOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the stream from the ecsctl server at {} broke off: {}",
            self.server, self.reason
        )
    }
}

impl std::error::Error for BrokeOff {}

/// A newline-delimited JSON answer, read one line at a time.
#[derive(Debug)]
pub struct LineStream {
    pub(super) headers: hyper::HeaderMap,
    pub(super) body: hyper::body::Incoming,
    pub(super) buf: Vec<u8>,
    pub(super) done: bool,
    pub(super) addr: String,
}

impl LineStream {
    /// A header of the answer, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The next line (an `api::wire` type: a watch event, a log line); `None` when the server
    /// ended the stream. A [`StreamError`] line (the server's way to say why a stream broke
    /// off) is an error; so is a connection that fails ([`BrokeOff`]).
    pub async fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        loop {
            if let Some(line) = take_line(&mut self.buf, self.done) {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                // No item has an `error` field, so a line that reads as one is the last.
                if let Ok(e) = serde_json::from_str::<StreamError>(text) {
                    anyhow::bail!("{}", e.error);
                }
                let item = serde_json::from_str(text).with_context(|| {
                    format!(
                        "the ecsctl server at {} sent a line this ecsctl cannot read",
                        self.addr
                    )
                })?;
                return Ok(Some(item));
            }
            if self.done {
                return Ok(None);
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => {
                    return Err(BrokeOff {
                        server: self.addr.clone(),
                        reason: super::transport::hyper_reason(&e),
                    }
                    .into());
                }
                None => self.done = true,
            }
        }
    }
}

/// Takes the first complete line out of `buf` (without its newline); at the end of the
/// stream, whatever is left.
fn take_line(buf: &mut Vec<u8>, at_end: bool) -> Option<Vec<u8>> {
    match buf.iter().position(|b| *b == b'\n') {
        Some(i) => {
            let mut line: Vec<u8> = buf.drain(..=i).collect();
            line.pop();
            Some(line)
        }
        None if at_end && !buf.is_empty() => Some(std::mem::take(buf)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_across_frames() {
        let mut buf = b"{\"a\":1}\n{\"b\"".to_vec();
        assert_eq!(take_line(&mut buf, false).unwrap(), b"{\"a\":1}");
        assert_eq!(take_line(&mut buf, false), None);
        buf.extend_from_slice(b":2}\n");
        assert_eq!(take_line(&mut buf, false).unwrap(), b"{\"b\":2}");
        assert_eq!(take_line(&mut buf, true), None);
        buf.extend_from_slice(b"tail");
        assert_eq!(take_line(&mut buf, true).unwrap(), b"tail");
        assert!(buf.is_empty());
    }
}
