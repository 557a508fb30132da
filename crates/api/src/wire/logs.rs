//! `GET /v1/tasks/{id}/logs`: one [`LogLine`] per line (newline-delimited JSON).

use serde::{Deserialize, Serialize};

/// Response header naming the containers streamed, comma-separated, in task definition order.
pub const CONTAINERS_HEADER: &str = "x-ecsctl-containers";

/// One line a task's container printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The container's name in the task definition.
    pub container: String,
    /// Which stream it printed to.
    pub stream: LogStream,
    /// The line, without its newline.
    pub text: String,
    /// When it was printed (RFC 3339), when the engine says.
    pub timestamp: Option<String>,
}

/// `stdout` or `stderr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}
