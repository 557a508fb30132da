//! [`EtcdStore`]: the [`Store`] on etcd, for several ecsctl servers sharing one state.
//!
//! The data has the sled store's shape (see `layout`): objects under their storage keys, a
//! bounded event log with one key per store revision, the store revision and the family
//! counters, the label index and Secret values apart. The store revision is ecsctl's own
//! counter, not etcd's: one per written object as in sled, so resourceVersions, watches and
//! the contract suite are the same on both backends.
//!
//! A write plans against a snapshot of etcd (every read at the etcd revision where the
//! store revision was read; see `crate::plan`) and commits the whole plan in one etcd
//! transaction guarded by "the store revision key was not modified since": if another
//! server wrote meanwhile, the transaction does nothing and the write plans again on the new
//! state. That serializes writers as sled's writer lock does, across machines. A fenced store
//! ([`EtcdStore::fenced`]) adds "the leader key is still bound to my lease" to every
//! transaction, so a
//! server that lost the leadership cannot write as a controller after another took over.
//!
//! The trait is synchronous; calls run on a runtime the store owns and the caller waits, so
//! a call works from any thread ([`Store::reads_wait`] is `true`: `AsyncStore` calls it off
//! the async workers).

mod client;
mod election;
mod layout;
mod snapshot;
mod watch;
mod wire;

pub use client::EtcdTls;
pub use election::{Election, LeaderInfo, Leadership};

use crate::keys::{self, META_REVISION, Target, decode_object, normalize_key};
use crate::plan::{Batch, Planner, now_rfc3339};
use crate::{ApplyResult, ListQuery, ObjectList, Store, StoreError, Watch};
use api::{Object, ObjectKey};
use client::{EtcdError, Gateway};
use layout::Layout;
use snapshot::{SharedView, Snapshot};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wire::{Compare, RangeRequest, RequestOp, TxnRequest};

/// Ranges of one list transaction at most (etcd refuses transactions of more than
/// `--max-txn-ops` operations, 128 by default).
const READS_PER_TXN: usize = 100;
/// How often a write plans again after other servers' writes won the race, at most.
const MAX_WRITE_ATTEMPTS: usize = 100;

/// Where the store is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdOptions {
    /// Client addresses of etcd members (`HOST:PORT`).
    pub endpoints: Vec<String>,
    /// Every key of the store starts with it (`/ecsctl`).
    pub prefix: String,
    /// TLS files; none: plain HTTP.
    pub tls: EtcdTls,
    /// How many of the newest events the event log keeps for watches to replay.
    pub event_log_capacity: u64,
    /// How long one call may take, moving between members included.
    pub request_timeout: Duration,
}

/// The default `--store-prefix`.
pub const DEFAULT_PREFIX: &str = "/ecsctl";

impl EtcdOptions {
    /// Options from a `--store` URL: `etcd://HOST:PORT[,HOST:PORT...]`.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let rest = url.strip_prefix("etcd://").ok_or_else(|| {
            StoreError::Config(format!(
                "--store {url:?}: expected etcd://HOST:PORT[,HOST:PORT...]"
            ))
        })?;
        let mut endpoints = Vec::new();
        for part in rest.split(',').map(str::trim) {
            let ok = part
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !ok {
                return Err(StoreError::Config(format!(
                    "--store {url:?}: {part:?} is not HOST:PORT"
                )));
            }
            endpoints.push(part.to_string());
        }
        Ok(EtcdOptions {
            endpoints,
            prefix: DEFAULT_PREFIX.to_string(),
            tls: EtcdTls::default(),
            event_log_capacity: crate::StoreOptions::default().event_log_capacity,
            request_timeout: Duration::from_secs(10),
        })
    }
}

/// What a fenced store's transactions also require: the leader key is still bound to this
/// leadership's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fence {
    id: String,
    lease: i64,
}

/// A [`Store`] kept in etcd. Cheap to clone; clones share connections and the runtime.
/// When the last clone drops, the runtime stops and every watch of the store ends.
#[derive(Clone)]
pub struct EtcdStore {
    shared: Arc<Shared>,
    runtime: Arc<OwnedRuntime>,
    fence: Option<Fence>,
}

/// What the store's tasks (watches, keep-alives) share with it; they never hold the
/// runtime itself, so that dropping the store stops them.
struct Shared {
    gateway: Gateway,
    layout: Layout,
    /// The highest store revision seen (writes, lists, watches).
    revision: AtomicU64,
    capacity: u64,
    /// The store as this store's last write left it: the next write plans on it without
    /// reading the revision first (if another server wrote since, the transaction's compare
    /// fails and answers the current one), nor what that write read or wrote.
    view: SharedView,
}

