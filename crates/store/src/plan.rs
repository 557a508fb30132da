//! Planning of writes: what an apply, status update or delete does, worked out against
//! committed state plus the writes planned so far in the same batch, without touching disk.
//!
//! The backend commits a finished [`Batch`] in one transaction (or drops it for a dry run).
//! Planning runs under the store's writer lock, so the committed state it reads cannot
//! change underneath it.

use crate::keys::{self, Target};
use crate::{ApplyAction, ApplyResult, StoreError, WatchEvent, WatchEventType};
use api::secret::SecretStatus;
use api::{API_VERSION, Kind, Object, ObjectKey};
use std::collections::{BTreeMap, BTreeSet};

/// Read access to committed state.
pub(crate) trait Reader {
    /// The object stored under a storage key.
    fn get(&self, key: &str) -> Result<Option<Object>, StoreError>;
    /// Every storage key starting with `prefix`.
    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// A meta counter (0 when unset).
    fn counter(&self, key: &str) -> Result<u64, StoreError>;
    /// The value held for a Secret stored under a storage key (kept apart from the object).
    fn secret_value(&self, key: &str) -> Result<Option<String>, StoreError>;
}

/// Writes planned on top of committed state, to be committed all together.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Storage key -> new value; `None` removes the object.
    pub objects: BTreeMap<String, Option<Object>>,
    /// Meta counters to set (TaskDefinition family revision counters).
    pub counters: BTreeMap<String, u64>,
    /// One event per write, in revision order.
    pub events: Vec<WatchEvent>,
    /// Secret values to set (`Some`) or drop (`None`), by the Secret's storage key. They
    /// never appear in `objects` or `events`.
    pub secrets: BTreeMap<String, Option<String>>,
}

/// Plans writes; see the module docs.
pub(crate) struct Planner<'a> {
    base: &'a dyn Reader,
    batch: Batch,
    /// The last store revision handed out (committed or planned).
    revision: u64,
    /// creationTimestamp for objects created by this batch.
    now: String,
}

impl<'a> Planner<'a> {
    /// A planner over `base`, whose last committed revision is `revision`.
    pub(crate) fn new(base: &'a dyn Reader, revision: u64, now: String) -> Self {
        Planner {
            base,
            batch: Batch::default(),
            revision,
            now,
        }
    }

    /// The planned writes.
    pub(crate) fn into_batch(self) -> Batch {
        self.batch
    }

    /// Creates or updates one object; see [`crate::Store::apply_all`].
    pub(crate) fn apply(&mut self, obj: Object) -> Result<ApplyResult, StoreError> {
        let (obj, expected) = normalize(obj)?;
        if obj.kind.is_revisioned() {
            self.apply_revisioned(obj, expected, false)
        } else if obj.kind == Kind::Secret {
            self.apply_secret(obj, expected)
        } else {
            self.apply_plain(obj, expected, None)
        }
    }

    /// A Secret's manifest value leaves the object here: it goes to the batch's secrets, the
    /// stored spec keeps only where the value comes from, and the status says how many bytes
    /// are held and since when. A changed value counts as a changed spec.
    fn apply_secret(
        &mut self,
        mut obj: Object,
        expected: Option<u64>,
    ) -> Result<ApplyResult, StoreError> {
        let key = keys::object_key(&obj);
        let value = match obj.spec.as_object_mut().and_then(|m| m.remove("value")) {
            None => None,
            Some(serde_json::Value::String(v)) => Some(v),
            Some(_) => {
                return Err(StoreError::Invalid(
                    "a Secret's spec.value must be a string".to_string(),
                ));
            }
        };
        let held = self.secret_value(&key)?;
        let value_changed = held != value;
        obj.status = match &value {
            None => serde_json::Value::Null,
            Some(v) => {
                // An unchanged value keeps the time it was first written.
                let since = match (value_changed, self.get(&key)?) {
                    (false, Some(cur)) => cur
                        .status_as::<SecretStatus>()
                        .ok()
                        .and_then(|s| s.value_updated_at),
                    _ => None,
                };
                let status = SecretStatus {
                    value_bytes: Some(v.len()),
                    value_updated_at: Some(since.unwrap_or_else(|| self.now.clone())),
                };
                serde_json::to_value(status)
                    .map_err(|e| StoreError::Invalid(format!("a Secret's status: {e}")))?
            }
        };
        let result = self.apply_plain(obj, expected, Some(value_changed))?;
        if value_changed {
            self.batch.secrets.insert(key, value);
        }
        Ok(result)
    }

