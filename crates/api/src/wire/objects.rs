//! `GET /v1/objects/{plural}`, `POST /v1/apply`, `DELETE /v1/objects/{plural}/{name}`.

use crate::{Kind, Object};
use serde::{Deserialize, Serialize};

/// The answer of a list: the objects and the store revision they reflect at least (a watch
/// from it misses nothing; it may repeat a write the list already shows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectList<O = Object> {
    /// The matching objects.
    pub items: Vec<O>,
    /// The store revision the list reflects at least.
    pub revision: u64,
}

/// The body of `POST /v1/apply`: every object of one all-or-nothing apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyRequest<O = Object> {
    /// The objects, in any order (the server applies them in kind order).
    pub objects: Vec<O>,
}

/// The answer of `POST /v1/apply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyResponse {
    /// One result per object applied.
    pub results: Vec<ApplyResult>,
    /// `kind/name: ...` warnings of validation and field ownership.
    pub warnings: Vec<String>,
}

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyAction {
    /// The object did not exist (for a TaskDefinition: the family had no revision).
    Created,
    /// The object changed (for a TaskDefinition: a new revision, or new labels).
    Configured,
    /// Nothing changed; nothing was written.
    Unchanged,
}

impl ApplyAction {
    /// `created`, `configured` or `unchanged`, as `ecsctl apply` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyAction::Created => "created",
            ApplyAction::Configured => "configured",
            ApplyAction::Unchanged => "unchanged",
        }
    }
}

/// One object of an apply (or a sync) and what happened to it:
/// `{"kind", "name", "cluster", "action", "revision"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyResult {
    /// The object's kind.
    pub kind: Kind,
    /// Its name (for a TaskDefinition the family).
    pub name: String,
    /// Its cluster as the manifest gave it (`null` when it named none).
    pub cluster: Option<String>,
    /// What the apply did.
    pub action: ApplyAction,
    /// The revision, for revisioned kinds only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

impl ApplyResult {
    /// The result for `object` (as stored after the apply).
    pub fn new(object: &Object, action: ApplyAction) -> Self {
        let r = ObjectRef::of(object);
        ApplyResult {
            kind: r.kind,
            name: r.name,
            cluster: r.cluster,
            action,
            revision: r.revision,
        }
    }
}

/// The answer of a delete: every object deleted (a TaskDefinition family without `:N`
/// deletes all its revisions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteResponse {
    /// The objects deleted.
    pub deleted: Vec<ObjectRef>,
}

/// Names one object in an answer: `{"kind", "name", "cluster", "revision"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// The object's kind.
    pub kind: Kind,
    /// Its name (for a TaskDefinition the family).
    pub name: String,
    /// Its cluster (`null` for kinds that have none, or when it was not named).
    pub cluster: Option<String>,
    /// The revision, for revisioned kinds only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

impl ObjectRef {
    /// The reference to `object`; its revision only if its kind is revisioned.
    pub fn of(object: &Object) -> Self {
        ObjectRef {
            kind: object.kind,
            name: object.metadata.name.clone(),
            cluster: object.metadata.cluster.clone(),
            revision: object
                .metadata
                .revision
                .filter(|_| object.kind.is_revisioned()),
        }
    }
}

impl From<crate::ObjectKey> for ObjectRef {
    fn from(key: crate::ObjectKey) -> Self {
        ObjectRef {
            kind: key.kind,
            name: key.name,
            cluster: key.cluster,
            revision: None,
        }
    }
}
