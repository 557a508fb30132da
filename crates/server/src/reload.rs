//! SIGHUP: the files an operator edits while the server runs (the `--tokens` file, the
//! `--aws-credentials` file) are read again, each swapped in whole. A file that no longer
//! reads keeps what is in use, and the log says why, so that a typo never locks anyone out.

use crate::ServerError;
use std::sync::Arc;

/// Something read from a file that SIGHUP reads again.
pub(crate) trait Reload: Send + Sync + 'static {
    /// What it is, for the log (`the tokens file`).
    fn what(&self) -> String;
    /// Reads the file again and swaps the result in; on any error keeps what is in use.
    /// Returns how many entries are in use now.
    fn reload(&self) -> Result<usize, ServerError>;
}

/// Reloads every one of `targets` on each SIGHUP until `stop` completes.
pub(crate) fn on_sighup(
    targets: Vec<Arc<dyn Reload>>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<tokio::task::JoinHandle<()>, ServerError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup =
        signal(SignalKind::hangup()).map_err(|e| ServerError::io("cannot listen for SIGHUP", e))?;
    Ok(tokio::spawn(async move {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                got = hup.recv() => if got.is_none() { return },
            }
            for target in &targets {
                let t = target.clone();
                // Reading a file: off the async workers.
                match tokio::task::spawn_blocking(move || t.reload()).await {
                    Ok(Ok(n)) => tracing::info!(entries = n, "SIGHUP: reloaded {}", target.what()),
                    Ok(Err(e)) => tracing::error!(
                        error = %e,
                        "SIGHUP: {} was not reloaded; what is in use stays",
                        target.what()
                    ),
                    Err(e) => {
                        tracing::error!(error = %e, "SIGHUP: reloading {} failed", target.what())
                    }
                }
            }
        }
    }))
}
