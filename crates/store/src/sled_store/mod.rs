//! [`SledStore`]: the [`Store`] on sled.
//!
//! Trees: `objects` (storage key -> object JSON), `events` (revision -> event JSON, the
//! bounded event log watches replay from), `meta` (the revision counter and the per-family
//! TaskDefinition revision counters), `labels` (the label index) and `secrets` (Secret
//! values, kept out of the objects and the event log). A write plans its changes (see
//! `crate::plan`), commits them to all three trees in one transaction, flushes, and only
//! then publishes its events to live watchers and returns.

mod commit;
mod labels;
mod mark;
mod migrate;
mod watch;

#[cfg(test)]
mod tests;

use crate::keys::{self, META_REVISION, Target, decode_object, normalize_key};
use crate::plan::{Planner, Reader, now_rfc3339};
use crate::{ApplyResult, ListQuery, ObjectList, Store, StoreError, Watch, WatchEvent};
use api::{Object, ObjectKey};
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::broadcast;

/// How many live events a watcher may fall behind before it catches up from the event log.
const LIVE_BUFFER: usize = 1024;

/// Tunables of a [`SledStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// How many of the newest events the event log keeps for watches to replay.
    pub event_log_capacity: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            event_log_capacity: 10_000,
        }
    }
}

/// The sled trees a store uses.
#[derive(Clone)]
pub(crate) struct Trees {
    pub objects: sled::Tree,
    pub events: sled::Tree,
    pub meta: sled::Tree,
    /// Label index (see `labels`).
    pub labels: sled::Tree,
    /// Secret values by the Secret's storage key, apart from the objects (and so from the
    /// event log and every watch).
    pub secrets: sled::Tree,
}

/// A [`Store`] kept in a sled database directory.
pub struct SledStore {
    db: sled::Db,
    trees: Trees,
    /// Serializes writes: plan, commit, flush and publish happen under it, so revisions are
    /// handed out, committed and published in order. Reads never take it.
    writer: Mutex<()>,
    /// The last committed revision; only changed while holding `writer`.
    revision: AtomicU64,
    /// Live events for watchers, published after each flushed commit.
    live: broadcast::Sender<Arc<WatchEvent>>,
    options: StoreOptions,
    /// The revision of the last acknowledged write, kept outside sled (see `mark`).
    mark: Mutex<mark::Mark>,
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens (or creates) the store in directory `path` with non-default options.
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let db = open_db(path)?;
        let trees = Trees {
            objects: db.open_tree("objects").map_err(backend)?,
            events: db.open_tree("events").map_err(backend)?,
            meta: db.open_tree("meta").map_err(backend)?,
            labels: db.open_tree("labels").map_err(backend)?,
            secrets: db.open_tree("secrets").map_err(backend)?,
        };
        labels::rebuild_if_missing(&trees)?;
        migrate::secrets_into_clusters(&trees)?;
        let revision = read_counter(&trees.meta, META_REVISION)?;
        let mark = mark::Mark::open(path, revision)?;
        commit::trim_events(&trees.events, revision, options.event_log_capacity)?;
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        tracing::debug!(path = %path.display(), revision, "store opened");
        Ok(SledStore {
            db,
            trees,
            writer: Mutex::new(()),
            revision: AtomicU64::new(revision),
            live,
            options,
            mark: Mutex::new(mark),
        })
    }

    /// Plans writes with `plan` and, unless `dry_run`, commits and flushes them.
    fn write<T>(
        &self,
        dry_run: bool,
        plan: impl FnOnce(&mut Planner<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // The lock guards no data (the state is in sled and the atomic), so a panic in
        // another writer leaves nothing half-done here: ignore poisoning.
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let start = self.revision.load(Ordering::Acquire);
        let mut planner = Planner::new(self, start, now_rfc3339()?);
        let out = plan(&mut planner)?;
        let batch = planner.into_batch();
        let Some(last) = batch.events.last().map(|e| e.revision) else {
            return Ok(out);
        };
        if dry_run {
            return Ok(out);
        }
        commit::commit(&self.trees, &batch, self.options.event_log_capacity)?;
        // Committed: readers can see it, so the revision moves on even if the flush fails.
        self.revision.store(last, Ordering::Release);
        let flushed = self.db.flush();
        for event in batch.events {
            // An error only means nobody is watching right now.
            let _ = self.live.send(Arc::new(event));
        }
        flushed.map_err(backend)?;
        self.mark
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(last)
            .map_err(|e| {
                StoreError::Backend(format!("cannot record the acknowledged revision: {e}"))
            })?;
        tracing::debug!(revision = last, "store write committed");
        Ok(out)
    }

    fn get_raw(&self, key: &str) -> Result<Option<Object>, StoreError> {
        match self.trees.objects.get(key).map_err(backend)? {
            Some(bytes) => decode_object(key, &bytes).map(Some),
            None => Ok(None),
        }
    }
}

impl Reader for SledStore {
    fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        self.get_raw(key)
    }

    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.trees
            .objects
            .scan_prefix(prefix)
            .keys()
            .map(|k| {
                let k = k.map_err(backend)?;
                String::from_utf8(k.to_vec()).map_err(|_| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    message: "key is not UTF-8".to_string(),
                })
            })
            .collect()
    }

    fn counter(&self, key: &str) -> Result<u64, StoreError> {
        read_counter(&self.trees.meta, key)
    }

    fn secret_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.trees.secrets.get(key).map_err(backend)? {
            None => Ok(None),
            Some(bytes) => {
                String::from_utf8(bytes.to_vec())
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt {
                        key: format!("secrets/{key}"),
                        message: "value is not UTF-8".to_string(),
                    })
            }
        }
    }
}