/// The runtime every call runs on; shut down in the background when the store drops.
struct OwnedRuntime {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Shared {
    fn seen(&self, revision: u64) {
        self.revision.fetch_max(revision, Ordering::AcqRel);
    }

    /// The store revision, its key's etcd mod revision, and the etcd revision it was read at.
    async fn meta(&self) -> Result<Meta, StoreError> {
        let answer = self
            .gateway
            .range(&RangeRequest::key(self.layout.meta(META_REVISION)))
            .await
            .map_err(backend)?;
        let meta = Meta::from_range(&answer)?;
        self.seen(meta.revision);
        Ok(meta)
    }
}

/// The store revision as of one etcd revision.
#[derive(Debug, Clone, Copy)]
struct Meta {
    revision: u64,
    /// The etcd mod revision of the store revision key (0 for an empty store).
    modified: i64,
    /// The etcd revision the answer was served at.
    at: i64,
}

impl Meta {
    /// Whether both say the same store revision, written by the same etcd transaction.
    fn same_revision(&self, other: &Meta) -> bool {
        self.revision == other.revision && self.modified == other.modified
    }

    fn from_range(answer: &wire::RangeResponse) -> Result<Meta, StoreError> {
        let (revision, modified) = match answer.kvs.first() {
            None => (0, 0),
            Some(kv) => (parse_counter(META_REVISION, &kv.value)?, kv.mod_revision),
        };
        Ok(Meta {
            revision,
            modified,
            at: answer.header.revision,
        })
    }
}

fn parse_counter(key: &str, bytes: &[u8]) -> Result<u64, StoreError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| StoreError::Corrupt {
            key: format!("meta/{key}"),
            message: format!(
                "counter {:?} is not a number",
                String::from_utf8_lossy(bytes)
            ),
        })
}

