//! How failures become exit codes and one clear line on stderr.
//!
//! 0 ok, 1 the operation failed, 2 usage or input errors. `diff` uses 1 for "differences found",
//! so its operational failures move to 3 (as kubectl diff does).

use std::fmt;

/// A mistake in what the user typed or gave us (flags, paths, manifests): exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error as an `anyhow::Error`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Whatever there was to say has been printed already; exit with this code.
#[derive(Debug)]
pub struct Reported(pub u8);

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Reported {}

/// An error answer from the server: `{"error": "...", "details": [...]}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub details: Vec<String>,
}

impl ApiError {
    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// Whether `err` is the server saying "not found".
pub fn is_not_found(err: &anyhow::Error) -> bool {
    err.downcast_ref::<ApiError>()
        .is_some_and(ApiError::is_not_found)
}

/// Prints `err` (unless already reported) and returns the exit code for it.
pub fn report(err: &anyhow::Error, is_diff: bool) -> u8 {
    if let Some(Reported(code)) = err.downcast_ref::<Reported>() {
        return *code;
    }
    // Errors quote the server and what users wrote: shown, never obeyed by the terminal.
    eprintln!(
        "error: {}",
        api::text::escape_keep_lines(&format!("{err:#}"))
    );
    let code = if err.downcast_ref::<UsageError>().is_some() {
        2
    } else if let Some(api) = err.downcast_ref::<ApiError>() {
        for d in &api.details {
            eprintln!("  {}", api::text::escape(d));
        }
        // The server refused the input itself: that is an input error, like a local one.
        if api.status == 400 || api.status == 413 {
            2
        } else {
            1
        }
    } else {
        1
    };
    if is_diff && code == 1 { 3 } else { code }
}

/// The text of an I/O error without Rust's ` (os error N)` suffix, starting lower-case.
pub fn io_reason(e: &std::io::Error) -> String {
    let mut s = e.to_string();
    if let Some(i) = s.find(" (os error ") {
        s.truncate(i);
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => s,
    }
}
