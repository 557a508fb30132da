//! What a write plans on: committed state as of one etcd revision ([`Snapshot`]), and what
//! this process still knows of it after its last write ([`View`]).
//!
//! Every write commits only if the store revision key was not modified since the revision it
//! planned on (see `EtcdStore::write`). So when a write commits, nothing else was written in
//! between: whatever the plan read, plus what it wrote, is exactly the committed state of
//! those keys at the new revision. The store keeps that as its [`View`], and the next write
//! that plans on the same revision (the store revision key's mod revision says whether it
//! is) starts from it instead of reading etcd again. Another server's write moves the
//! revision on, and the view is then dropped for a fresh read. Controllers and the API of
//! one server share the view: one store, cloned.

use super::{EtcdStore, Meta, parse_counter};
use crate::StoreError;
use crate::keys::decode_object;
use crate::plan::{Batch, Reader};
use api::Object;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::wire::RangeRequest;

/// Objects a view may hold at most; beyond, it keeps only the revision (a write then reads
/// what it needs, as with no view).
const VIEW_OBJECTS: usize = 4096;

/// Committed values of the keys read or written so far, as of one revision.
#[derive(Clone, Default)]
pub(super) struct Known {
    /// Storage key -> the object, or `None` for "absent".
    objects: HashMap<String, Option<Object>>,
    /// Storage-key prefixes read whole: a key under one that is not in `objects` is absent.
    whole: Vec<String>,
    /// Meta counters.
    counters: HashMap<String, u64>,
    /// Secret values, by the Secret's storage key: within one snapshot only; a [`View`]
    /// never keeps them (no value stays in memory past the write that needed it).
    secrets: HashMap<String, Option<String>>,
}

impl Known {
    fn covers(&self, key: &str) -> bool {
        self.whole.iter().any(|p| key.starts_with(p.as_str()))
    }

    /// The state after `batch` was committed on top of this one.
    fn committed(mut self, batch: &Batch) -> Known {
        for (key, object) in &batch.objects {
            self.objects.insert(key.clone(), object.clone());
        }
        for (key, n) in &batch.counters {
            self.counters.insert(key.clone(), *n);
        }
        self.secrets.clear();
        if self.objects.len() > VIEW_OBJECTS {
            return Known::default();
        }
        self
    }
}

/// The store as this process last wrote it: the revision its last commit left, and the
/// values that commit read and wrote.
pub(super) struct View {
    pub(super) meta: Meta,
    known: Known,
}

/// The [`View`] shared by the clones of one store.
#[derive(Default)]
pub(super) struct SharedView(Mutex<Option<View>>);

impl SharedView {
    fn lock(&self) -> MutexGuard<'_, Option<View>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The revision of the last commit, to plan the next write on without reading it.
    pub(super) fn meta(&self) -> Option<Meta> {
        self.lock().as_ref().map(|v| v.meta)
    }

    /// What is known as of `meta`: the view's values if the view is at that revision,
    /// nothing otherwise.
    pub(super) fn known_at(&self, meta: &Meta) -> Known {
        match self.lock().as_ref() {
            Some(view) if view.meta.same_revision(meta) => view.known.clone(),
            _ => Known::default(),
        }
    }

    /// Keeps the state a commit at `meta` left, unless a later commit is already kept (two
    /// writes of this process may finish in either order).
    pub(super) fn committed(&self, meta: Meta, planned_on: Known, batch: &Batch) {
        let mut view = self.lock();
        if view
            .as_ref()
            .is_some_and(|v| v.meta.modified >= meta.modified)
        {
            return;
        }
        *view = Some(View {
            meta,
            known: planned_on.committed(batch),
        });
    }
}

/// Committed state as of one etcd revision, for planning. What the [`Known`] it starts from
/// lacks is read pinned to that revision and answered by the member alone (no round to the
/// raft leader: the commit's compare is what guards against a stale plan), then kept; a
/// prefix listed once is read whole, values included (the planner lists a family, then
/// reads its revisions).
pub(super) struct Snapshot<'a> {
    store: &'a EtcdStore,
    at: i64,
    known: RefCell<Known>,
}

impl<'a> Snapshot<'a> {
    pub(super) fn new(store: &'a EtcdStore, at: i64, known: Known) -> Self {
        Snapshot {
            store,
            at,
            known: RefCell::new(known),
        }
    }

    /// What was known and read, for the view after a commit.
    pub(super) fn into_known(self) -> Known {
        self.known.into_inner()
    }

    fn value(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>, StoreError> {
        let answer = self.store.range(RangeRequest::key(key).pinned(self.at))?;
        Ok(answer.kvs.into_iter().next().map(|kv| kv.value))
    }
}

impl Reader for Snapshot<'_> {
    fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        {
            let known = self.known.borrow();
            if let Some(object) = known.objects.get(key) {
                return Ok(object.clone());
            }
            if known.covers(key) {
                return Ok(None);
            }
        }
        let object = self
            .value(self.store.shared.layout.object(key))?
            .map(|bytes| decode_object(key, &bytes))
            .transpose()?;
        self.known
            .borrow_mut()
            .objects
            .insert(key.to_string(), object.clone());
        Ok(object)
    }

    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let layout = &self.store.shared.layout;
        if !self.known.borrow().covers(prefix) {
            let answer = self
                .store
                .range(RangeRequest::prefix(layout.objects_under(prefix)).pinned(self.at))?;
            let mut known = self.known.borrow_mut();
            for kv in &answer.kvs {
                if let Some(key) = layout.storage_key(&kv.key) {
                    let object = decode_object(&key, &kv.value)?;
                    known.objects.insert(key, Some(object));
                }
            }
            known.whole.push(prefix.to_string());
        }
        let mut keys: Vec<String> = self
            .known
            .borrow()
            .objects
            .iter()
            .filter(|(k, v)| k.starts_with(prefix) && v.is_some())
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn counter(&self, key: &str) -> Result<u64, StoreError> {
        if let Some(n) = self.known.borrow().counters.get(key) {
            return Ok(*n);
        }
        let n = match self.value(self.store.shared.layout.meta(key))? {
            None => 0,
            Some(bytes) => parse_counter(key, &bytes)?,
        };
        self.known.borrow_mut().counters.insert(key.to_string(), n);
        Ok(n)
    }

    fn secret_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        if let Some(value) = self.known.borrow().secrets.get(key) {
            return Ok(value.clone());
        }
        let value = self
            .value(self.store.shared.layout.secret(key))?
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| StoreError::Corrupt {
                    key: format!("secrets/{key}"),
                    message: "value is not UTF-8".to_string(),
                })
            })
            .transpose()?;
        self.known
            .borrow_mut()
            .secrets
            .insert(key.to_string(), value.clone());
        Ok(value)
    }
}