    /// `secret_changed`: for a Secret, whether its held value changes (its status is then
    /// the one planned for it).
    fn apply_plain(
        &mut self,
        mut obj: Object,
        expected: Option<u64>,
        secret_changed: Option<bool>,
    ) -> Result<ApplyResult, StoreError> {
        let key = keys::object_key(&obj);
        let current = self.get(&key)?;
        check_cas(|| obj.key(), expected, current.as_ref())?;
        let Some(mut cur) = current else {
            self.fill_new(&mut obj);
            let object = self.put(key, obj, WatchEventType::Added);
            return Ok(ApplyResult {
                action: ApplyAction::Created,
                object,
            });
        };
        let spec_changed = cur.spec != obj.spec || secret_changed == Some(true);
        if secret_changed.is_some() {
            cur.status = std::mem::take(&mut obj.status);
        }
        if !spec_changed && same_labels(&cur, &obj) {
            return Ok(ApplyResult {
                action: ApplyAction::Unchanged,
                object: cur,
            });
        }
        cur.metadata.labels = obj.metadata.labels;
        cur.metadata.annotations = obj.metadata.annotations;
        if spec_changed {
            cur.spec = obj.spec;
            cur.metadata.generation = Some(cur.metadata.generation.unwrap_or(0) + 1);
        }
        let object = self.put(key, cur, WatchEventType::Modified);
        Ok(ApplyResult {
            action: ApplyAction::Configured,
            object,
        })
    }

    /// Registers a new revision of a TaskDefinition family whatever the spec, with the
    /// status the object carries; see [`crate::Store::register`].
    pub(crate) fn register(&mut self, obj: Object) -> Result<ApplyResult, StoreError> {
        if !obj.kind.is_revisioned() {
            return Err(StoreError::Invalid(format!(
                "only TaskDefinitions have revisions to register, not {}",
                obj.kind.as_str()
            )));
        }
        let status = obj.status.clone();
        let (mut obj, expected) = normalize(obj)?;
        obj.status = status;
        self.apply_revisioned(obj, expected, true)
    }

    /// A spec equal to the latest ACTIVE revision's is that revision (labels may still
    /// change in place) unless `always_new`; any other spec becomes revision N+1, N from the
    /// family's counter, which survives deletes so that numbers are never reused.
    fn apply_revisioned(
        &mut self,
        mut obj: Object,
        expected: Option<u64>,
        always_new: bool,
    ) -> Result<ApplyResult, StoreError> {
        let family = obj.metadata.name.clone();
        let prefix = keys::family_prefix(&family);
        let latest = self.latest(&prefix)?;
        check_cas(|| obj.key(), expected, latest.as_ref().map(|(_, o)| o))?;
        match latest {
            Some((key, mut cur)) if cur.spec == obj.spec && !always_new => {
                if same_labels(&cur, &obj) {
                    return Ok(ApplyResult {
                        action: ApplyAction::Unchanged,
                        object: cur,
                    });
                }
                cur.metadata.labels = obj.metadata.labels;
                cur.metadata.annotations = obj.metadata.annotations;
                let object = self.put(key, cur, WatchEventType::Modified);
                Ok(ApplyResult {
                    action: ApplyAction::Configured,
                    object,
                })
            }
            latest => {
                let counter_key = keys::family_counter_key(&family);
                // The highest revision stored, ACTIVE or not.
                let latest_n = match self.keys_with_prefix(&prefix)?.pop_last() {
                    Some(k) => self.get(&k)?.and_then(|o| o.metadata.revision).unwrap_or(0),
                    None => 0,
                };
                let n = self.counter(&counter_key)?.max(latest_n) + 1;
                self.batch.counters.insert(counter_key, n);
                obj.metadata.revision = Some(n);
                self.fill_new(&mut obj);
                let object = self.put(keys::revision_key(&family, n), obj, WatchEventType::Added);
                let action = if latest.is_some() {
                    ApplyAction::Configured
                } else {
                    ApplyAction::Created
                };
                Ok(ApplyResult { action, object })
            }
        }
    }

    /// One write of [`crate::Store::write_all`] (a delete of nothing is no error there).
    pub(crate) fn write(&mut self, write: crate::Write) -> Result<(), StoreError> {
        match write {
            crate::Write::Apply(o) => self.apply(*o).map(drop),
            crate::Write::Status {
                key,
                status,
                expected_resource_version,
            } => self
                .update_status(
                    &keys::normalize_key(&key),
                    status,
                    expected_resource_version,
                )
                .map(drop),
            crate::Write::Delete(key) => match self.delete(&keys::normalize_key(&key)) {
                Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
                Err(e) => Err(e),
            },
        }
    }

    /// Replaces an object's status; see [`crate::Store::update_status`].
    pub(crate) fn update_status(
        &mut self,
        key: &ObjectKey,
        status: serde_json::Value,
        expected: Option<u64>,
    ) -> Result<Object, StoreError> {
        let (skey, mut cur) = self
            .resolve(key)?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        check_cas(|| key.clone(), expected, Some(&cur))?;
        if cur.status == status {
            return Ok(cur);
        }
        cur.status = status;
        Ok(self.put(skey, cur, WatchEventType::Modified))
    }