fn backend(e: EtcdError) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl EtcdStore {
    /// Connects to etcd and reads the store revision (which also proves etcd answers).
    pub fn connect(options: EtcdOptions) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("etcd-store")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot start the etcd client: {e}")))?;
        let gateway = {
            // The gateway spawns connection tasks: build it inside the runtime.
            let _entered = runtime.enter();
            Gateway::new(&options.endpoints, &options.tls, options.request_timeout)
                .map_err(|e| StoreError::Config(e.to_string()))?
        };
        let store = EtcdStore {
            shared: Arc::new(Shared {
                gateway,
                layout: Layout::new(&options.prefix),
                revision: AtomicU64::new(0),
                capacity: options.event_log_capacity,
                view: SharedView::default(),
            }),
            runtime: Arc::new(OwnedRuntime {
                handle: runtime.handle().clone(),
                runtime: Some(runtime),
            }),
            fence: None,
        };
        let shared = store.shared.clone();
        let meta = store.block(async move { shared.meta().await })?;
        tracing::info!(
            endpoints = ?options.endpoints,
            prefix = store.shared.layout.prefix(),
            revision = meta.revision,
            "etcd store connected"
        );
        Ok(store)
    }

    /// The same store whose every write also requires that `leadership` still holds
    /// (see the module's comment): for the controllers of a leader.
    pub fn fenced(&self, leadership: &Leadership) -> EtcdStore {
        EtcdStore {
            shared: self.shared.clone(),
            runtime: self.runtime.clone(),
            fence: Some(Fence {
                id: leadership.id().to_string(),
                lease: leadership.lease(),
            }),
        }
    }

    /// The members' addresses.
    pub fn endpoints(&self) -> Vec<String> {
        self.shared.gateway.endpoints()
    }

    /// The key prefix.
    pub fn prefix(&self) -> String {
        self.shared.layout.prefix().to_string()
    }

    /// The version the members report (`3.4.23`), from the first that answers.
    pub fn server_version(&self) -> Result<String, StoreError> {
        let shared = self.shared.clone();
        self.block(async move {
            shared
                .gateway
                .status()
                .await
                .map(|s| s.version)
                .map_err(backend)
        })
    }

    /// The runtime the store's calls and tasks run on.
    fn handle(&self) -> &tokio::runtime::Handle {
        &self.runtime.handle
    }

    /// Compacts etcd's history of every key up to the etcd revision the store was at when
    /// this was last called, and returns the current one (for the next call). etcd keeps
    /// every version of every key until compacted; the store needs none of them (its own
    /// event log is what watches replay, and a watch cut off by a compaction catches up from
    /// it), so the leader calls this every few minutes, as Kubernetes' API server does.
    pub fn compact(&self, up_to: Option<i64>) -> Result<i64, StoreError> {
        let shared = self.shared.clone();
        self.block(async move {
            let now = shared.meta().await?.at;
            if let Some(revision) = up_to.filter(|r| *r > 0 && *r <= now) {
                shared
                    .gateway
                    .call::<_, serde_json::Value>(
                        "/v3/kv/compaction",
                        &serde_json::json!({ "revision": revision }),
                    )
                    .await
                    .or_else(|e| match e {
                        // Another server compacted as far already.
                        EtcdError::Refused(m) if m.contains("compacted") => {
                            Ok(serde_json::Value::Null)
                        }
                        e => Err(e),
                    })
                    .map_err(backend)?;
                tracing::debug!(revision, "compacted etcd's history");
            }
            Ok(now)
        })
    }

    /// Runs `fut` on the store's runtime and waits for it here (see the module's comment).
    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| StoreError::Backend("the etcd store shut down".to_string()))?
    }

    fn range(&self, request: RangeRequest) -> Result<wire::RangeResponse, StoreError> {
        let shared = self.shared.clone();
        self.block(async move { shared.gateway.range(&request).await.map_err(backend) })
    }

    fn txn(&self, request: TxnRequest) -> Result<wire::TxnResponse, StoreError> {
        let shared = self.shared.clone();
        self.block(async move { shared.gateway.txn(&request).await.map_err(backend) })
    }

    /// Plans writes with `plan` against a snapshot and, unless `dry_run`, commits them in one
    /// transaction; plans again when another writer got there first.
    ///
    /// The snapshot is the store revision this store's last write left (no read), else a
    /// fresh read of it; it starts from what that write read and wrote when it is at the
    /// same revision (see `snapshot`). A stale one costs nothing wrong: a commit's compare fails and
    /// answers the current revision; a plan that writes nothing, or refuses (a conflict), is
    /// judged again on a fresh read before it is believed; a read pinned to a revision etcd
    /// no longer has (or not yet, on another member) sends the write back to a fresh read.
    fn write<T>(
        &self,
        dry_run: bool,
        mut plan: impl FnMut(&mut Planner<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut known = if dry_run {
            None
        } else {
            self.shared.view.meta()
        };
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let (meta, fresh) = match known.take() {
                Some(m) => (m, false),
                None => {
                    let shared = self.shared.clone();
                    (self.block(async move { shared.meta().await })?, true)
                }
            };
            let snapshot = Snapshot::new(self, meta.at, self.shared.view.known_at(&meta));
            let mut planner = Planner::new(&snapshot, meta.revision, now_rfc3339()?);
            let out = match plan(&mut planner) {
                // A refusal judged on the remembered revision (a conflict, a missing object)
                // may not hold now: judge it again on a fresh read.
                Err(e) if !fresh => {
                    tracing::debug!(error = %e, "planning on the remembered revision failed; reading it again");
                    continue;
                }
                Err(StoreError::Backend(m)) if m.contains("required revision") => {
                    tracing::debug!(
                        reason = m,
                        "planning on an unusable snapshot; reading it again"
                    );
                    continue;
                }
                planned => planned?,
            };
            let batch = planner.into_batch();
            let Some(last) = batch.events.last().map(|e| e.revision) else {
                if fresh {
                    return Ok(out);
                }
                // Nothing to write, judged on the remembered revision: true only if no
                // write happened since.
                let shared = self.shared.clone();
                let now = self.block(async move { shared.meta().await })?;
                if now.modified == meta.modified {
                    return Ok(out);
                }
                known = Some(now);
                continue;
            };
            if dry_run {
                return Ok(out);
            }
            let request = self.commit_request(&snapshot, &batch, meta.modified)?;
            let operations = request.success.len();
            let answer = self
                .txn(request)
                .map_err(|e| explain_limits(e, operations))?;
            if answer.succeeded {
                self.shared.seen(last);
                let now = Meta {
                    revision: last,
                    modified: answer.header.revision,
                    at: answer.header.revision,
                };
                self.shared
                    .view
                    .committed(now, snapshot.into_parts(), &batch);
                tracing::debug!(revision = last, "store write committed");
                return Ok(out);
            }
            if let Some(fence) = &self.fence {
                let held = answer.range(1).and_then(|r| r.kvs.first());
                if held.is_none_or(|kv| kv.lease != fence.lease) {
                    let holder = held
                        .and_then(|kv| serde_json::from_slice::<LeaderInfo>(&kv.value).ok())
                        .map(|l| l.id);
                    return Err(StoreError::Backend(format!(
                        "this server ({}) is no longer the leader ({}): its controllers' writes are refused",
                        fence.id,
                        holder.map_or_else(|| "none elected".to_string(), |h| format!("{h} leads"))
                    )));
                }
            }
            // Another server wrote first: plan again on what it wrote (the failure branch
            // read the store revision).
            known = match answer.range(0) {
                Some(r) => {
                    let mut now = Meta::from_range(r)?;
                    now.at = answer.header.revision;
                    self.shared.seen(now.revision);
                    Some(now)
                }
                None => None,
            };
        }
        Err(StoreError::Backend(format!(
            "gave up a write after {MAX_WRITE_ATTEMPTS} attempts: other servers kept writing first"
        )))
    }

    /// The transaction that commits `batch`: objects, label index, events (and the trim of
    /// the log), counters, Secret values and the store revision, if nobody wrote since
    /// `meta_modified` (and, fenced, if this server still leads).
    fn commit_request(
        &self,
        snapshot: &Snapshot<'_>,
        batch: &Batch,
        meta_modified: i64,
    ) -> Result<TxnRequest, StoreError> {
        let layout = &self.shared.layout;
        let mut request = TxnRequest {
            compare: vec![Compare::modified_at(
                layout.meta(META_REVISION),
                meta_modified,
            )],
            ..Default::default()
        };
        request.failure.push(RequestOp::Range(RangeRequest::key(
            layout.meta(META_REVISION),
        )));
        if let Some(fence) = &self.fence {
            request
                .compare
                .push(Compare::leased_by(layout.leader(), fence.lease));
            request
                .failure
                .push(RequestOp::Range(RangeRequest::key(layout.leader())));
        }
        let ops = &mut request.success;
        for (key, new) in &batch.objects {
            let old = crate::plan::Reader::get(snapshot, key)?;
            let entries = |o: &Option<Object>| -> Vec<Vec<u8>> {
                o.iter()
                    .flat_map(|o| {
                        o.metadata
                            .labels
                            .iter()
                            .map(|(k, v)| layout.label(o.kind.as_str(), (k, v), key))
                    })
                    .collect()
            };
            let (before, after) = (entries(&old), entries(new));
            ops.extend(
                before
                    .iter()
                    .filter(|e| !after.contains(e))
                    .map(|e| RequestOp::delete(e.clone())),
            );
            ops.extend(
                after
                    .iter()
                    .filter(|e| !before.contains(e))
                    .map(|e| RequestOp::put(e.clone(), Vec::new())),
            );
            ops.push(match new {
                Some(obj) => RequestOp::put(layout.object(key), encode(obj)?),
                None => RequestOp::delete(layout.object(key)),
            });
        }
        let (Some(first), Some(last)) = (batch.events.first(), batch.events.last()) else {
            return Ok(request);
        };
        for event in &batch.events {
            ops.push(RequestOp::put(layout.event(event.revision), encode(event)?));
        }
        // Keep the newest `capacity` events (never a range over this batch's own keys: etcd
        // refuses a transaction that writes a key twice).
        if self.shared.capacity > 0 && last.revision > self.shared.capacity {
            let keep_from = (last.revision - self.shared.capacity + 1).min(first.revision);
            ops.push(RequestOp::delete_between(
                layout.event(0),
                layout.event(keep_from),
            ));
        }
        for (key, n) in &batch.counters {
            ops.push(RequestOp::put(layout.meta(key), n.to_string()));
        }
        for (key, value) in &batch.secrets {
            ops.push(match value {
                Some(v) => RequestOp::put(layout.secret(key), v.as_bytes()),
                None => RequestOp::delete(layout.secret(key)),
            });
        }
        ops.push(RequestOp::put(
            layout.meta(META_REVISION),
            last.revision.to_string(),
        ));
        Ok(request)
    }

    /// Objects stored under the given storage keys, read as of etcd revision `at`, in
    /// transactions of [`READS_PER_TXN`] reads.
    fn objects_at(&self, storage_keys: &[String], at: i64) -> Result<Vec<Object>, StoreError> {
        let mut objects = Vec::with_capacity(storage_keys.len());
        for chunk in storage_keys.chunks(READS_PER_TXN) {
            let request = TxnRequest {
                success: chunk
                    .iter()
                    .map(|k| {
                        RequestOp::Range(RangeRequest::key(self.shared.layout.object(k)).at(at))
                    })
                    .collect(),
                ..Default::default()
            };
            let answer = self.txn(request)?;
            for (i, key) in chunk.iter().enumerate() {
                if let Some(kv) = answer.range(i).and_then(|r| r.kvs.first()) {
                    objects.push(decode_object(key, &kv.value)?);
                }
            }
        }
        Ok(objects)
    }

    fn decode_all(&self, kvs: &[wire::KeyValue]) -> Result<Vec<Object>, StoreError> {
        kvs.iter()
            .map(|kv| {
                let key = self
                    .shared
                    .layout
                    .storage_key(&kv.key)
                    .unwrap_or_else(|| String::from_utf8_lossy(&kv.key).into_owned());
                decode_object(&key, &kv.value)
            })
            .collect()
    }
}

