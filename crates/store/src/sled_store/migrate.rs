//! Layout changes applied when a store opens, so that data directories written by older
//! servers keep working.
//!
//! Secrets became clustered: a store written before kept them at `Secret/NAME`, with their
//! value under the same key in the `secrets` tree. They move to `Secret/default/NAME` (the
//! cluster a manifest without `metadata.cluster` names), value and label index entries with
//! them, in one transaction per Secret. The object keeps its resourceVersion and no event
//! is written: nothing about the Secret changed but where it is filed.

use super::{Trees, backend, decode_object, labels};
use crate::StoreError;
use api::{DEFAULT_CLUSTER, Kind};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

/// Moves every Secret stored without a cluster into the default cluster.
pub(super) fn secrets_into_clusters(trees: &Trees) -> Result<(), StoreError> {
    let prefix = format!("{}/", Kind::Secret.as_str());
    let mut moved = 0usize;
    for item in trees.objects.scan_prefix(prefix.as_bytes()) {
        let (k, v) = item.map_err(backend)?;
        let old_key = String::from_utf8_lossy(&k).into_owned();
        // `Secret/NAME` is the old layout; `Secret/CLUSTER/NAME` the new one.
        let Some(name) = old_key
            .strip_prefix(&prefix)
            .filter(|rest| !rest.contains('/'))
        else {
            continue;
        };
        let new_key = format!("{prefix}{DEFAULT_CLUSTER}/{name}");
        if trees
            .objects
            .contains_key(new_key.as_bytes())
            .map_err(backend)?
        {
            // Cannot happen through the API (no server wrote both layouts); keep both
            // rather than lose either, and say so.
            tracing::warn!(old = %old_key, new = %new_key, "a Secret exists in both layouts; the old one is left as it is");
            continue;
        }
        let mut obj = decode_object(&old_key, &v)?;
        obj.metadata.cluster = Some(DEFAULT_CLUSTER.to_string());
        let bytes = serde_json::to_vec(&obj)
            .map_err(|e| StoreError::Backend(format!("cannot encode {new_key}: {e}")))?;
        let value = trees.secrets.get(k.as_ref()).map_err(backend)?;
        let index: Vec<(Vec<u8>, Vec<u8>)> = obj
            .metadata
            .labels
            .iter()
            .map(|(lk, lv)| {
                let label = (lk.as_str(), lv.as_str());
                (
                    labels::entry(Kind::Secret.as_str(), label, &old_key),
                    labels::entry(Kind::Secret.as_str(), label, &new_key),
                )
            })
            .collect();
        let result: Result<(), TransactionError<()>> =
            (&trees.objects, &trees.secrets, &trees.labels).transaction(|(o, s, l)| {
                o.remove(old_key.as_bytes())?;
                o.insert(new_key.as_bytes(), bytes.as_slice())?;
                if let Some(value) = &value {
                    s.remove(old_key.as_bytes())?;
                    s.insert(new_key.as_bytes(), value.as_ref())?;
                }
                for (old, new) in &index {
                    l.remove(old.as_slice())?;
                    l.insert(new.as_slice(), &[])?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        result.map_err(|e| match e {
            TransactionError::Abort(()) => StoreError::Backend("transaction aborted".to_string()),
            TransactionError::Storage(e) => backend(e),
        })?;
        moved += 1;
    }
    if moved > 0 {
        trees.objects.flush().map_err(backend)?;
        tracing::info!(
            moved,
            cluster = DEFAULT_CLUSTER,
            "moved Secrets stored without a cluster into the default cluster"
        );
    }
    Ok(())
}
