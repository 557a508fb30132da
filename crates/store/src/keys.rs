//! How objects, events and counters are laid out as storage keys.
//!
//! Objects: `Kind/cluster/name` for clustered kinds, `Kind/name` otherwise, and
//! `TaskDefinition/family/NNNNNNNNNNNNNNNNNNNN` (revision zero-padded to 20 digits, so that
//! byte order is numeric order and the last key of a family is its latest revision).
//! Events: the revision as 8 big-endian bytes. Meta: `revision`, `family/<family>`.

use crate::StoreError;
use api::{DEFAULT_CLUSTER, Kind, Object, ObjectKey};

/// Meta key of the store revision counter.
pub(crate) const META_REVISION: &str = "revision";

/// What an [`ObjectKey`] names in storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Exactly one storage key.
    One(String),
    /// Every revision of a TaskDefinition family (the latest one, for reads).
    Family(String),
}

/// Resolves a user-facing key to storage.
pub(crate) fn target(key: &ObjectKey) -> Target {
    if key.kind.is_revisioned() {
        match key.revision_parts() {
            Some((family, n)) => Target::One(revision_key(family, n)),
            None => Target::Family(family_prefix(&key.name)),
        }
    } else {
        Target::One(plain_key(key.kind, key.cluster.as_deref(), &key.name))
    }
}

/// Storage key of a non-revisioned object. The cluster is ignored for kinds without one.
pub(crate) fn plain_key(kind: Kind, cluster: Option<&str>, name: &str) -> String {
    if kind.is_clustered() {
        format!(
            "{}/{}/{}",
            kind.as_str(),
            cluster.unwrap_or(DEFAULT_CLUSTER),
            name
        )
    } else {
        format!("{}/{}", kind.as_str(), name)
    }
}

/// The object name in a storage key (a TaskDefinition revision's: its family).
pub(crate) fn name_in(kind: Kind, storage_key: &str) -> Option<&str> {
    let skip = if kind.is_clustered() { 2 } else { 1 };
    storage_key.split('/').nth(skip)
}

/// Storage key of an object as it is stored (with its revision, if it is revisioned).
pub(crate) fn object_key(obj: &Object) -> String {
    match obj.metadata.revision {
        Some(n) if obj.kind.is_revisioned() => revision_key(&obj.metadata.name, n),
        _ => plain_key(
            obj.kind,
            obj.metadata.cluster.as_deref(),
            &obj.metadata.name,
        ),
    }
}

/// Whether a stored revision is one a bare family may name: ACTIVE (not deregistered, not
/// being deleted).
pub(crate) fn is_active_revision(obj: &Object) -> bool {
    api::taskdef::revision_state(obj) == api::taskdef::RevisionState::Active
}

/// Storage key of revision `n` of a TaskDefinition family.
pub(crate) fn revision_key(family: &str, n: u64) -> String {
    format!("{}{n:020}", family_prefix(family))
}

/// Prefix of every revision of a family (ends with `/`).
pub(crate) fn family_prefix(family: &str) -> String {
    format!("{}/{family}/", Kind::TaskDefinition.as_str())
}

/// Prefix of a list query: the kind, and the cluster when there is one to filter on.
pub(crate) fn list_prefix(kind: Kind, cluster: Option<&str>) -> String {
    match cluster {
        Some(c) if kind.is_clustered() => format!("{}/{c}/", kind.as_str()),
        _ => format!("{}/", kind.as_str()),
    }
}

/// Meta key of the last revision number handed out for a family (never reused).
pub(crate) fn family_counter_key(family: &str) -> String {
    format!("family/{family}")
}

/// Event-log key of a store revision.
pub(crate) fn event_key(revision: u64) -> [u8; 8] {
    revision.to_be_bytes()
}

/// Decodes an event-log key.
pub(crate) fn decode_event_key(bytes: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Corrupt {
        key: format!("event {bytes:?}"),
        message: "event key is not 8 bytes".to_string(),
    })?;
    Ok(u64::from_be_bytes(arr))
}

/// Fills in the default cluster (or drops a cluster the kind has not), as
/// [`ObjectKey::new`] does, for keys built field by field.
pub(crate) fn normalize_key(key: &ObjectKey) -> ObjectKey {
    ObjectKey::new(key.kind, key.cluster.as_deref(), &key.name)
}

/// An object as stored (JSON), or why it does not decode.
pub(crate) fn decode_object(key: &str, bytes: &[u8]) -> Result<Object, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        message: e.to_string(),
    })
}

/// Rejects names the key scheme cannot hold unambiguously. Full DNS-label validation is the
/// api crate's job; this only protects the layout.
pub(crate) fn check_name(kind: Kind, name: &str, what: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::Invalid(format!("{kind} {what} is empty")));
    }
    if name.contains(['/', ':']) {
        return Err(StoreError::Invalid(format!(
            "{kind} {what} {name:?} contains '/' or ':', which names may not"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_sort_numerically() {
        assert!(revision_key("web", 9) < revision_key("web", 10));
        assert!(revision_key("web", 10).starts_with(&family_prefix("web")));
        assert!(!revision_key("web-2", 1).starts_with(&family_prefix("web")));
    }

    #[test]
    fn targets() {
        let k = ObjectKey::new(Kind::TaskDefinition, None, "web:3");
        assert_eq!(target(&k), Target::One(revision_key("web", 3)));
        let k = ObjectKey::new(Kind::TaskDefinition, None, "web");
        assert_eq!(target(&k), Target::Family("TaskDefinition/web/".into()));
        let k = ObjectKey::new(Kind::Service, None, "web");
        assert_eq!(target(&k), Target::One("Service/default/web".into()));
    }
}
