//! [`AsyncStore`]: the [`Store`] as async code should call it.
//!
//! Store calls are synchronous and a write flushes to disk before it returns. Made directly
//! on a tokio worker, that flush stalls every other task the worker runs: the controllers
//! share their runtime with the built-in load-balancer proxy, so a slow disk would show as
//! proxy latency. Every write here leaves the worker's other tasks free: on a multi-thread
//! runtime (the server's) through `block_in_place`, which hands them to another thread while
//! the write runs on this one; elsewhere on the blocking pool. `block_in_place` is preferred
//! because a hop to the blocking pool and back costs two thread wake-ups per write: on the
//! scale bench (1,000 services x 10 tasks, a busy 2-core machine, same run) converge took
//! 55-58 s with the hop and 22-27 s in place, the code before the wrapper 24-33 s; peak RSS
//! 182 MiB with the hop (its extra threads) and 166 MiB in place.
//!
//! Reads (`get`, `list`, `secret_value`) run in place: sled serves them from its in-memory
//! cache, and a hop to the blocking pool costs more than the read itself (measured: with
//! reads on the pool, a steady-state pass of the scale bench over 11,000 objects took 1.6 to
//! 2.9 s instead of 0.45 s). They are async all the same, so that a backend whose reads do
//! wait (etcd, an agent's store reached over HTTP: [`Store::reads_wait`]) changes nothing
//! for callers: its reads go off the workers too.

use std::sync::Arc;

use api::{Object, ObjectKey};
use serde::Serialize;

use crate::{ApplyResult, ListQuery, ObjectList, Store, StoreError, Watch};

/// A [`Store`] whose writes run off the async workers. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AsyncStore {
    inner: Arc<dyn Store>,
}

