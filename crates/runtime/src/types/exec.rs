//! An interactive command in a running container (`ecsctl exec`): what to run, and the
//! session that streams its input and output.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use tokio::io::AsyncWrite;

use crate::error::Result;
use crate::runtime::BoxStream;

/// What to run in the container, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// The command and its arguments, as the engine runs them (no shell added).
    pub cmd: Vec<String>,
    /// Attach stdin: what is written to [`ExecSession::input`] reaches the command, and
    /// shutting it down closes the command's stdin.
    pub stdin: bool,
    /// Give the command a terminal: stdout and stderr arrive as one stream (stdout).
    pub tty: bool,
    /// The terminal's size to start with (columns, rows), with `tty`.
    pub size: Option<(u16, u16)>,
}

/// A piece of what the command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecChunk {
    Stdout(Bytes),
    Stderr(Bytes),
}

/// A started command: its id (for [`crate::ContainerRuntime::exec_resize`] and
/// [`crate::ContainerRuntime::exec_exit_code`]), its stdin and its output.
pub struct ExecSession {
    /// The engine's id of the exec.
    pub id: String,
    /// The command's stdin (a sink when it was not attached); `shutdown` ends it.
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
    /// What it prints, until it has exited (or the engine went away: an `Err`, then the end).
    pub output: BoxStream<Result<ExecChunk>>,
}

impl fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecSession")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
