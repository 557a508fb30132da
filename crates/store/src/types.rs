//! The [`Store`] trait and the plain types its methods take and return.

use crate::{StoreError, Watch};
use api::{Kind, Object, ObjectKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The object store every controller, the server and the gitops sync program against.
///
/// Methods are synchronous and may block on disk I/O (every write is flushed before it
/// returns): async callers go through [`crate::AsyncStore`], which runs writes off the
/// async workers. Reads must not wait on I/O for long (sled serves them from memory): they
/// are called in place.
pub trait Store: Send + Sync + 'static {
    /// One object, or `None`. For TaskDefinitions `family` names the latest ACTIVE revision
    /// (a deregistered one is never what a bare family names) and `family:N` revision N.
    fn get(&self, key: &ObjectKey) -> Result<Option<Object>, StoreError>;

    /// Every object of a kind, optionally in one cluster and with the given labels, ordered
    /// by cluster and name (TaskDefinitions: by family, then revision).
    fn list(&self, query: &ListQuery) -> Result<ObjectList, StoreError>;

    /// Creates or updates one object (see [`Store::apply_all`]).
    fn apply(&self, obj: Object) -> Result<ApplyResult, StoreError>;

    /// Creates or updates objects, all or none: system metadata and status in the input are
    /// ignored; `metadata.resourceVersion`, when given, must match the stored object or the
    /// whole call fails with [`StoreError::Conflict`]. With `dry_run` nothing is written.
    fn apply_all(&self, objs: Vec<Object>, dry_run: bool) -> Result<Vec<ApplyResult>, StoreError>;

    /// Registers a new revision of a TaskDefinition family, as ECS's RegisterTaskDefinition
    /// does, even when its spec equals the latest revision's (where [`Store::apply`] answers
    /// "unchanged"); the object's status is written with it. System metadata is ignored, as
    /// in `apply`. A store that cannot (a test double) applies the object instead.
    fn register(&self, obj: Object) -> Result<ApplyResult, StoreError> {
        self.apply(obj)
    }

    /// Applies, status writes and deletes together, in order, in one transaction: all or
    /// none (a controller's writes of one pass: the tasks it starts, its object's status,
    /// the records it keeps, in one flush instead of one each). Each write sees the ones
    /// before it.
    fn write_all(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// Replaces the status of an object, never its spec. With `expected_resource_version`
    /// the write succeeds only if the object is still at that version. Writing the status
    /// the object already has writes nothing and returns the object as it is.
    fn update_status(
        &self,
        key: &ObjectKey,
        status: serde_json::Value,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError>;

    /// Deletes an object and returns what was deleted: for a TaskDefinition `family` every
    /// revision, for `family:N` that one. [`StoreError::NotFound`] when nothing matched.
    fn delete(&self, key: &ObjectKey) -> Result<Vec<Object>, StoreError>;

    /// Deletes every object `keys` name that exists, in one transaction (one flush), and
    /// returns what was deleted; a key that names nothing is skipped. For a collector that
    /// removes many objects at once without a write per object.
    fn delete_all(&self, keys: &[ObjectKey]) -> Result<Vec<Object>, StoreError> {
        let mut deleted = Vec::new();
        for key in keys {
            match self.delete(key) {
                Ok(objects) => deleted.extend(objects),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }

    /// Events with a revision greater than `from_revision`: first replayed from the event
    /// log, then live. [`StoreError::Expired`] when the log no longer reaches back that far.
    fn watch(&self, from_revision: u64) -> Result<Watch, StoreError>;

    /// The revision of the last write (0 for an empty store). Must not block: it is called
    /// in place on async workers (a counter kept in memory).
    fn revision(&self) -> u64;

    /// How many objects [`Store::list`] would return for `query`, without reading them
    /// where the backend can (admission counts a cluster's tasks on every write).
    fn count(&self, query: &ListQuery) -> Result<usize, StoreError> {
        Ok(self.list(query)?.items.len())
    }

    /// The names of the objects [`Store::list`] would return for `query` (a TaskDefinition
    /// family once per revision, revisions together), without reading the objects where the
    /// backend can (admission looks for DNS alias clashes on every create).
    fn names(&self, query: &ListQuery) -> Result<Vec<String>, StoreError> {
        Ok(self
            .list(query)?
            .items
            .into_iter()
            .map(|o| o.metadata.name)
            .collect())
    }

    /// The value held for a Secret applied with `spec.value`: kept apart from the object,
    /// which (like every event and watch) never carries it. `None` when the Secret does not
    /// exist or takes its value from a file or the environment.
    fn secret_value(&self, key: &ObjectKey) -> Result<Option<String>, StoreError>;

    /// Whether reads wait on I/O (a store reached over the network, as an agent's is):
    /// [`crate::AsyncStore`] then runs them off the async workers like writes.
    fn reads_wait(&self) -> bool {
        false
    }
}

/// One write of [`Store::write_all`].
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// As [`Store::apply`] (boxed: an object is large beside a key).
    Apply(Box<Object>),
    /// As [`Store::update_status`].
    Status {
        key: ObjectKey,
        status: serde_json::Value,
        expected_resource_version: Option<u64>,
    },
    /// As [`Store::delete`] (nothing to delete is no error here).
    Delete(ObjectKey),
}

/// What [`Store::list`] selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// The kind to list.
    pub kind: Kind,
    /// Only this cluster; `None` lists all clusters. Ignored for kinds that are not clustered.
    pub cluster: Option<String>,
    /// Only objects carrying every one of these labels with exactly these values.
    pub labels: BTreeMap<String, String>,
}

impl ListQuery {
    /// Every object of `kind`, in every cluster.
    pub fn new(kind: Kind) -> Self {
        ListQuery {
            kind,
            cluster: None,
            labels: BTreeMap::new(),
        }
    }

    /// Restricts the query to one cluster.
    pub fn in_cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }

    /// Adds a label the objects must carry.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Whether an object passes the cluster and label filters (not the kind).
    pub(crate) fn matches(&self, obj: &Object) -> bool {
        let cluster_ok = match (&self.cluster, obj.kind.is_clustered()) {
            (Some(c), true) => obj.metadata.cluster_or_default() == c,
            _ => true,
        };
        cluster_ok
            && self
                .labels
                .iter()
                .all(|(k, v)| obj.metadata.labels.get(k) == Some(v))
    }
}

/// Orders listed objects as [`Store::list`] promises: by cluster, name and revision (key
/// order would put `default-2/` before `default/`).
pub(crate) fn sort_listed(items: &mut [Object]) {
    items.sort_by(|a, b| {
        let ka = (
            a.metadata.cluster.as_deref(),
            &a.metadata.name,
            a.metadata.revision,
        );
        let kb = (
            b.metadata.cluster.as_deref(),
            &b.metadata.name,
            b.metadata.revision,
        );
        ka.cmp(&kb)
    });
}

// The list and the apply action are what the HTTP API sends: one definition, in
// `api::wire`, shared with the server and the CLI.
pub use api::wire::{ApplyAction, ObjectList};

/// The outcome of applying one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyResult {
    /// What happened.
    pub action: ApplyAction,
    /// The object as stored after the apply (for a dry run: as it would be stored).
    pub object: Object,
}