    /// Deletes an object (or every revision of a family); see [`crate::Store::delete`].
    pub(crate) fn delete(&mut self, key: &ObjectKey) -> Result<Vec<Object>, StoreError> {
        let skeys: Vec<String> = match keys::target(key) {
            Target::One(k) => vec![k],
            Target::Family(prefix) => self.keys_with_prefix(&prefix)?.into_iter().collect(),
        };
        let mut deleted = Vec::new();
        for skey in skeys {
            if let Some(obj) = self.get(&skey)? {
                if obj.kind == Kind::Secret {
                    self.batch.secrets.insert(skey.clone(), None);
                }
                self.revision += 1;
                self.batch.objects.insert(skey, None);
                self.batch.events.push(WatchEvent {
                    revision: self.revision,
                    event_type: WatchEventType::Deleted,
                    object: obj.clone(),
                });
                deleted.push(obj);
            }
        }
        if deleted.is_empty() {
            return Err(StoreError::NotFound(key.clone()));
        }
        Ok(deleted)
    }

    /// Deletes every object `keys` name that exists; see [`crate::Store::delete_all`].
    pub(crate) fn delete_existing(
        &mut self,
        keys: &[ObjectKey],
    ) -> Result<Vec<Object>, StoreError> {
        let mut deleted = Vec::new();
        for key in keys {
            match self.delete(&keys::normalize_key(key)) {
                Ok(objects) => deleted.extend(objects),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(deleted)
    }

    /// The stored object a key names (the latest revision for a family) and its storage key.
    pub(crate) fn resolve(&self, key: &ObjectKey) -> Result<Option<(String, Object)>, StoreError> {
        match keys::target(key) {
            Target::One(k) => Ok(self.get(&k)?.map(|o| (k, o))),
            Target::Family(prefix) => self.latest(&prefix),
        }
    }

    /// The latest ACTIVE revision of a family (a deregistered revision is never what a bare
    /// family names).
    fn latest(&self, prefix: &str) -> Result<Option<(String, Object)>, StoreError> {
        for k in self.keys_with_prefix(prefix)?.into_iter().rev() {
            if let Some(o) = self.get(&k)?
                && keys::is_active_revision(&o)
            {
                return Ok(Some((k, o)));
            }
        }
        Ok(None)
    }

    fn fill_new(&self, obj: &mut Object) {
        obj.metadata.uid = Some(uuid::Uuid::new_v4().to_string());
        obj.metadata.generation = Some(1);
        obj.metadata.creation_timestamp = Some(self.now.clone());
    }

    /// Records a write at the next revision and returns the object as written.
    fn put(&mut self, key: String, mut obj: Object, event_type: WatchEventType) -> Object {
        self.revision += 1;
        obj.metadata.resource_version = Some(self.revision);
        self.batch.objects.insert(key, Some(obj.clone()));
        self.batch.events.push(WatchEvent {
            revision: self.revision,
            event_type,
            object: obj.clone(),
        });
        obj
    }

    fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        match self.batch.objects.get(key) {
            Some(planned) => Ok(planned.clone()),
            None => self.base.get(key),
        }
    }

    fn keys_with_prefix(&self, prefix: &str) -> Result<BTreeSet<String>, StoreError> {
        let mut keys: BTreeSet<String> = self.base.keys_with_prefix(prefix)?.into_iter().collect();
        for (k, v) in self.batch.objects.range(prefix.to_string()..) {
            if !k.starts_with(prefix) {
                break;
            }
            if v.is_some() {
                keys.insert(k.clone());
            } else {
                keys.remove(k);
            }
        }
        Ok(keys)
    }

    fn counter(&self, key: &str) -> Result<u64, StoreError> {
        match self.batch.counters.get(key) {
            Some(n) => Ok(*n),
            None => self.base.counter(key),
        }
    }

    fn secret_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.batch.secrets.get(key) {
            Some(planned) => Ok(planned.clone()),
            None => self.base.secret_value(key),
        }
    }
}

/// creationTimestamp of objects created now: RFC 3339 in UTC, whole seconds.
pub(crate) fn now_rfc3339() -> Result<String, StoreError> {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| StoreError::Backend(format!("cannot format the time: {e}")))
}

/// Drops what the store owns from an object a caller sent, and returns the
/// resourceVersion it expects (if any).
fn normalize(mut obj: Object) -> Result<(Object, Option<u64>), StoreError> {
    let expected = obj.metadata.resource_version;
    obj.metadata.clear_system_fields();
    obj.status = serde_json::Value::Null;
    obj.api_version = API_VERSION.to_string();
    keys::check_name(obj.kind, &obj.metadata.name, "name")?;
    obj.metadata.cluster = if obj.kind.is_clustered() {
        let cluster = obj.metadata.cluster_or_default().to_string();
        keys::check_name(obj.kind, &cluster, "cluster")?;
        Some(cluster)
    } else {
        None
    };
    Ok((obj, expected))
}

fn same_labels(a: &Object, b: &Object) -> bool {
    a.metadata.labels == b.metadata.labels && a.metadata.annotations == b.metadata.annotations
}

fn check_cas(
    key: impl FnOnce() -> ObjectKey,
    expected: Option<u64>,
    current: Option<&Object>,
) -> Result<(), StoreError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let actual = current.and_then(|o| o.metadata.resource_version);
    if actual == Some(expected) {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            key: key(),
            expected,
            actual,
        })
    }
}
