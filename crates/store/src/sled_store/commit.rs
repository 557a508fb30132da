//! Committing a planned batch to sled in one multi-tree transaction, and trimming the
//! event log.

use super::{Trees, backend};
use crate::StoreError;
use crate::keys::{META_REVISION, decode_event_key, event_key};
use crate::plan::Batch;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

/// Writes every object change, event and counter of `batch` atomically: all or nothing.
pub(super) fn commit(trees: &Trees, batch: &Batch, capacity: u64) -> Result<(), StoreError> {
    // Encode outside the transaction: sled may run the closure more than once.
    let objects = batch
        .objects
        .iter()
        .map(|(k, v)| {
            Ok((
                k.as_bytes(),
                v.as_ref().map(serde_json::to_vec).transpose()?,
            ))
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(encode_error)?;
    let events = batch
        .events
        .iter()
        .map(|e| Ok((e.revision, serde_json::to_vec(e)?)))
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .map_err(encode_error)?;
    let last = batch.events.last().map(|e| e.revision);
    let index = super::labels::changes(trees, &batch.objects)?;

    let result: Result<(), TransactionError<()>> = (
        &trees.objects,
        &trees.events,
        &trees.meta,
        &trees.labels,
        &trees.secrets,
    )
        .transaction(|(o, e, m, l, s)| {
            for (key, value) in &batch.secrets {
                match value {
                    Some(v) => s.insert(key.as_bytes(), v.as_bytes())?,
                    None => s.remove(key.as_bytes())?,
                };
            }
            for key in &index.remove {
                l.remove(key.as_slice())?;
            }
            for key in &index.add {
                l.insert(key.as_slice(), &[])?;
            }
            for (key, value) in &objects {
                match value {
                    Some(bytes) => o.insert(*key, bytes.as_slice())?,
                    None => o.remove(*key)?,
                };
            }
            for (revision, bytes) in &events {
                e.insert(&event_key(*revision), bytes.as_slice())?;
                // Revisions are contiguous, so dropping the one `capacity` back keeps the
                // log at exactly the newest `capacity` events.
                if capacity > 0 && *revision > capacity {
                    e.remove(&event_key(revision - capacity))?;
                }
            }
            for (key, n) in &batch.counters {
                m.insert(key.as_bytes(), &n.to_be_bytes())?;
            }
            if let Some(last) = last {
                m.insert(META_REVISION, &last.to_be_bytes())?;
            }
            Ok::<(), ConflictableTransactionError<()>>(())
        });
    result.map_err(|e| match e {
        TransactionError::Abort(()) => StoreError::Backend("transaction aborted".to_string()),
        TransactionError::Storage(e) => backend(e),
    })
}

/// Drops events older than the newest `capacity` ones (at open, in case the capacity
/// shrank since the log was written).
pub(super) fn trim_events(
    events: &sled::Tree,
    revision: u64,
    capacity: u64,
) -> Result<(), StoreError> {
    let keep_from = revision.saturating_sub(capacity) + 1;
    let mut removed = 0u64;
    for key in events.range(..event_key(keep_from)).keys() {
        let key = key.map_err(backend)?;
        decode_event_key(&key)?;
        events.remove(key).map_err(backend)?;
        removed += 1;
    }
    if removed > 0 {
        events.flush().map_err(backend)?;
        tracing::debug!(removed, "trimmed the event log");
    }
    Ok(())
}

fn encode_error(e: serde_json::Error) -> StoreError {
    StoreError::Backend(format!("cannot encode an object: {e}"))
}
