//! `POST /v1/tasks/{id}/exec?cluster=C` (`ecsctl exec`): a command in a task's container,
//! its input and output streamed both ways.
//!
//! The request carries an [`ExecRequest`] as its JSON body and asks for an HTTP/1.1 upgrade
//! to [`EXEC_PROTOCOL`] (as Docker's own attach does). A refusal is an ordinary error answer
//! (403, 404, 409...); an accepted exec answers `101 Switching Protocols`, and from then on
//! the connection carries [`Frame`]s both ways, each a kind byte, a big-endian `u32` length
//! and that many bytes: the client sends stdin (and its end) and window sizes, the server
//! sends stdout, stderr and, last, the command's exit code (or an error, one line).

use serde::{Deserialize, Serialize};

/// The value of the `Upgrade` header an exec asks for (and its 101 answer names).
pub const EXEC_PROTOCOL: &str = "ecsctl-exec.v1";

/// The most bytes one frame may carry; a longer one is a broken peer.
pub const MAX_FRAME_PAYLOAD: u32 = 1 << 20;

/// What to run, and how (the body of the exec request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecRequest {
    /// The container's name; absent: the task's only container, or its first essential one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The command and its arguments (no shell is added).
    pub command: Vec<String>,
    /// Attach the command's stdin (`-i`): the client's [`Frame::Stdin`] frames reach it.
    #[serde(default)]
    pub stdin: bool,
    /// Give the command a terminal (`-t`): stdout and stderr are then one stream.
    #[serde(default)]
    pub tty: bool,
    /// The terminal's size to start with (with `tty`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<WindowSize>,
}

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSize {
    pub cols: u16,
    pub rows: u16,
}

/// One unit of the exec stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Client to server: bytes for the command's stdin.
    Stdin(Vec<u8>),
    /// Client to server: stdin has ended (Ctrl-D on a terminal, the end of a pipe).
    StdinEnd,
    /// Client to server: the terminal was resized.
    Resize(WindowSize),
    /// Server to client: bytes the command wrote to stdout (with a TTY: everything).
    Stdout(Vec<u8>),
    /// Server to client: bytes the command wrote to stderr.
    Stderr(Vec<u8>),
    /// Server to client, last: the command ended with this exit code.
    Exit(i64),
    /// Server to client, last: the session broke off (the engine went away...), in words.
    Error(String),
}

const STDIN: u8 = 1;
const STDIN_END: u8 = 2;
const RESIZE: u8 = 3;
const STDOUT: u8 = 17;
const STDERR: u8 = 18;
const EXIT: u8 = 19;
const ERROR: u8 = 20;

/// Bytes before a frame's payload: its kind and its length.
const HEADER: usize = 5;

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("exec stream: unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("exec stream: a frame of {0} bytes (at most {MAX_FRAME_PAYLOAD})")]
    TooLong(u32),
    #[error("exec stream: a frame of kind {kind} cannot be {len} bytes long")]
    BadLength { kind: u8, len: u32 },
    #[error("exec stream: an error frame that is not UTF-8")]
    NotUtf8,
}

impl Frame {
    /// Appends the frame's bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (kind, payload): (u8, std::borrow::Cow<'_, [u8]>) = match self {
            Frame::Stdin(b) => (STDIN, b.into()),
            Frame::StdinEnd => (STDIN_END, (&[][..]).into()),
            Frame::Resize(s) => {
                let mut p = s.cols.to_be_bytes().to_vec();
                p.extend_from_slice(&s.rows.to_be_bytes());
                (RESIZE, p.into())
            }
            Frame::Stdout(b) => (STDOUT, b.into()),
            Frame::Stderr(b) => (STDERR, b.into()),
            Frame::Exit(code) => (EXIT, code.to_be_bytes().to_vec().into()),
            Frame::Error(e) => (ERROR, e.as_bytes().into()),
        };
        out.push(kind);
        // Payloads are cut to MAX_FRAME_PAYLOAD by whoever makes them (see `chunks`).
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&payload);
    }

    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Whether this frame ends the stream (the exit code, or an error).
    pub fn is_last(&self) -> bool {
        matches!(self, Frame::Exit(_) | Frame::Error(_))
    }
}

/// Splits `data` into payloads no longer than [`MAX_FRAME_PAYLOAD`].
pub fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.chunks(MAX_FRAME_PAYLOAD as usize)
}

/// Reassembles frames from bytes as they arrive, in whatever pieces.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
}

