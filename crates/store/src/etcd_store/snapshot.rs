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

use super::wire::RangeRequest;
use super::{EtcdStore, Meta, parse_counter};
use crate::StoreError;
use crate::keys::decode_object;
use crate::plan::{Batch, Reader};
use api::Object;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

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
    /// Secret values, by the Secret's storage key: what one snapshot read; a [`View`]
    /// never keeps them (no value stays in memory past the write that needed it).
    secrets: HashMap<String, Option<String>>,
}

impl Known {
    fn covers(&self, key: &str) -> bool {
        self.whole.iter().any(|p| key.starts_with(p.as_str()))
    }

    /// Adds what a plan read beyond this, then what its commit wrote (no Secret value).
    fn add(&mut self, read: Known, batch: &Batch) {
        self.objects.extend(read.objects);
        self.whole.extend(read.whole);
        self.counters.extend(read.counters);
        for (key, object) in &batch.objects {
            self.objects.insert(key.clone(), object.clone());
        }
        for (key, n) in &batch.counters {
            self.counters.insert(key.clone(), *n);
        }
    }
}

/// The store as this process last wrote it: the revision its last commit left, and the
/// values the writes since the last foreign one read and wrote.
pub(super) struct View {
    pub(super) meta: Meta,
    known: Arc<Known>,
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
    pub(super) fn known_at(&self, meta: &Meta) -> Arc<Known> {
        match self.lock().as_ref() {
            Some(view) if view.meta.same_revision(meta) => view.known.clone(),
            _ => Arc::default(),
        }
    }

    /// Keeps the state a commit at `meta` left: what the plan started from (`base`), what
    /// it read beyond that, and what it wrote; unless a later commit is already kept (two
    /// writes of this process may finish in either order).
    pub(super) fn committed(&self, meta: Meta, (base, read): (Arc<Known>, Known), batch: &Batch) {
        let mut view = self.lock();
        if view
            .as_ref()
            .is_some_and(|v| v.meta.modified >= meta.modified)
        {
            return;
        }
        // Without the old view's reference the base is usually this write's alone, and
        // grows in place rather than being copied.
        *view = None;
        let mut known = base;
        Arc::make_mut(&mut known).add(read, batch);
        if known.objects.len() > VIEW_OBJECTS {
            known = Arc::default();
        }
        *view = Some(View { meta, known });
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
    /// What was known when the plan started (shared with the view).
    base: Arc<Known>,
    /// What the plan read since.
    read: RefCell<Known>,
}

impl<'a> Snapshot<'a> {
    pub(super) fn new(store: &'a EtcdStore, at: i64, base: Arc<Known>) -> Self {
        Snapshot {
            store,
            at,
            base,
            read: RefCell::new(Known::default()),
        }
    }

    /// What was known and what was read, for the view after a commit.
    pub(super) fn into_parts(self) -> (Arc<Known>, Known) {
        (self.base, self.read.into_inner())
    }

    fn covers(&self, key: &str) -> bool {
        self.base.covers(key) || self.read.borrow().covers(key)
    }

    fn value(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>, StoreError> {
        let answer = self.store.range(RangeRequest::key(key).pinned(self.at))?;
        Ok(answer.kvs.into_iter().next().map(|kv| kv.value))
    }
}

impl Reader for Snapshot<'_> {
    fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        if let Some(object) = self.read.borrow().objects.get(key) {
            return Ok(object.clone());
        }
        if let Some(object) = self.base.objects.get(key) {
            return Ok(object.clone());
        }
        if self.covers(key) {
            return Ok(None);
        }
        let object = self
            .value(self.store.shared.layout.object(key))?
            .map(|bytes| decode_object(key, &bytes))
            .transpose()?;
        self.read
            .borrow_mut()
            .objects
            .insert(key.to_string(), object.clone());
        Ok(object)
    }

    fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let layout = &self.store.shared.layout;
        if !self.covers(prefix) {
            let answer = self
                .store
                .range(RangeRequest::prefix(layout.objects_under(prefix)).pinned(self.at))?;
            let mut read = self.read.borrow_mut();
            for kv in &answer.kvs {
                if let Some(key) = layout.storage_key(&kv.key) {
                    let object = decode_object(&key, &kv.value)?;
                    read.objects.insert(key, Some(object));
                }
            }
            read.whole.push(prefix.to_string());
        }
        // A key read since the plan started says more than the base.
        let read = self.read.borrow();
        let from_base = self
            .base
            .objects
            .iter()
            .filter(|(k, _)| !read.objects.contains_key(k.as_str()));
        let mut keys: Vec<String> = read
            .objects
            .iter()
            .chain(from_base)
            .filter(|(k, v)| k.starts_with(prefix) && v.is_some())
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn counter(&self, key: &str) -> Result<u64, StoreError> {
        let known = self
            .read
            .borrow()
            .counters
            .get(key)
            .or_else(|| self.base.counters.get(key))
            .copied();
        if let Some(n) = known {
            return Ok(n);
        }
        let n = match self.value(self.store.shared.layout.meta(key))? {
            None => 0,
            Some(bytes) => parse_counter(key, &bytes)?,
        };
        self.read.borrow_mut().counters.insert(key.to_string(), n);
        Ok(n)
    }

    fn secret_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        if let Some(value) = self.read.borrow().secrets.get(key) {
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
        self.read
            .borrow_mut()
            .secrets
            .insert(key.to_string(), value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use api::Kind;

    fn meta(revision: u64, modified: i64) -> Meta {
        Meta {
            revision,
            modified,
            at: modified,
        }
    }

    fn written(key: &str) -> Batch {
        let mut batch = Batch::default();
        let object = Object::new(Kind::Cluster, key, serde_json::json!({}));
        batch.objects.insert(key.to_string(), Some(object));
        batch.counters.insert("family/web".to_string(), 3);
        batch
            .secrets
            .insert("Secret/default/db".to_string(), Some("pw".to_string()));
        batch
    }

    #[test]
    fn the_view_is_what_the_last_commit_read_and_wrote_and_never_a_secret_value() {
        let view = SharedView::default();
        assert!(view.meta().is_none());
        let mut read = Known::default();
        read.objects.insert("Cluster/gone".to_string(), None);
        read.secrets
            .insert("Secret/default/db".to_string(), Some("old".to_string()));
        view.committed(meta(5, 50), (Arc::default(), read), &written("Cluster/a"));

        let known = view.known_at(&meta(5, 50));
        assert!(known.objects["Cluster/a"].is_some());
        assert!(known.objects["Cluster/gone"].is_none());
        assert_eq!(known.counters["family/web"], 3);
        assert!(
            known.secrets.is_empty(),
            "no Secret value stays in the view"
        );
        // Another revision (another server wrote): nothing is known.
        assert!(view.known_at(&meta(6, 60)).objects.is_empty());
        assert!(view.known_at(&meta(5, 51)).objects.is_empty());

        // A commit that finished after a later one does not replace it.
        view.committed(
            meta(7, 70),
            (known, Known::default()),
            &written("Cluster/b"),
        );
        view.committed(
            meta(6, 60),
            (Arc::default(), Known::default()),
            &written("Cluster/c"),
        );
        assert_eq!(view.meta().unwrap().revision, 7);
        let known = view.known_at(&meta(7, 70));
        assert!(known.objects.contains_key("Cluster/a") && known.objects.contains_key("Cluster/b"));
        assert!(!known.objects.contains_key("Cluster/c"));
    }

    #[test]
    fn a_view_grown_past_its_bound_is_dropped_but_keeps_its_revision() {
        let view = SharedView::default();
        let mut read = Known::default();
        for i in 0..=VIEW_OBJECTS {
            read.objects.insert(format!("Cluster/c{i}"), None);
        }
        view.committed(meta(1, 10), (Arc::default(), read), &Batch::default());
        assert_eq!(view.meta().unwrap().revision, 1);
        assert!(view.known_at(&meta(1, 10)).objects.is_empty());
    }
}
