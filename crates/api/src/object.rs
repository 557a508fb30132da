//! The envelope every stored object shares: apiVersion, kind, metadata, spec, status.
//!
//! The store and the HTTP API move objects in this untyped form (spec and status as JSON
//! values); the typed specs in this crate are views over it (`Object::spec_as`).

use crate::kind::Kind;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The only apiVersion this release speaks.
pub const API_VERSION: &str = "ecs/v1";

/// The cluster objects land in when their manifest names none.
pub const DEFAULT_CLUSTER: &str = "default";

/// Metadata of an object. Users set name, cluster and labels; the store sets the rest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    /// Object name: ECS name rules, 1..255 letters, digits, '-' and '_', case kept
    /// (`Web_App` and `web-app` are two names). DNS names are derived from it (`web-app`).
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,255}$"))]
    pub name: String,
    /// The cluster the object belongs to (default `default`). Not used by Cluster and
    /// TaskDefinition, which are account-wide as in ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,255}$"))]
    pub cluster: Option<String>,
    /// Labels to select objects by (`ecsctl get svc -l team=shop`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Free-form notes; ecsctl keeps them and never interprets them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Set by the server: unique id of this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Set by the server: store revision of the last write. Given on apply, the write
    /// succeeds only if the object is still at that revision (compare-and-swap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<u64>,
    /// Set by the server: bumped each time the spec changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// Set by the server on TaskDefinitions: the revision number N of `family:N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// Set by the server: RFC 3339 time of creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
}

impl ObjectMeta {
    /// The cluster, with the default filled in.
    pub fn cluster_or_default(&self) -> &str {
        self.cluster.as_deref().unwrap_or(DEFAULT_CLUSTER)
    }

    /// Clears every field the server owns, so that what a user sent can be compared with
    /// what is stored.
    pub fn clear_system_fields(&mut self) {
        self.uid = None;
        self.resource_version = None;
        self.generation = None;
        self.revision = None;
        self.creation_timestamp = None;
    }
}

/// A stored object, spec and status untyped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Object {
    pub api_version: String,
    pub kind: Kind,
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub status: Value,
}

impl Object {
    /// A new object of `kind` with the given name and spec.
    pub fn new(kind: Kind, name: impl Into<String>, spec: Value) -> Self {
        Object {
            api_version: API_VERSION.to_string(),
            kind,
            metadata: ObjectMeta {
                name: name.into(),
                ..ObjectMeta::default()
            },
            spec,
            status: Value::Null,
        }
    }

    /// A new object of `kind` whose spec is the typed `spec`, as it serializes.
    pub fn with_spec<T: Serialize>(
        kind: Kind,
        name: impl Into<String>,
        spec: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(Object::new(kind, name, serde_json::to_value(spec)?))
    }

    /// The apply request that writes this object, as read (and then changed), back: its
    /// spec, the metadata a user owns, and the resourceVersion read, so that the write fails
    /// if the object changed since (compare-and-swap).
    pub fn cas_request(&self) -> Object {
        let m = &self.metadata;
        Object {
            api_version: self.api_version.clone(),
            kind: self.kind,
            metadata: ObjectMeta {
                name: m.name.clone(),
                cluster: m.cluster.clone(),
                labels: m.labels.clone(),
                annotations: m.annotations.clone(),
                resource_version: m.resource_version,
                ..ObjectMeta::default()
            },
            spec: self.spec.clone(),
            status: Value::Null,
        }
    }

    /// Sets the spec fields that `patch` serializes to (a JSON merge patch, one level deep:
    /// a null removes the field), leaving every other field as it was written. Controllers
    /// change another kind's spec this way rather than rewriting all of it through its typed
    /// struct, which would turn what a user wrote (`"0.5 GB"`, key order) into its canonical
    /// form.
    pub fn merge_spec<T: Serialize>(&mut self, patch: &T) -> Result<(), serde_json::Error> {
        let Value::Object(fields) = serde_json::to_value(patch)? else {
            return Err(serde::ser::Error::custom(
                "a spec patch must be a JSON object",
            ));
        };
        if !self.spec.is_object() {
            self.spec = Value::Object(serde_json::Map::new());
        }
        if let Value::Object(spec) = &mut self.spec {
            for (k, v) in fields {
                if v.is_null() {
                    spec.shift_remove(&k);
                } else {
                    spec.insert(k, v);
                }
            }
        }
        Ok(())
    }

    /// Replaces the status with the typed `status`, as it serializes.
    pub fn set_status<T: Serialize>(&mut self, status: &T) -> Result<(), serde_json::Error> {
        self.status = serde_json::to_value(status)?;
        Ok(())
    }

    /// The key that names this object in the store.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(
            self.kind,
            self.metadata.cluster.as_deref(),
            &self.metadata.name,
        )
    }

    /// A typed view of the spec.
    pub fn spec_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.spec)
    }

    /// A typed view of the status (a default one when no controller wrote any yet).
    pub fn status_as<T: DeserializeOwned + Default>(&self) -> Result<T, serde_json::Error> {
        if self.status.is_null() {
            Ok(T::default())
        } else {
            T::deserialize(&self.status)
        }
    }

    /// `family:N` for a task definition revision, else the plain name.
    pub fn display_name(&self) -> String {
        match self.metadata.revision {
            Some(n) if self.kind.is_revisioned() => format!("{}:{n}", self.metadata.name),
            _ => self.metadata.name.clone(),
        }
    }
}

/// Names one object (or, for a revisioned kind without `:N`, its latest revision).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectKey {
    pub kind: Kind,
    /// `None` for kinds that are not clustered.
    pub cluster: Option<String>,
    /// The name; for TaskDefinitions `family` (latest) or `family:N`.
    pub name: String,
}

impl ObjectKey {
    /// Builds a key, filling in the default cluster for clustered kinds and dropping the
    /// cluster for kinds that have none.
    pub fn new(kind: Kind, cluster: Option<&str>, name: &str) -> Self {
        let cluster = kind
            .is_clustered()
            .then(|| cluster.unwrap_or(DEFAULT_CLUSTER).to_string());
        ObjectKey {
            kind,
            cluster,
            name: name.to_string(),
        }
    }

    /// For `family:N`, the family and N.
    pub fn revision_parts(&self) -> Option<(&str, u64)> {
        let (family, n) = self.name.rsplit_once(':')?;
        Some((family, n.parse().ok()?))
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cluster {
            Some(c) => write!(f, "{}/{}/{}", self.kind.plural(), c, self.name),
            None => write!(f, "{}/{}", self.kind.plural(), self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_spec_sets_only_the_patched_fields() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Patch {
            desired_count: u32,
            role: Option<String>,
        }
        let mut o = Object::new(
            Kind::Service,
            "web",
            serde_json::json!({"taskDefinition": "web", "role": "r", "desiredCount": "2"}),
        );
        o.merge_spec(&Patch {
            desired_count: 3,
            role: None,
        })
        .unwrap();
        assert_eq!(
            serde_json::to_string(&o.spec).unwrap(),
            r#"{"taskDefinition":"web","desiredCount":3}"#
        );
    }
}
