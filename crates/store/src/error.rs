//! The store's typed errors. Their `Display` is one line a user can act on.

use api::ObjectKey;

/// Everything a store operation can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The object (or TaskDefinition revision) does not exist.
    #[error("{} not found{}", describe_name(.0), describe_cluster(.0))]
    NotFound(ObjectKey),

    /// A compare-and-swap on `metadata.resourceVersion` failed: someone else wrote the object
    /// since the caller read it (`actual`), or it does not exist (`actual` is `None`).
    #[error("{}", conflict_message(.key, *.expected, *.actual))]
    Conflict {
        /// The object the write was aimed at.
        key: ObjectKey,
        /// The resourceVersion the caller sent.
        expected: u64,
        /// The resourceVersion stored now; `None` when the object does not exist.
        actual: Option<u64>,
    },

    /// A watch asked for events older than the oldest one the event log still keeps.
    #[error(
        "watch from revision {from} is too old (the oldest kept event is {oldest}): list again and watch from the list's revision"
    )]
    Expired {
        /// The revision the watch started after.
        from: u64,
        /// The oldest revision still in the event log.
        oldest: u64,
    },

    /// A stored value does not decode; the store was damaged or written by something else.
    #[error("stored value at key {key:?} does not decode: {message}")]
    Corrupt {
        /// The storage key of the damaged value.
        key: String,
        /// What the decoder said.
        message: String,
    },

    /// The object cannot be stored as given (for instance a name the key scheme cannot hold).
    #[error("invalid object: {0}")]
    Invalid(String),

    /// A setting of the store that cannot be used: a `--store` URL that is not one, TLS
    /// files that cannot be read. The operator's to fix; nothing was stored.
    #[error("{0}")]
    Config(String),

    /// The storage backend failed (I/O error, full disk, ...).
    #[error("storage error: {0}")]
    Backend(String),
}

/// `service "web"`, `taskdefinition "web:3"`.
fn describe_name(key: &ObjectKey) -> String {
    format!("{} {:?}", key.kind.as_str().to_ascii_lowercase(), key.name)
}

/// ` in cluster default` for clustered kinds, nothing otherwise.
fn describe_cluster(key: &ObjectKey) -> String {
    match &key.cluster {
        Some(c) => format!(" in cluster {c}"),
        None => String::new(),
    }
}

fn conflict_message(key: &ObjectKey, expected: u64, actual: Option<u64>) -> String {
    let what = format!("{}{}", describe_name(key), describe_cluster(key));
    match actual {
        Some(actual) => format!(
            "{what} was modified (resourceVersion {actual}, you sent {expected}): get it again and re-apply"
        ),
        None => format!(
            "{what} does not exist (you sent resourceVersion {expected}): remove metadata.resourceVersion to create it"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Kind;

    #[test]
    fn messages_say_what_to_do() {
        let key = ObjectKey::new(Kind::Service, None, "web");
        assert_eq!(
            StoreError::NotFound(key.clone()).to_string(),
            "service \"web\" not found in cluster default"
        );
        let conflict = StoreError::Conflict {
            key,
            expected: 5,
            actual: Some(7),
        };
        assert_eq!(
            conflict.to_string(),
            "service \"web\" in cluster default was modified (resourceVersion 7, you sent 5): get it again and re-apply"
        );
        let td = ObjectKey::new(Kind::TaskDefinition, Some("x"), "web:3");
        assert_eq!(
            StoreError::NotFound(td).to_string(),
            "taskdefinition \"web:3\" not found"
        );
    }
}
