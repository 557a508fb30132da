//! Electing the one server whose controllers act, through etcd: a lease and a key.
//!
//! A candidate holds a lease that it keeps alive; it leads once it has created the leader key
//! (`P/leader`) bound to that lease, in a transaction that succeeds only if the key does not
//! exist. The key goes when the lease expires (the leader died or lost etcd) or is revoked
//! (the leader stopped): a standby then creates it. The TTL bounds failover.
//!
//! A leader stops acting before anyone else can start: it counts its lease as gone at the
//! time it *sent* its last successful keep-alive plus the TTL, less a margin, while etcd
//! expires it no sooner than the TTL after it *received* that keep-alive. And its controllers
//! write through a fenced store ([`super::EtcdStore::fenced`]) whose transactions require the
//! leader key to still be bound to this leadership's lease, so even a leader paused past
//! that point cannot write once another took over. A leader also checks at each keep-alive
//! that the key is still its own (an operator may delete it to force an election).

use super::wire::{self, Compare, LeaseGrantRequest, LeaseId, RangeRequest, RequestOp, TxnRequest};
use super::{EtcdStore, Shared, backend};
use crate::StoreError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Who leads, as the leader key says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderInfo {
    /// The leading server's id.
    pub id: String,
    /// Where it serves the API, as its `--listen` says.
    pub address: String,
    /// When it took the leadership (RFC 3339).
    pub since: String,
}

/// A server's candidacy for the leadership of the store's control plane.
#[derive(Debug, Clone)]
pub struct Election {
    store: EtcdStore,
    id: String,
    address: String,
    ttl: Duration,
}

impl Election {
    /// A candidacy of server `id` (serving at `address`), with a lease of `ttl` (whole
    /// seconds, at least 1).
    pub fn new(
        store: &EtcdStore,
        id: impl Into<String>,
        address: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        Election {
            store: store.clone(),
            id: id.into(),
            address: address.into(),
            ttl: ttl.max(Duration::from_secs(1)),
        }
    }

    /// This server's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The lease's time to live: how long the control plane may be without a leader.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Who leads now; `None` when nobody does.
    pub async fn leader(&self) -> Result<Option<LeaderInfo>, StoreError> {
        let shared = self.store.shared.clone();
        run_on(&self.store, async move { current_leader(&shared).await }).await
    }

    /// Waits until this server leads, then returns its leadership. The lease is granted
    /// first and kept alive while waiting.
    pub async fn campaign(&self) -> Result<Leadership, StoreError> {
        let shared = self.store.shared.clone();
        let handle = self.store.handle().clone();
        let (id, address, ttl) = (self.id.clone(), self.address.clone(), self.ttl);
        run_on(&self.store, async move {
            campaign(shared, handle, id, address, ttl).await
        })
        .await
    }
}

/// Runs `fut` on the store's runtime (where its connections live) and awaits it here.
async fn run_on<T: Send + 'static>(
    store: &EtcdStore,
    fut: impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
) -> Result<T, StoreError> {
    store
        .handle()
        .spawn(fut)
        .await
        .map_err(|e| StoreError::Backend(format!("election task failed: {e}")))?
}

async fn current_leader(shared: &Shared) -> Result<Option<LeaderInfo>, StoreError> {
    let answer = shared
        .gateway
        .range(&RangeRequest::key(shared.layout.leader()))
        .await
        .map_err(backend)?;
    Ok(answer
        .kvs
        .first()
        .and_then(|kv| serde_json::from_slice(&kv.value).ok()))
}

/// How often a standby tries to take the leadership, at most (and at least every quarter
/// TTL).
const CAMPAIGN_POLL: Duration = Duration::from_millis(500);

async fn campaign(
    shared: Arc<Shared>,
    handle: tokio::runtime::Handle,
    id: String,
    address: String,
    ttl: Duration,
) -> Result<Leadership, StoreError> {
    let grant_sent = Instant::now();
    let grant: wire::LeaseGrantResponse = shared
        .gateway
        .call(
            "/v3/lease/grant",
            &LeaseGrantRequest {
                TTL: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
            },
        )
        .await
        .map_err(backend)?;
    if grant.ID == 0 || !grant.error.is_empty() {
        return Err(StoreError::Backend(format!(
            "etcd granted no lease: {}",
            grant.error
        )));
    }
    let lease = grant.ID;
    let ttl =
        Duration::from_secs(u64::try_from(grant.TTL).unwrap_or(0)).max(Duration::from_secs(1));
    let (lost_tx, lost_rx) = watch::channel(false);
    let leading = Arc::new(AtomicBool::new(false));
    let keepalive = tokio::spawn(keep_alive(
        shared.clone(),
        lease,
        ttl,
        grant_sent,
        leading.clone(),
        lost_tx,
    ));
    let key = shared.layout.leader();
    let poll = CAMPAIGN_POLL.min(ttl / 4);
    let mut lost = lost_rx.clone();
    let mut announced = None;
    loop {
        if *lost.borrow() {
            keepalive.abort();
            return Err(StoreError::Backend(
                "the election lease expired while campaigning".to_string(),
            ));
        }
        // The record says since when this server leads: the time of the attempt that wins.
        let value = serde_json::to_vec(&LeaderInfo {
            id: id.clone(),
            address: address.clone(),
            since: crate::plan::now_rfc3339()?,
        })
        .map_err(|e| StoreError::Backend(format!("cannot encode the leader record: {e}")))?;
        let answer = shared
            .gateway
            .txn(&TxnRequest {
                compare: vec![Compare::absent(key.clone())],
                success: vec![RequestOp::Put(wire::PutRequest {
                    key: key.clone(),
                    value: value.clone(),
                    lease,
                })],
                failure: vec![RequestOp::Range(RangeRequest::key(key.clone()))],
            })
            .await;
        match answer {
            Ok(a) if a.succeeded => {
                leading.store(true, Ordering::Release);
                tracing::info!(id, ttl = ?ttl, "elected leader of the control plane");
                return Ok(Leadership {
                    id,
                    lease,
                    lost: lost_rx,
                    keepalive,
                    shared,
                    handle,
                });
            }
            Ok(a) => {
                let holder = a
                    .range(0)
                    .and_then(|r| r.kvs.first())
                    .and_then(|kv| serde_json::from_slice::<LeaderInfo>(&kv.value).ok())
                    .map(|l| l.id);
                if holder != announced {
                    tracing::info!(leader = ?holder, "standing by: another server leads");
                    announced = holder;
                }
            }
            Err(e) => tracing::warn!(error = %e, "campaign: etcd did not answer; trying again"),
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            _ = lost.changed() => {}
        }
    }
}

