//! The store as an agent sees it: the server's HTTP API behind the [`Store`] trait, so that
//! the task controller and the instance's heartbeat run on an agent exactly as they run in
//! the server. The server decides what the agent may read and write (role `agent`): reads,
//! status reports of its own instance and tasks, the Secret values its tasks need.
//!
//! The trait is synchronous; calls run on a runtime of the store's own (given as a handle:
//! its owner drops it outside any async context) and the caller waits on a channel, so a
//! call works from any thread, async or not.
//! [`Store::reads_wait`] is `true`: [`store::AsyncStore`] then calls every method off the
//! async workers.

use super::retry::Backoff;
use crate::client::is_unreachable;
use crate::client::{Client, encode, objects_path};
use crate::error::ApiError;
use api::wire::{SecretValue, StatusUpdate};
use api::{Object, ObjectKey};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use store::{ApplyResult, ListQuery, ObjectList, Store, StoreError, Watch, WatchEvent};

/// The server's store, over its API.
pub struct RemoteStore {
    client: Client,
    runtime: tokio::runtime::Handle,
    /// The highest store revision seen (lists, watch events): where a watch starts.
    revision: Arc<AtomicU64>,
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore").finish_non_exhaustive()
    }
}

impl RemoteStore {
    /// A store reached through `client` with calls run on `runtime`, starting from the
    /// store revision `revision` (the server's, asked when the agent joined).
    pub fn new(client: Client, runtime: tokio::runtime::Handle, revision: u64) -> Self {
        RemoteStore {
            client,
            runtime,
            revision: Arc::new(AtomicU64::new(revision)),
        }
    }

    fn seen(&self, revision: u64) {
        self.revision.fetch_max(revision, Ordering::Relaxed);
    }

    /// Runs `fut` on the store's runtime and waits for it here.
    fn call<T: Send + 'static>(
        &self,
        fut: impl Future<Output = anyhow::Result<T>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| StoreError::Backend("the remote store shut down".to_string()))?
            .map_err(store_error)
    }
}

/// What an answer of the server means to the store's callers: 409 a conflict, 410 an
/// expired watch, anything else an error that names the server's reason.
fn store_error(e: anyhow::Error) -> StoreError {
    match e.downcast_ref::<ApiError>() {
        Some(api) if api.status == 409 => StoreError::Conflict {
            key: ObjectKey::new(api::Kind::Task, None, ""),
            expected: 0,
            actual: None,
        },
        Some(api) if api.status == 410 => StoreError::Expired { from: 0, oldest: 0 },
        Some(api) if api.status == 400 => StoreError::Invalid(api.message.clone()),
        _ => StoreError::Backend(format!("{e:#}")),
    }
}

fn not_found(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ApiError>()
        .is_some_and(ApiError::is_not_found)
}

fn refused(what: &str) -> StoreError {
    StoreError::Invalid(format!(
        "an agent does not {what}: the control plane does (ecsctl server)"
    ))
}