impl AsyncStore {
    /// Wraps a store.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        AsyncStore { inner }
    }

    /// The synchronous store: for code that already runs on a blocking thread (inside
    /// [`AsyncStore::run`] or `spawn_blocking`), and for reads from synchronous code. Its
    /// writes, called from async code, block a worker.
    pub fn blocking(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    /// Runs `f` against the store off the async workers (see the module's comment): for
    /// several calls that belong together (a read and the write that depends on it) or a
    /// helper that takes a `&dyn Store`. A panic in `f` resumes on the caller.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.inner.clone();
        if tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
        {
            return tokio::task::block_in_place(|| f(store.as_ref()));
        }
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(result) => result,
            // A panic in a store call is a bug: surface it where the call was made.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only when the runtime shuts down under the call.
            Err(e) => Err(StoreError::Backend(format!("store call cancelled: {e}"))),
        }
    }

    /// [`Store::get`], in place (a read: see the module's comment).
    pub async fn get(&self, key: &ObjectKey) -> Result<Option<Object>, StoreError> {
        if self.inner.reads_wait() {
            let key = key.clone();
            return self.run(move |s| s.get(&key)).await;
        }
        self.inner.get(key)
    }

    /// [`Store::list`], in place (a read).
    pub async fn list(&self, query: &ListQuery) -> Result<ObjectList, StoreError> {
        if self.inner.reads_wait() {
            let query = query.clone();
            return self.run(move |s| s.list(&query)).await;
        }
        self.inner.list(query)
    }

    /// [`Store::apply`] off the async workers.
    pub async fn apply(&self, obj: Object) -> Result<ApplyResult, StoreError> {
        self.run(move |s| s.apply(obj)).await
    }

    /// [`Store::apply_all`] off the async workers.
    pub async fn apply_all(
        &self,
        objs: Vec<Object>,
        dry_run: bool,
    ) -> Result<Vec<ApplyResult>, StoreError> {
        self.run(move |s| s.apply_all(objs, dry_run)).await
    }

    /// [`Store::write_all`] off the async workers.
    pub async fn write_all(&self, writes: Vec<crate::Write>) -> Result<(), StoreError> {
        self.run(move |s| s.write_all(writes)).await
    }

    /// [`Store::update_status`] off the async workers.
    pub async fn update_status(
        &self,
        key: &ObjectKey,
        status: serde_json::Value,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError> {
        let key = key.clone();
        self.run(move |s| s.update_status(&key, status, expected_resource_version))
            .await
    }

    /// [`crate::StoreExt::write_status`] off the async workers (the status is serialized here, on
    /// the caller's thread, so it need not be `'static`).
    pub async fn write_status<T: Serialize>(
        &self,
        key: &ObjectKey,
        status: &T,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError> {
        let value = crate::typed::status_value(key, status)?;
        self.update_status(key, value, expected_resource_version)
            .await
    }

    /// [`Store::delete`] off the async workers.
    pub async fn delete(&self, key: &ObjectKey) -> Result<Vec<Object>, StoreError> {
        let key = key.clone();
        self.run(move |s| s.delete(&key)).await
    }

    /// [`Store::delete_all`] off the async workers.
    pub async fn delete_all(&self, keys: Vec<ObjectKey>) -> Result<Vec<Object>, StoreError> {
        self.run(move |s| s.delete_all(&keys)).await
    }

    /// [`Store::watch`] off the async workers (starting a watch reads the event log).
    pub async fn watch(&self, from_revision: u64) -> Result<Watch, StoreError> {
        self.run(move |s| s.watch(from_revision)).await
    }

    /// [`Store::revision`], called in place: it reads a counter kept in memory.
    pub fn revision(&self) -> u64 {
        self.inner.revision()
    }

    /// [`Store::secret_value`], in place (a read).
    pub async fn secret_value(&self, key: &ObjectKey) -> Result<Option<String>, StoreError> {
        if self.inner.reads_wait() {
            let key = key.clone();
            return self.run(move |s| s.secret_value(&key)).await;
        }
        self.inner.secret_value(key)
    }
}

impl From<Arc<dyn Store>> for AsyncStore {
    fn from(inner: Arc<dyn Store>) -> Self {
        AsyncStore::new(inner)
    }
}

impl std::fmt::Debug for AsyncStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncStore")
            .field("revision", &self.inner.revision())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApplyAction, SledStore};
    use api::Kind;
    use serde_json::json;

    fn store() -> (tempfile::TempDir, AsyncStore) {
        let dir = tempfile::tempdir().unwrap();
        let s: Arc<dyn Store> = Arc::new(SledStore::open(dir.path().join("store")).unwrap());
        (dir, AsyncStore::new(s))
    }

    // A current-thread runtime has one worker: a call that blocked it would hang the test
    // rather than pass, and spawn_blocking still has its own pool there.
    #[tokio::test(flavor = "current_thread")]
    async fn every_call_reaches_the_store() {
        let (_dir, s) = store();
        let svc = Object::new(Kind::Service, "web", json!({"taskDefinition": "web"}));
        let key = svc.key();
        assert_eq!(s.apply(svc).await.unwrap().action, ApplyAction::Created);
        assert!(s.get(&key).await.unwrap().is_some());
        assert_eq!(
            s.list(&ListQuery::new(Kind::Service))
                .await
                .unwrap()
                .items
                .len(),
            1
        );

        let rev = s.revision();
        let obj = s
            .write_status(&key, &json!({"runningCount": 1}), None)
            .await
            .unwrap();
        assert_eq!(obj.status["runningCount"], 1);
        assert_eq!(s.revision(), rev + 1);

        let mut watch = s.watch(rev).await.unwrap();
        assert_eq!(watch.next().await.unwrap().unwrap().object.key(), key);

        assert_eq!(s.delete(&key).await.unwrap().len(), 1);
        assert!(matches!(s.delete(&key).await, Err(StoreError::NotFound(_))));
        let secret = ObjectKey::new(Kind::Secret, None, "absent");
        assert_eq!(s.secret_value(&secret).await.unwrap(), None);
    }

    #[tokio::test]
    async fn run_groups_calls_on_one_blocking_thread() {
        let (_dir, s) = store();
        let names = s
            .run(|st| {
                st.apply(Object::new(Kind::Cluster, "a", json!({})))?;
                st.apply(Object::new(Kind::Cluster, "b", json!({})))?;
                Ok(st.list(&ListQuery::new(Kind::Cluster))?.items.len())
            })
            .await
            .unwrap();
        assert_eq!(names, 2);
    }

    #[tokio::test]
    #[should_panic(expected = "store bug")]
    async fn a_panic_in_a_call_resumes_on_the_caller() {
        let (_dir, s) = store();
        let _ = s
            .run(|_| -> Result<(), StoreError> { panic!("store bug") })
            .await;
    }
}