/// Keeps the lease alive every third of its TTL until it is gone (etcd says so, or no
/// keep-alive got through in time) or, once `leading`, the leader key is no longer bound to
/// it; then flips `lost`.
async fn keep_alive(
    shared: Arc<Shared>,
    lease: i64,
    ttl: Duration,
    mut last_sent_ok: Instant,
    leading: Arc<AtomicBool>,
    lost: watch::Sender<bool>,
) {
    // Act as if the lease were gone a little before etcd could expire it.
    let margin = (ttl / 5).max(Duration::from_millis(200));
    let every = ttl / 3;
    loop {
        let expires = last_sent_ok + ttl - margin.min(ttl);
        let sent = Instant::now();
        let answer = tokio::time::timeout_at(
            expires,
            shared.gateway.call::<_, wire::LeaseKeepAliveMessage>(
                "/v3/lease/keepalive",
                &LeaseId { ID: lease },
            ),
        )
        .await;
        match answer {
            Ok(Ok(m)) if m.result.as_ref().is_some_and(|r| r.TTL > 0) => {
                last_sent_ok = sent;
                if leading.load(Ordering::Acquire) && !holds_leader_key(&shared, lease).await {
                    tracing::warn!(
                        lease,
                        "the leader key is gone or another's: leadership lost"
                    );
                    let _ = lost.send(true);
                    return;
                }
            }
            Ok(Ok(_)) => {
                tracing::warn!(lease, "the election lease expired in etcd");
                let _ = lost.send(true);
                return;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "lease keep-alive failed; retrying"),
            Err(_) => {}
        }
        if Instant::now() >= last_sent_ok + ttl - margin.min(ttl) {
            tracing::warn!(lease, ttl = ?ttl, "no lease keep-alive got through in time: leadership lost");
            let _ = lost.send(true);
            return;
        }
        let next = (Instant::now() + every).min(last_sent_ok + ttl - margin.min(ttl));
        tokio::time::sleep_until(next).await;
    }
}

/// Whether the leader key is bound to `lease` (`true` when etcd cannot say: the lease
/// deadline covers that case).
async fn holds_leader_key(shared: &Shared, lease: i64) -> bool {
    match shared
        .gateway
        .range(&RangeRequest::key(shared.layout.leader()))
        .await
    {
        Ok(answer) => answer.kvs.first().is_some_and(|kv| kv.lease == lease),
        Err(_) => true,
    }
}

/// This server leads; until [`Leadership::lost`] completes.
pub struct Leadership {
    id: String,
    /// The lease the leader key is bound to while this server leads (what the fence
    /// compares).
    lease: i64,
    lost: watch::Receiver<bool>,
    keepalive: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
    /// The store's runtime (not kept alive by this handle).
    handle: tokio::runtime::Handle,
}

impl Leadership {
    /// The leading server's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The lease that holds the leader key while this leadership lasts.
    pub(crate) fn lease(&self) -> i64 {
        self.lease
    }

    /// Completes when the leadership can no longer be counted on: the lease expired or no
    /// keep-alive got through in time. The server must stop acting then.
    pub async fn lost(&self) {
        let mut lost = self.lost.clone();
        let _ = lost.wait_for(|l| *l).await;
    }

    /// Whether the leadership is already lost.
    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Gives the leadership up now (revokes the lease, which deletes the leader key), so that
    /// a standby takes over without waiting for the TTL: on a clean shutdown.
    pub async fn resign(self) {
        self.keepalive.abort();
        let shared = self.shared.clone();
        let lease = self.lease;
        let revoked = self
            .handle
            .spawn({
                let shared = shared.clone();
                async move {
                    shared
                        .gateway
                        .call::<_, serde_json::Value>("/v3/lease/revoke", &LeaseId { ID: lease })
                        .await
                }
            })
            .await;
        match revoked {
            Ok(Ok(_)) => tracing::info!(id = self.id, "resigned the leadership"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not resign the leadership; it ends with its lease")
            }
            Err(e) => tracing::warn!(error = %e, "could not resign the leadership"),
        }
    }
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("id", &self.id)
            .field("lease", &self.lease)
            .field("lost", &self.is_lost())
            .finish_non_exhaustive()
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.keepalive.abort();
    }
}
