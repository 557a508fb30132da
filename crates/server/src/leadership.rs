//! Which server's controllers act. On sled the one server leads, always. On etcd every server
//! serves the API, and the one elected through etcd (`store::Election`) runs the controllers,
//! the load balancers and the directory syncs; the others stand by and campaign, and one of
//! them takes over within the lease's TTL when the leader is gone.
//!
//! [`run`] campaigns, runs the leader's work for as long as the leadership holds (through a
//! fenced store: a deposed leader's writes are refused), stops it when the leadership is lost
//! and campaigns again; on shutdown it resigns, so that a standby takes over at once.

use api::wire::{Role, ServerStatus};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::sync::watch;

/// The default lease TTL: the longest the control plane goes without a leader after one dies.
pub const DEFAULT_LEADER_LEASE: Duration = Duration::from_secs(10);

/// How long a deposed leader waits for its controllers to stop before campaigning again.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How this server becomes the leader.
#[derive(Debug, Clone)]
pub(crate) enum Candidacy {
    /// The only server of its store (sled): leads from the start (`since`), never loses it.
    Alone {
        id: String,
        address: String,
        since: String,
    },
    /// One of the servers sharing an etcd store.
    Elected {
        election: store::Election,
        store: store::EtcdStore,
    },
}

/// A leadership while it holds.
enum Term {
    Alone,
    Elected(store::Leadership),
}

impl Candidacy {
    fn id(&self) -> &str {
        match self {
            Candidacy::Alone { id, .. } => id,
            Candidacy::Elected { election, .. } => election.id(),
        }
    }

    async fn campaign(&self) -> Result<Term, store::StoreError> {
        match self {
            Candidacy::Alone { .. } => Ok(Term::Alone),
            Candidacy::Elected { election, .. } => election.campaign().await.map(Term::Elected),
        }
    }

    /// The store a term's work writes through: fenced by the leadership on etcd.
    fn store_for(&self, term: &Term, base: &Arc<dyn Store>) -> Arc<dyn Store> {
        match (self, term) {
            (Candidacy::Elected { store, .. }, Term::Elected(leadership)) => {
                Arc::new(store.fenced(leadership))
            }
            _ => base.clone(),
        }
    }
}

impl Term {
    /// Completes when the leadership is lost (never, alone).
    async fn lost(&self) {
        match self {
            Term::Alone => std::future::pending().await,
            Term::Elected(l) => l.lost().await,
        }
    }

    async fn resign(self) {
        if let Term::Elected(l) = self {
            l.resign().await;
        }
    }
}

/// Where the state is, as `GET /v1/status` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreInfo {
    /// `sled`, or `etcd://HOST:PORT,...`.
    url: String,
    endpoints: Vec<String>,
    /// The key prefix in etcd, or sled's directory.
    location: String,
}

impl StoreInfo {
    pub(crate) fn sled(location: impl Into<String>) -> Self {
        StoreInfo {
            url: "sled".to_string(),
            endpoints: Vec::new(),
            location: location.into(),
        }
    }

    pub(crate) fn etcd(store: &store::EtcdStore) -> Self {
        let endpoints = store.endpoints();
        StoreInfo {
            url: format!("etcd://{}", endpoints.join(",")),
            endpoints,
            location: store.prefix(),
        }
    }
}

/// What `GET /v1/status` answers, kept current by [`run`].
#[derive(Debug, Clone)]
pub(crate) struct ControlPlane {
    candidacy: Candidacy,
    role: watch::Receiver<Role>,
    store: StoreInfo,
}

impl ControlPlane {
    /// A lone server's control plane, leading (for handler tests).
    #[cfg(test)]
    pub(crate) fn alone(id: &str) -> Self {
        let (control, role) = control_plane(
            Candidacy::Alone {
                id: id.to_string(),
                address: String::new(),
                since: String::new(),
            },
            StoreInfo::sled(""),
        );
        let _ = role.send(Role::Leader);
        control
    }

    /// This server's place: its role now, the leader (asked of etcd), the store.
    pub(crate) async fn status(&self, revision: u64) -> ServerStatus {
        let role = *self.role.borrow();
        let leader = match &self.candidacy {
            Candidacy::Alone { id, address, since } => Some(store::LeaderInfo {
                id: id.clone(),
                address: address.clone(),
                since: since.clone(),
            }),
            Candidacy::Elected { election, .. } => election.leader().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read the leader record");
                None
            }),
        };
        let StoreInfo {
            url,
            endpoints,
            location,
        } = self.store.clone();
        ServerStatus {
            id: self.candidacy.id().to_string(),
            role,
            leader: leader.as_ref().map(|l| l.id.clone()),
            leader_address: leader.as_ref().map(|l| l.address.clone()),
            leader_since: leader.map(|l| l.since).filter(|s| !s.is_empty()),
            store: url,
            endpoints,
            location,
            revision,
        }
    }
}

/// The leader's work: started with the store it must write through and a flag that turns
/// `true` when it must stop; completes once everything it started has stopped.
pub(crate) type Work = Arc<
    dyn Fn(
            Arc<dyn Store>,
            watch::Receiver<bool>,
        ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// The control plane's state for `GET /v1/status`, and the sender [`run`] keeps it with.
pub(crate) fn control_plane(
    candidacy: Candidacy,
    store: StoreInfo,
) -> (ControlPlane, watch::Sender<Role>) {
    let (tx, rx) = watch::channel(Role::Standby);
    (
        ControlPlane {
            candidacy,
            role: rx,
            store,
        },
        tx,
    )
}

/// Campaigns and runs `work` while leading, until `stop` turns `true` (see the module's
/// comment).
pub(crate) async fn run(
    candidacy: Candidacy,
    role: watch::Sender<Role>,
    base: Arc<dyn Store>,
    work: Work,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let term = tokio::select! {
            t = candidacy.campaign() => t,
            _ = stop.wait_for(|s| *s) => return,
        };
        let term = match term {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "campaign for the leadership failed; trying again");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        };
        let _ = role.send(Role::Leader);
        let (term_tx, term_rx) = watch::channel(false);
        let working = tokio::spawn(work(candidacy.store_for(&term, &base), term_rx));
        let shutting_down = tokio::select! {
            () = term.lost() => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        let _ = term_tx.send(true);
        let _ = role.send(Role::Standby);
        if !shutting_down {
            tracing::warn!(
                "lost the leadership: stopping the controllers, load balancers and syncs; standing by"
            );
        }
        if tokio::time::timeout(STOP_GRACE, working).await.is_err() {
            tracing::warn!(grace = ?STOP_GRACE, "the leader's work did not stop in time");
        }
        if shutting_down {
            term.resign().await;
            return;
        }
    }
}
