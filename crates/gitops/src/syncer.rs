//! The long-running sync of one directory: notify watcher -> debounce -> rescan -> apply +
//! prune, plus a periodic resync that repairs drift.

use crate::{StatusBoard, SyncError, SyncRequest, source_name, sync_once};
use admission::Admission;
use notify::{EventKind, RecursiveMode, Watcher};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::time::Instant;

/// How a [`Syncer`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    /// Quiet time after the last change before the directory is re-read.
    pub debounce: Duration,
    /// How often the directory is re-applied even without changes (drift repair).
    pub resync: Duration,
    /// Delete objects the directory owned and no longer holds.
    pub prune: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            debounce: Duration::from_millis(500),
            resync: Duration::from_secs(300),
            prune: true,
        }
    }
}

/// Keeps a store in sync with one directory until shutdown.
#[derive(Clone)]
pub struct Syncer {
    dir: PathBuf,
    store: Arc<dyn Store>,
    admission: Arc<Admission>,
    board: StatusBoard,
    opts: SyncOptions,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer")
            .field("dir", &self.dir)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl Syncer {
    /// A syncer of `dir` (used as given: canonicalize it first) into `store`, through
    /// `admission`.
    pub fn new(
        dir: PathBuf,
        store: Arc<dyn Store>,
        admission: Arc<Admission>,
        board: StatusBoard,
        opts: SyncOptions,
    ) -> Self {
        board.register(&source_name(&dir));
        Syncer {
            dir,
            store,
            admission,
            board,
            opts,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One sync now (on a blocking thread).
    pub async fn sync_now(&self) -> Result<crate::SyncReport, SyncError> {
        let s = self.clone();
        let req = SyncRequest {
            dry_run: false,
            prune: self.opts.prune,
        };
        tokio::task::spawn_blocking(move || {
            sync_once(s.store.as_ref(), &s.admission, &s.dir, req, Some(&s.board))
        })
        .await
        .unwrap_or_else(|e| {
            Err(SyncError::Invalid {
                dir: source_name(&self.dir),
                diagnostics: vec![api::Diagnostic::source_level(
                    &source_name(&self.dir),
                    format!("the sync panicked: {e}"),
                )],
            })
        })
    }

    /// Watches the directory and syncs after every burst of changes (once it has been quiet
    /// for `debounce`) and every `resync`, until `shutdown` completes. Does not sync at start:
    /// call [`Syncer::sync_now`] first.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), SyncError> {
        let source = source_name(&self.dir);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |res| {
            let _ = tx.send(res);
        })
        .map_err(|e| SyncError::Watch {
            dir: source.clone(),
            source: e,
        })?;
        // The parent too, so that a directory moved into place (or created) is seen.
        if let Some(parent) = self.dir.parent()
            && let Err(e) = watcher.watch(parent, RecursiveMode::NonRecursive)
        {
            tracing::warn!(dir = %parent.display(), error = %e, "cannot watch the parent directory");
        }
        self.rewatch(&mut watcher);
        tracing::info!(source = %source, "watching");

        tokio::pin!(shutdown);
        let mut deadline: Option<Instant> = None;
        let mut resync =
            tokio::time::interval_at(Instant::now() + self.opts.resync, self.opts.resync);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let quiet = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                ev = rx.recv() => match ev {
                    None => break,
                    Some(Ok(ev)) => {
                        if self.relevant(&ev) {
                            tracing::trace!(?ev, "change");
                            self.board.mark_out_of_sync(&source);
                            deadline = Some(Instant::now() + self.opts.debounce);
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(source = %source, error = %e, "watch error; resyncing");
                        deadline = Some(Instant::now() + self.opts.debounce);
                    }
                },
                _ = quiet => {
                    deadline = None;
                    // Re-establish the watch first: the directory may be a new one (mv, checkout).
                    self.rewatch(&mut watcher);
                    let _ = self.sync_now().await;
                }
                _ = resync.tick() => {
                    self.rewatch(&mut watcher);
                    let _ = self.sync_now().await;
                }
            }
        }
        tracing::info!(source = %source, "stopped watching");
        Ok(())
    }

    fn rewatch(&self, watcher: &mut notify::RecommendedWatcher) {
        let _ = watcher.unwatch(&self.dir);
        if let Err(e) = watcher.watch(&self.dir, RecursiveMode::Recursive) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot watch the directory (yet)");
        }
    }

    /// Changes inside the directory (or to the directory itself); reads are not changes.
    fn relevant(&self, ev: &notify::Event) -> bool {
        !matches!(ev.kind, EventKind::Access(_))
            && (ev.paths.is_empty() || ev.paths.iter().any(|p| p.starts_with(&self.dir)))
    }
}