impl Store for RemoteStore {
    fn get(&self, key: &ObjectKey) -> Result<Option<Object>, StoreError> {
        let path = objects_path(key.kind, Some(&key.name), key.cluster.as_deref(), None);
        let c = self.client.clone();
        self.call(async move {
            match c.get::<Object>(&path).await {
                Ok(o) => Ok(Some(o)),
                Err(e) if not_found(&e) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn list(&self, query: &ListQuery) -> Result<ObjectList, StoreError> {
        let selector: Vec<String> = query
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let path = objects_path(
            query.kind,
            None,
            query.cluster.as_deref(),
            Some(&selector.join(",")),
        );
        let c = self.client.clone();
        let list: ObjectList = self.call(async move { c.get(&path).await })?;
        self.seen(list.revision);
        Ok(list)
    }

    fn apply(&self, _: Object) -> Result<ApplyResult, StoreError> {
        Err(refused("write objects"))
    }

    fn apply_all(&self, _: Vec<Object>, _: bool) -> Result<Vec<ApplyResult>, StoreError> {
        Err(refused("write objects"))
    }

    fn write_all(&self, _: Vec<store::Write>) -> Result<(), StoreError> {
        Err(refused("write objects"))
    }

    fn update_status(
        &self,
        key: &ObjectKey,
        status: serde_json::Value,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError> {
        let mut path = format!(
            "/v1/objects/{}/{}/status",
            key.kind.plural(),
            encode(&key.name)
        );
        if let Some(c) = &key.cluster {
            path.push_str(&format!("?cluster={}", encode(c)));
        }
        let body = StatusUpdate {
            status,
            resource_version: expected_resource_version,
        };
        let c = self.client.clone();
        let conflict_key = key.clone();
        match self.call(async move { c.put(&path, &body).await }) {
            Err(StoreError::Conflict { .. }) => Err(StoreError::Conflict {
                key: conflict_key,
                expected: expected_resource_version.unwrap_or(0),
                actual: None,
            }),
            other => other,
        }
    }

    fn delete(&self, _: &ObjectKey) -> Result<Vec<Object>, StoreError> {
        Err(refused("delete objects"))
    }

    /// The server's watch, which goes on at another server when its own goes away
    /// ([`crate::client::WatchStream`]). While no server can be reached (from the start, or
    /// later) it waits, backing off, rather than ending: the controllers would only start it
    /// again at once, and resuming from the last event seen misses nothing. It ends when a
    /// server ends it for good or says why it cannot go on (a watch that fell behind: the
    /// caller lists again).
    fn watch(&self, from_revision: u64) -> Result<Watch, StoreError> {
        let mut events = self.client.watch_unopened(from_revision);
        // The stream is read on the store's runtime and handed over through a channel: its
        // connections belong to that runtime.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<WatchEvent, StoreError>>(256);
        let revision = self.revision.clone();
        self.runtime.spawn(async move {
            let mut backoff = Backoff::default();
            loop {
                let next = match events.next::<Object>().await {
                    Ok(Some(ev)) => {
                        backoff.reset();
                        revision.fetch_max(ev.revision, Ordering::Relaxed);
                        Ok(ev)
                    }
                    Ok(None) => break,
                    Err(e) if is_unreachable(&e) => {
                        let pause = backoff.pause();
                        tracing::warn!(error = %e, retry_in = ?pause, from = events.revision(), "the watch cannot reach any ecsctl server; trying again");
                        tokio::select! {
                            () = tokio::time::sleep(pause) => continue,
                            // Nobody reads it any more.
                            () = tx.closed() => break,
                        }
                    }
                    Err(e) => Err(StoreError::Backend(format!("{e:#}"))),
                };
                let end = next.is_err();
                if tx.send(next).await.is_err() || end {
                    break;
                }
            }
        });
        Ok(Watch::from_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
    }

    fn revision(&self) -> u64 {
        self.revision.load(Ordering::Relaxed)
    }

    fn secret_value(&self, key: &ObjectKey) -> Result<Option<String>, StoreError> {
        let mut path = format!("/v1/secrets/{}/value", encode(&key.name));
        if let Some(c) = &key.cluster {
            path.push_str(&format!("?cluster={}", encode(c)));
        }
        let c = self.client.clone();
        let answer = self.call(async move {
            match c.get::<SecretValue>(&path).await {
                Ok(v) => Ok(Ok(v.value)),
                // Missing or refused (404, the server says why): asking again will not
                // change it, unlike a server that cannot read its store (503).
                Err(e) if not_found(&e) => Ok(Err(format!("{e:#}"))),
                Err(e) => Err(e),
            }
        })?;
        answer.map(Some).map_err(StoreError::Invalid)
    }

    fn reads_wait(&self) -> bool {
        true
    }
}

/// An agent's task roles: the server resolves each Role (its Secrets, or a profile of its
/// `--role-profiles`) and answers only for roles of tasks placed on this agent's instances.
impl controllers::task::roles::RoleSource for RemoteStore {
    fn credentials(
        &self,
        cluster: &str,
        role: &str,
    ) -> Result<api::role::RoleCredentials, controllers::task::roles::RoleError> {
        use controllers::task::roles::RoleError;
        let path = format!(
            "/v1/roles/{}/credentials?cluster={}",
            encode(role),
            encode(cluster)
        );
        let c = self.client.clone();
        let answer = self
            .call(async move {
                match c.get::<api::role::RoleCredentials>(&path).await {
                    Ok(v) => Ok(Ok(v)),
                    Err(e) if not_found(&e) => Ok(Err(format!("{e:#}"))),
                    Err(e) => Err(e),
                }
            })
            .map_err(|e| RoleError::Unreachable(e.to_string()))?;
        answer.map_err(RoleError::Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ServerAddr;
    use crate::client::fake::{Behaviour, Fake, client, dead};
    use std::time::Duration;

    fn cluster_event(revision: u64) -> String {
        serde_json::json!({"revision": revision, "type": "ADDED", "object": {
            "apiVersion": "ecs/v1", "kind": "Cluster",
            "metadata": {"name": format!("c{revision}")}, "spec": {}}})
        .to_string()
    }

    /// The controllers' watch does not fail while no server can be reached: it waits, and
    /// the events since the revision it was asked for come once a server is back.
    #[test]
    fn the_watch_waits_for_a_server_and_resumes_from_its_revision() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let gone = dead();
        let store = RemoteStore::new(client(vec![gone.clone()]), rt.handle().clone(), 5);
        let mut watch = store.watch(5).unwrap();
        let ServerAddr::Tcp(at) = &gone else {
            unreachable!()
        };
        let back = rt.block_on(async {
            // Past the first try and its first pause.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            Fake::listen(
                at,
                Behaviour::Stream {
                    lines: vec![cluster_event(6)],
                    broken: false,
                },
                false,
            )
            .await
        });
        let ev = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(20), watch.next()).await })
            .expect("an event once the server is back")
            .expect("the watch is still open")
            .unwrap();
        assert_eq!((ev.revision, ev.object.metadata.name.as_str()), (6, "c6"));
        assert_eq!(back.requests(), ["GET /v1/watch?from=5 HTTP/1.1"]);
        assert_eq!(store.revision(), 6);
        drop(watch);
        rt.shutdown_background();
    }
}