impl FrameDecoder {
    /// A decoder with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes read from the connection.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Whether bytes of an unfinished frame are waiting (at the end of the stream: it was
    /// cut short).
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// The next whole frame, `None` until enough bytes are there, or why the bytes are not
    /// a frame (the stream cannot go on after that).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.buf.len() < HEADER {
            return Ok(None);
        }
        let kind = self.buf[0];
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
        if len > MAX_FRAME_PAYLOAD {
            return Err(FrameError::TooLong(len));
        }
        let fixed = match kind {
            STDIN_END => Some(0),
            RESIZE => Some(4),
            EXIT => Some(8),
            STDIN | STDOUT | STDERR | ERROR => None,
            other => return Err(FrameError::UnknownKind(other)),
        };
        if fixed.is_some_and(|f| f != len) {
            return Err(FrameError::BadLength { kind, len });
        }
        let end = HEADER + len as usize;
        if self.buf.len() < end {
            return Ok(None);
        }
        let payload: Vec<u8> = self.buf[HEADER..end].to_vec();
        self.buf.drain(..end);
        let p = &payload;
        Ok(Some(match kind {
            STDIN => Frame::Stdin(payload),
            STDIN_END => Frame::StdinEnd,
            RESIZE => Frame::Resize(WindowSize {
                cols: u16::from_be_bytes([p[0], p[1]]),
                rows: u16::from_be_bytes([p[2], p[3]]),
            }),
            STDOUT => Frame::Stdout(payload),
            STDERR => Frame::Stderr(payload),
            EXIT => Frame::Exit(i64::from_be_bytes([
                p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],
            ])),
            _ => Frame::Error(String::from_utf8(payload).map_err(|_| FrameError::NotUtf8)?),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all_kinds() -> Vec<Frame> {
        vec![
            Frame::Stdin(b"hi\n".to_vec()),
            Frame::StdinEnd,
            Frame::Resize(WindowSize { cols: 80, rows: 24 }),
            Frame::Stdout(Vec::new()),
            Frame::Stderr(vec![0, 255, 10]),
            Frame::Exit(-1),
            Frame::Exit(127),
            Frame::Error("the engine went away".into()),
        ]
    }

    #[test]
    fn every_kind_round_trips_byte_by_byte() {
        let frames = all_kinds();
        let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        for b in bytes {
            d.extend(&[b]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, frames);
        assert!(!d.has_partial());
    }

    #[test]
    fn the_layout_is_kind_length_payload() {
        assert_eq!(
            Frame::Resize(WindowSize {
                cols: 0x0102,
                rows: 3
            })
            .encode(),
            [3, 0, 0, 0, 4, 1, 2, 0, 3]
        );
        assert_eq!(Frame::StdinEnd.encode(), [2, 0, 0, 0, 0]);
        assert_eq!(
            Frame::Exit(3).encode(),
            [19, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3]
        );
    }

    #[test]
    fn broken_streams_are_errors_not_frames() {
        let mut d = FrameDecoder::new();
        d.extend(&[99, 0, 0, 0, 0]);
        assert_eq!(d.next_frame(), Err(FrameError::UnknownKind(99)));
        let mut d = FrameDecoder::new();
        d.extend(&[1, 0xff, 0, 0, 0]);
        assert!(matches!(d.next_frame(), Err(FrameError::TooLong(_))));
        let mut d = FrameDecoder::new();
        d.extend(&[3, 0, 0, 0, 2, 0, 0]);
        assert_eq!(
            d.next_frame(),
            Err(FrameError::BadLength { kind: 3, len: 2 })
        );
        let mut d = FrameDecoder::new();
        d.extend(&[20, 0, 0, 0, 1, 0xff]);
        assert_eq!(d.next_frame(), Err(FrameError::NotUtf8));
        // Half a frame is not an error: it waits for the rest.
        let mut d = FrameDecoder::new();
        d.extend(&[17, 0, 0, 0, 3, b'a']);
        assert_eq!(d.next_frame(), Ok(None));
        assert!(d.has_partial());
    }

    #[test]
    fn the_request_body_is_camel_case() {
        let r = ExecRequest {
            container: Some("app".into()),
            command: vec!["sh".into(), "-c".into(), "exit 3".into()],
            stdin: true,
            tty: false,
            size: Some(WindowSize { cols: 80, rows: 24 }),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"container":"app","command":["sh","-c","exit 3"],"stdin":true,"tty":false,"size":{"cols":80,"rows":24}}"#
        );
        assert_eq!(serde_json::from_str::<ExecRequest>(&json).unwrap(), r);
    }

    proptest! {
        #[test]
        fn data_frames_survive_any_split(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..320) {
            let frames = vec![Frame::Stdout(data.clone()), Frame::Stdin(data), Frame::Exit(0)];
            let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
            let cut = cut.min(bytes.len());
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            for part in [&bytes[..cut], &bytes[cut..]] {
                d.extend(part);
                while let Some(f) = d.next_frame().unwrap() {
                    got.push(f);
                }
            }
            prop_assert_eq!(got, frames);
        }
    }
}
