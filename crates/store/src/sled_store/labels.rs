//! A label index, so that `list` with a label selector (a service's tasks) reads only the
//! objects that carry the label instead of decoding every object of the kind.
//!
//! Keys: `Kind \0 key=value \0 storage-key`, empty values. Kept in the same transaction as
//! the objects; rebuilt at open when missing (stores written before it existed).

use super::{Trees, backend, decode_object};
use crate::StoreError;
use api::Object;
use std::collections::BTreeMap;

/// Meta key recording that the index is complete.
pub(super) const META_LABEL_INDEX: &str = "label-index-v1";

/// Index key of one label of one object.
pub(super) fn entry(kind: &str, label: (&str, &str), storage_key: &str) -> Vec<u8> {
    format!("{kind}\0{}={}\0{storage_key}", label.0, label.1).into_bytes()
}

/// Prefix under which the objects of `kind` with `key=value` are indexed.
pub(super) fn prefix(kind: &str, key: &str, value: &str) -> Vec<u8> {
    format!("{kind}\0{key}={value}\0").into_bytes()
}

/// The storage key an index entry points to.
pub(super) fn target(entry: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(entry).ok()?;
    s.splitn(3, '\0').nth(2).map(str::to_string)
}

fn entries(storage_key: &str, obj: &Object) -> Vec<Vec<u8>> {
    obj.metadata
        .labels
        .iter()
        .map(|(k, v)| entry(obj.kind.as_str(), (k, v), storage_key))
        .collect()
}

/// Index entries to remove and to add.
#[derive(Debug, Default)]
pub(super) struct Changes {
    pub remove: Vec<Vec<u8>>,
    pub add: Vec<Vec<u8>>,
}

/// The index changes of a batch of object writes (read before the transaction, under the
/// writer lock, so the old values cannot change meanwhile).
pub(super) fn changes(
    trees: &Trees,
    objects: &BTreeMap<String, Option<Object>>,
) -> Result<Changes, StoreError> {
    let Changes {
        mut remove,
        mut add,
    } = Changes::default();
    for (key, new) in objects {
        let old = match trees.objects.get(key.as_bytes()).map_err(backend)? {
            Some(bytes) => Some(decode_object(key, &bytes)?),
            None => None,
        };
        let old_entries = old.as_ref().map(|o| entries(key, o)).unwrap_or_default();
        let new_entries = new.as_ref().map(|o| entries(key, o)).unwrap_or_default();
        remove.extend(
            old_entries
                .iter()
                .filter(|e| !new_entries.contains(e))
                .cloned(),
        );
        add.extend(new_entries.into_iter().filter(|e| !old_entries.contains(e)));
    }
    Ok(Changes { remove, add })
}

/// Builds the index from the objects, once.
pub(super) fn rebuild_if_missing(trees: &Trees) -> Result<(), StoreError> {
    if trees.meta.get(META_LABEL_INDEX).map_err(backend)?.is_some() {
        return Ok(());
    }
    trees.labels.clear().map_err(backend)?;
    let mut n = 0u64;
    for item in trees.objects.iter() {
        let (k, v) = item.map_err(backend)?;
        let key = String::from_utf8_lossy(&k).into_owned();
        for e in entries(&key, &decode_object(&key, &v)?) {
            trees.labels.insert(e, &[]).map_err(backend)?;
            n += 1;
        }
    }
    trees.meta.insert(META_LABEL_INDEX, &[1]).map_err(backend)?;
    trees.labels.flush().map_err(backend)?;
    tracing::debug!(entries = n, "built the label index");
    Ok(())
}
