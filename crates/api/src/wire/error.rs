//! Bodies of the answers that are not 2xx, and the last line of a stream that broke off.

use serde::{Deserialize, Serialize};

/// Every error answer: `{"error": "...", "details": [...]}`. `details` holds one line per
/// problem when there are several (each invalid object of an apply, each refused rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, in one sentence.
    pub error: String,
    /// One line per problem; empty when `error` says it all.
    #[serde(default)]
    pub details: Vec<String>,
}

/// The line a newline-delimited JSON stream (a watch, logs) ends with when it broke off
/// after the answer started: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamError {
    /// Why the stream ended.
    pub error: String,
}