/// etcd's refusals of a transaction that is too big, with what to change: ecsctl writes
/// whatever one apply holds in one transaction, and etcd's defaults are small. A request over
/// `--max-request-bytes` is refused by etcd ("request is too large") only up to gRPC's margin
/// above that limit; further over, etcd's gRPC server refuses it before etcd sees it
/// ("received message larger than max").
fn explain_limits(e: StoreError, operations: usize) -> StoreError {
    let StoreError::Backend(message) = &e else {
        return e;
    };
    if message.contains("too many operations in txn request") {
        StoreError::Backend(format!(
            "this write is {operations} operations in one etcd transaction, more than etcd allows: start etcd with --max-txn-ops {} or more ({message})",
            operations.next_power_of_two().max(10_000)
        ))
    } else if message.contains("request is too large")
        || message.contains("message larger than max")
    {
        StoreError::Backend(format!(
            "this write is larger than etcd accepts in one request: start etcd with a larger --max-request-bytes, such as 10485760 ({message})"
        ))
    } else {
        e
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode an object: {e}")))
}

impl Store for EtcdStore {
    fn get(&self, key: &ObjectKey) -> Result<Option<Object>, StoreError> {
        let layout = &self.shared.layout;
        match keys::target(&normalize_key(key)) {
            Target::One(k) => {
                let answer = self.range(RangeRequest::key(layout.object(&k)))?;
                answer
                    .kvs
                    .first()
                    .map(|kv| decode_object(&k, &kv.value))
                    .transpose()
            }
            // The latest ACTIVE revision: usually the latest revision, read alone first.
            Target::Family(prefix) => {
                let latest =
                    self.range(RangeRequest::prefix(layout.objects_under(&prefix)).last_only())?;
                match latest.kvs.first() {
                    None => return Ok(None),
                    Some(kv) => {
                        let object = self.decode_all(std::slice::from_ref(kv))?.remove(0);
                        if keys::is_active_revision(&object) {
                            return Ok(Some(object));
                        }
                    }
                }
                let answer = self.range(RangeRequest::prefix(layout.objects_under(&prefix)))?;
                for object in self.decode_all(&answer.kvs)?.into_iter().rev() {
                    if keys::is_active_revision(&object) {
                        return Ok(Some(object));
                    }
                }
                Ok(None)
            }
        }
    }

    fn list(&self, query: &ListQuery) -> Result<ObjectList, StoreError> {
        let layout = &self.shared.layout;
        // The store revision and what is listed, in one transaction: every write up to the
        // revision is in the list, none after it.
        let what = match query.labels.iter().next() {
            Some((k, v)) => {
                let mut r = RangeRequest::prefix(layout.labels(query.kind.as_str(), (k, v)));
                r.keys_only = true;
                r
            }
            None => RangeRequest::prefix(
                layout.objects_under(&keys::list_prefix(query.kind, query.cluster.as_deref())),
            ),
        };
        let answer = self.txn(TxnRequest {
            success: vec![
                RequestOp::Range(RangeRequest::key(layout.meta(META_REVISION))),
                RequestOp::Range(what),
            ],
            ..Default::default()
        })?;
        let meta = Meta::from_range(answer.range(0).ok_or_else(missing_answer)?)?;
        self.shared.seen(meta.revision);
        let listed = answer.range(1).ok_or_else(missing_answer)?;
        let mut items = if query.labels.is_empty() {
            self.decode_all(&listed.kvs)?
        } else {
            // Only the objects that carry the first label are read, as of the same revision.
            let targets: Vec<String> = listed
                .kvs
                .iter()
                .filter_map(|kv| layout.label_target(&kv.key))
                .collect();
            self.objects_at(&targets, answer.header.revision)?
        };
        items.retain(|o| query.matches(o));
        crate::types::sort_listed(&mut items);
        Ok(ObjectList {
            items,
            revision: meta.revision,
        })
    }

    fn count(&self, query: &ListQuery) -> Result<usize, StoreError> {
        if !query.labels.is_empty() {
            return Ok(self.list(query)?.items.len());
        }
        let prefix = keys::list_prefix(query.kind, query.cluster.as_deref());
        let mut request = RangeRequest::prefix(self.shared.layout.objects_under(&prefix));
        request.count_only = true;
        let answer = self.range(request)?;
        Ok(usize::try_from(answer.count).unwrap_or(0))
    }

    fn names(&self, query: &ListQuery) -> Result<Vec<String>, StoreError> {
        if !query.labels.is_empty() {
            return Ok(self
                .list(query)?
                .items
                .into_iter()
                .map(|o| o.metadata.name)
                .collect());
        }
        let layout = &self.shared.layout;
        let prefix = keys::list_prefix(query.kind, query.cluster.as_deref());
        let mut request = RangeRequest::prefix(layout.objects_under(&prefix));
        request.keys_only = true;
        let answer = self.range(request)?;
        Ok(answer
            .kvs
            .iter()
            .filter_map(|kv| {
                let key = layout.storage_key(&kv.key)?;
                keys::name_in(query.kind, &key).map(str::to_string)
            })
            .collect())
    }

    fn apply(&self, obj: Object) -> Result<ApplyResult, StoreError> {
        let mut results = self.apply_all(vec![obj], false)?;
        results
            .pop()
            .ok_or_else(|| StoreError::Backend("apply returned no result".to_string()))
    }

    fn apply_all(&self, objs: Vec<Object>, dry_run: bool) -> Result<Vec<ApplyResult>, StoreError> {
        self.write(dry_run, |planner| {
            objs.iter().map(|o| planner.apply(o.clone())).collect()
        })
    }

    fn write_all(&self, writes: Vec<crate::Write>) -> Result<(), StoreError> {
        self.write(false, |planner| {
            writes.iter().try_for_each(|w| planner.write(w.clone()))
        })
    }

    fn register(&self, obj: Object) -> Result<ApplyResult, StoreError> {
        self.write(false, |planner| planner.register(obj.clone()))
    }

    fn update_status(
        &self,
        key: &ObjectKey,
        status: serde_json::Value,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError> {
        let key = normalize_key(key);
        self.write(false, |planner| {
            planner.update_status(&key, status.clone(), expected_resource_version)
        })
    }

    fn delete(&self, key: &ObjectKey) -> Result<Vec<Object>, StoreError> {
        let key = normalize_key(key);
        self.write(false, |planner| planner.delete(&key))
    }

    fn delete_all(&self, keys: &[ObjectKey]) -> Result<Vec<Object>, StoreError> {
        self.write(false, |planner| planner.delete_existing(keys))
    }

    fn watch(&self, from_revision: u64) -> Result<Watch, StoreError> {
        watch::start(self, from_revision)
    }

    fn revision(&self) -> u64 {
        self.shared.revision.load(Ordering::Acquire)
    }

    fn secret_value(&self, key: &ObjectKey) -> Result<Option<String>, StoreError> {
        let storage_key = keys::plain_key(key.kind, key.cluster.as_deref(), &key.name);
        let answer = self.range(RangeRequest::key(self.shared.layout.secret(&storage_key)))?;
        answer
            .kvs
            .into_iter()
            .next()
            .map(|kv| {
                String::from_utf8(kv.value).map_err(|_| StoreError::Corrupt {
                    key: format!("secrets/{storage_key}"),
                    message: "value is not UTF-8".to_string(),
                })
            })
            .transpose()
    }

    fn reads_wait(&self) -> bool {
        true
    }
}

fn missing_answer() -> StoreError {
    StoreError::Backend("etcd answered a transaction without its reads".to_string())
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.shared.gateway.endpoints())
            .field("prefix", &self.shared.layout.prefix())
            .field("revision", &self.revision())
            .field("fenced", &self.fence.is_some())
            .finish_non_exhaustive()
    }
}