impl Store for SledStore {
    fn get(&self, key: &ObjectKey) -> Result<Option<Object>, StoreError> {
        match keys::target(&normalize_key(key)) {
            Target::One(k) => self.get_raw(&k),
            // The latest ACTIVE revision.
            Target::Family(prefix) => {
                for entry in self.trees.objects.scan_prefix(&prefix).rev() {
                    let (k, v) = entry.map_err(backend)?;
                    let o = decode_object(&String::from_utf8_lossy(&k), &v)?;
                    if keys::is_active_revision(&o) {
                        return Ok(Some(o));
                    }
                }
                Ok(None)
            }
        }
    }

    fn count(&self, query: &ListQuery) -> Result<usize, StoreError> {
        if !query.labels.is_empty() {
            return Ok(self.list(query)?.items.len());
        }
        // The keys alone: every key under the prefix is an object the list would return.
        let prefix = keys::list_prefix(query.kind, query.cluster.as_deref());
        let mut n = 0;
        for key in self.trees.objects.scan_prefix(&prefix).keys() {
            key.map_err(backend)?;
            n += 1;
        }
        Ok(n)
    }

    fn list(&self, query: &ListQuery) -> Result<ObjectList, StoreError> {
        // Read the revision first: every write up to it is visible to the scan below, so a
        // watch from it misses nothing (it may repeat a write the scan already saw).
        let revision = self.revision.load(Ordering::Acquire);
        let mut items = Vec::new();
        if let Some((lk, lv)) = query.labels.iter().next() {
            // Only the objects that carry the first label are read.
            for entry in self
                .trees
                .labels
                .scan_prefix(labels::prefix(query.kind.as_str(), lk, lv))
            {
                let (k, _) = entry.map_err(backend)?;
                let Some(key) = labels::target(&k) else {
                    continue;
                };
                let Some(v) = self.trees.objects.get(key.as_bytes()).map_err(backend)? else {
                    continue;
                };
                let obj = decode_object(&key, &v)?;
                if query.matches(&obj) {
                    items.push(obj);
                }
            }
        } else {
            let prefix = keys::list_prefix(query.kind, query.cluster.as_deref());
            for entry in self.trees.objects.scan_prefix(&prefix) {
                let (k, v) = entry.map_err(backend)?;
                let obj = decode_object(&String::from_utf8_lossy(&k), &v)?;
                if query.matches(&obj) {
                    items.push(obj);
                }
            }
        }
        crate::types::sort_listed(&mut items);
        Ok(ObjectList { items, revision })
    }

    fn apply(&self, obj: Object) -> Result<ApplyResult, StoreError> {
        let mut results = self.apply_all(vec![obj], false)?;
        results
            .pop()
            .ok_or_else(|| StoreError::Backend("apply returned no result".to_string()))
    }

    fn apply_all(&self, objs: Vec<Object>, dry_run: bool) -> Result<Vec<ApplyResult>, StoreError> {
        self.write(dry_run, |planner| {
            objs.into_iter().map(|o| planner.apply(o)).collect()
        })
    }

    fn write_all(&self, writes: Vec<crate::Write>) -> Result<(), StoreError> {
        self.write(false, |planner| {
            writes.into_iter().try_for_each(|w| planner.write(w))
        })
    }

    fn register(&self, obj: Object) -> Result<ApplyResult, StoreError> {
        self.write(false, |planner| planner.register(obj))
    }

    fn update_status(
        &self,
        key: &ObjectKey,
        status: serde_json::Value,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError> {
        let key = normalize_key(key);
        self.write(false, |planner| {
            planner.update_status(&key, status, expected_resource_version)
        })
    }

    fn delete(&self, key: &ObjectKey) -> Result<Vec<Object>, StoreError> {
        let key = normalize_key(key);
        self.write(false, |planner| planner.delete(&key))
    }

    fn delete_all(&self, keys: &[ObjectKey]) -> Result<Vec<Object>, StoreError> {
        self.write(false, |planner| planner.delete_existing(keys))
    }

    fn watch(&self, from_revision: u64) -> Result<Watch, StoreError> {
        // Subscribe before looking at the log: whatever is committed from now on reaches the
        // watch live, whatever was committed before is in the log.
        let live = self.live.subscribe();
        let current = self.revision.load(Ordering::Acquire);
        watch::start(self.trees.events.clone(), live, current, from_revision)
    }

    fn revision(&self) -> u64 {
        self.revision.load(Ordering::Acquire)
    }

    fn secret_value(&self, key: &ObjectKey) -> Result<Option<String>, StoreError> {
        Reader::secret_value(
            self,
            &keys::plain_key(key.kind, key.cluster.as_deref(), &key.name),
        )
    }
}

impl fmt::Debug for SledStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SledStore")
            .field("revision", &self.revision.load(Ordering::Relaxed))
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

pub(crate) fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Opens the sled database. sled releases a dropped database's file lock from a background
/// thread a moment later, so a reopen right after a close (a restarting server, a test) waits
/// up to 5 s for it before giving up.
fn open_db(path: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match sled::Config::new().path(path).open() {
            Ok(db) => return Ok(db),
            Err(e)
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => {
                return Err(StoreError::Backend(format!(
                    "cannot open store at {}: {e}",
                    path.display()
                )));
            }
        }
    }
}

fn read_counter(meta: &sled::Tree, key: &str) -> Result<u64, StoreError> {
    match meta.get(key).map_err(backend)? {
        None => Ok(0),
        Some(bytes) => {
            let arr: [u8; 8] = bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                key: format!("meta/{key}"),
                message: format!("counter is {} bytes, expected 8", bytes.len()),
            })?;
            Ok(u64::from_be_bytes(arr))
        }
    }
}
