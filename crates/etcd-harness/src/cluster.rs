//! [`EtcdCluster`]: start N members, wait until all are healthy, kill and restart them, and
//! take everything down on drop.

use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

use crate::member::{ClusterConfig, ClusterState, Member, MemberStatus};
use crate::{HarnessError, TlsFiles, find_etcd, gateway, ports};

/// How long [`EtcdCluster::start`] and [`EtcdCluster::restart`] wait for members to report
/// healthy. A 3-member cluster on loopback is usually healthy in well under a second; the rest
/// is room for a loaded CI machine.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(20);

/// Whole-cluster start attempts: only a member that lost its port to another process between
/// [`ports::free_ports`] and its own bind leads to another attempt.
const START_ATTEMPTS: usize = 4;

/// How often the start-up loop asks members for their health.
const POLL: Duration = Duration::from_millis(50);

/// How long one `/health` request may take.
const HEALTH_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Lines of a member's log quoted in an error.
const LOG_TAIL_LINES: usize = 30;

/// A running etcd cluster of N members on 127.0.0.1, in a temporary directory of its own.
///
/// Members are numbered `0..N` (named `m0`, `m1`, ...) and keep their ports and data
/// directory for the life of the value, across [`kill`](Self::kill) and
/// [`restart`](Self::restart). Dropping it SIGKILLs every member it started and removes the
/// directory, also while a failing test unwinds.
///
/// Methods that take a member index panic when it is out of range, like slice indexing.
#[derive(Debug)]
pub struct EtcdCluster {
    config: ClusterConfig,
    members: Vec<Member>,
    // Dropped after `Drop::drop` has killed the members, so etcd never writes into a
    // directory being removed.
    dir: TempDir,
}

impl EtcdCluster {
    /// Starts a new cluster of `members` members and waits until every one answers
    /// `GET /health` with `{"health":"true"}`.
    ///
    /// Each member gets two free loopback ports (client and peer). If a member cannot bind
    /// one (another process took it first), the whole attempt is torn down and started over
    /// on new ports, a few times.
    ///
    /// # Errors
    /// [`HarnessError::EtcdNotFound`] without an etcd binary; [`HarnessError::MemberExited`]
    /// or [`HarnessError::Unhealthy`] (with the end of the member's log) when a member does
    /// not come up within [`HEALTH_TIMEOUT`].
    #[tracing::instrument(level = "debug")]
    pub fn start(members: usize) -> Result<Self, HarnessError> {
        Self::start_with(members, None)
    }

    /// As [`start`](Self::start), with clients spoken to over TLS: every member serves
    /// `https` on its client port with `tls.cert` and `tls.key` (and demands a client
    /// certificate signed by `tls.client_ca` when there is one), so
    /// [`endpoints`](Self::endpoints) and [`store_url`](Self::store_url) name `https` ports.
    /// Peers talk plain `http` to each other. [`TestPki`](crate::TestPki) makes the files;
    /// they must outlive the cluster (a restarted member reads them again).
    ///
    /// The harness's own calls ([`health`](Self::health), [`put`](Self::put),
    /// [`get`](Self::get), [`gateway`](Self::gateway), [`leader`](Self::leader)) work as on
    /// a plain cluster: they go to a second, plain-`http` client port of each member on
    /// loopback, which ecsctl is never given.
    ///
    /// # Errors
    /// As for [`start`](Self::start); a member that cannot read its certificate exits, and
    /// the error quotes its log.
    #[tracing::instrument(level = "debug")]
    pub fn start_tls(members: usize, tls: &TlsFiles) -> Result<Self, HarnessError> {
        Self::start_with(members, Some(tls))
    }

    fn start_with(members: usize, tls: Option<&TlsFiles>) -> Result<Self, HarnessError> {
        if members == 0 {
            return Err(HarnessError::NoMembers);
        }
        let binary = find_etcd()?;
        crate::reaper::reap_orphans_once();
        let mut attempt = 1;
        loop {
            match Self::start_once(&binary, members, tls) {
                Err(err) if attempt < START_ATTEMPTS && lost_a_port(&err) => {
                    tracing::debug!(attempt, %err, "an etcd member could not bind its port; starting over");
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn start_once(
        binary: &Path,
        count: usize,
        tls: Option<&TlsFiles>,
    ) -> Result<Self, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix(crate::reaper::DIR_PREFIX)
            .tempdir()
            .map_err(|e| HarnessError::io("create a temporary directory", e))?;
        // Client and peer; over TLS also the harness's plain local port.
        let per_member = if tls.is_some() { 3 } else { 2 };
        let ports = ports::free_ports(per_member * count)?;
        let members: Vec<Member> = ports
            .chunks(per_member)
            .enumerate()
            .map(|(index, ports)| {
                let mut member = Member::new(index, ports[0], ports[1], dir.path());
                member.local_port = ports.get(2).copied();
                member
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Self {
            config: ClusterConfig {
                binary: binary.to_path_buf(),
                token: unique_token(),
                initial_cluster,
                tls: tls.cloned().map(Box::new),
            },
            members,
            dir,
        };
        // On any error below, dropping `cluster` kills what was started and removes the
        // directory.
        for member in &mut cluster.members {
            member.spawn(&cluster.config, ClusterState::New)?;
        }
        let all: Vec<usize> = (0..count).collect();
        cluster.wait_healthy(&all)?;
        tracing::debug!(members = count, endpoints = ?cluster.endpoints(), dir = %cluster.dir.path().display(), "etcd cluster healthy");
        Ok(cluster)
    }

    /// Waits until each of `members` answers `GET /health` with `{"health":"true"}`, for at
    /// most [`HEALTH_TIMEOUT`].
    ///
    /// After a [`kill`](Self::kill) of the leader, the others need an election before they
    /// take writes again; a write sent in that window waits out etcd's request timeout (about
    /// 6 s here) and fails with `etcdserver: request timed out`. Waiting for the survivors'
    /// health first is how a test knows the election is over.
    ///
    /// # Errors
    /// [`HarnessError::NotRunning`] for a member without a process,
    /// [`HarnessError::MemberExited`] when one ends while waiting, and
    /// [`HarnessError::Unhealthy`] (with the end of its log) after the timeout.
    ///
    /// # Panics
    /// When a member index is out of range.
    pub fn wait_healthy(&mut self, members: &[usize]) -> Result<(), HarnessError> {
        let started = Instant::now();
        let mut pending = members.to_vec();
        loop {
            for &index in &pending {
                match self.members[index].poll() {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(HarnessError::NotRunning(self.members[index].name.clone()));
                    }
                    Err(status) => return Err(self.exited(index, status)),
                }
            }
            pending.retain(|&index| !self.members[index].healthy(HEALTH_REQUEST_TIMEOUT));
            let Some(&late) = pending.first() else {
                return Ok(());
            };
            if started.elapsed() >= HEALTH_TIMEOUT {
                let member = &self.members[late];
                return Err(HarnessError::Unhealthy {
                    member: member.name.clone(),
                    waited: started.elapsed(),
                    log: member.log_path.clone(),
                    log_tail: member.log_tail(LOG_TAIL_LINES),
                });
            }
            thread::sleep(POLL);
        }
    }

    fn exited(&mut self, index: usize, status: ExitStatus) -> HarnessError {
        let member = &mut self.members[index];
        member.child = None;
        HarnessError::MemberExited {
            member: member.name.clone(),
            status,
            log: member.log_path.clone(),
            log_tail: member.log_tail(LOG_TAIL_LINES),
        }
    }

    /// How many members the cluster has (running or not).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: a cluster has at least one member. (For clippy's `len_without_is_empty`.)
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members' client addresses, `127.0.0.1:PORT`, in member order (`https` ones in a
    /// cluster from [`start_tls`](Self::start_tls)).
    pub fn endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| m.client_addr().to_string())
            .collect()
    }

    /// The cluster as an ecsctl `--store` value: `etcd://127.0.0.1:P1,127.0.0.1:P2,...`.
    pub fn store_url(&self) -> String {
        format!("etcd://{}", self.endpoints().join(","))
    }

    /// The temporary directory holding the members' data directories and logs (removed on
    /// drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The member's log file (etcd's own log, appended to across restarts).
    pub fn log_path(&self, member: usize) -> &Path {
        &self.members[member].log_path
    }

    /// The member's process id while the harness has a process for it.
    pub fn pid(&self, member: usize) -> Option<u32> {
        self.members[member]
            .child
            .as_ref()
            .map(std::process::Child::id)
    }

    /// Whether the member's process is alive (it was started, not killed, and has not exited).
    pub fn is_running(&mut self, member: usize) -> bool {
        self.members[member].poll() == Ok(true)
    }

    /// Whether the member answers `GET /health` with `{"health":"true"}` (within a second).
    /// etcd reports healthy only while the cluster has a leader, so a member that lost
    /// quorum answers false.
    pub fn health(&self, member: usize) -> bool {
        self.members[member].healthy(HEALTH_REQUEST_TIMEOUT)
    }

    /// SIGKILLs the member (no graceful shutdown: what a crash or a lost machine looks like)
    /// and waits for the process to end. A member that is not running is left as it is.
    /// After killing the leader, see [`wait_healthy`](Self::wait_healthy) before writing.
    ///
    /// # Errors
    /// [`HarnessError::Io`] when the process cannot be waited for.
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn kill(&mut self, member: usize) -> Result<(), HarnessError> {
        self.members[member].kill()
    }

    /// Starts the member again on its old ports and data directory
    /// (`--initial-cluster-state existing`), killing it first if it still runs, and waits
    /// until it is healthy. It rejoins the cluster from its own data: its log shows it
    /// catching up on what the others committed meanwhile.
    ///
    /// # Errors
    /// As for [`start`](Self::start). A member cannot report healthy without a quorum: to
    /// bring back a majority, use [`restart_all`](Self::restart_all).
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn restart(&mut self, member: usize) -> Result<(), HarnessError> {
        self.members[member].kill()?;
        self.members[member].spawn(&self.config, ClusterState::Existing)?;
        self.wait_healthy(&[member])
    }

    /// Starts every member that is not running (as [`restart`](Self::restart) does one) and
    /// waits until all members are healthy: the way back from a lost quorum.
    ///
    /// # Errors
    /// As for [`start`](Self::start).
    #[tracing::instrument(level = "debug", skip(self))]
    pub fn restart_all(&mut self) -> Result<(), HarnessError> {
        for index in 0..self.members.len() {
            if !self.is_running(index) {
                self.members[index].kill()?; // reaps an exited process
                self.members[index].spawn(&self.config, ClusterState::Existing)?;
            }
        }
        let all: Vec<usize> = (0..self.members.len()).collect();
        self.wait_healthy(&all)
    }

    /// The member that leads the cluster now, as the running members see it: `None` when
    /// none of them knows a leader (an election, a lost quorum). Failover tests kill it to
    /// hit the slow path on purpose instead of by a one-in-N chance.
    pub fn leader(&self) -> Option<usize> {
        let statuses: Vec<(usize, MemberStatus)> = self
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.child.is_some())
            .filter_map(|(index, m)| Some((index, m.status()?)))
            .collect();
        let leader_id = statuses.iter().find_map(|(_, status)| status.leader)?;
        statuses
            .iter()
            .find(|(_, status)| status.id == leader_id)
            .map(|&(index, _)| index)
    }

    /// Writes `key` = `value` through the member's JSON gateway (`POST /v3/kv/put`).
    ///
    /// # Errors
    /// [`HarnessError::Http`] when the member does not answer, [`HarnessError::Gateway`] when
    /// etcd refuses (no leader, request too large, ...).
    pub fn put(&self, member: usize, key: &[u8], value: &[u8]) -> Result<(), HarnessError> {
        gateway::put(self.members[member].harness_addr(), key, value)
    }

    /// Reads `key` through the member's JSON gateway (`POST /v3/kv/range`): its value, or
    /// `None` when the key does not exist. The read is linearizable: it goes through the
    /// leader, so a member without quorum fails rather than answer stale data.
    ///
    /// # Errors
    /// As for [`put`](Self::put).
    pub fn get(&self, member: usize, key: &[u8]) -> Result<Option<Vec<u8>>, HarnessError> {
        gateway::get(self.members[member].harness_addr(), key)
    }

    /// Any call of the member's JSON gateway: `POST path` (`/v3/kv/txn`, `/v3/lease/grant`,
    /// ...) with `request` in etcd's JSON mapping (keys and values base64), returning the
    /// JSON reply. For what [`put`](Self::put) and [`get`](Self::get) do not cover.
    ///
    /// # Errors
    /// As for [`put`](Self::put); a reply that is not JSON is a [`HarnessError::Gateway`].
    pub fn gateway(
        &self,
        member: usize,
        path: &str,
        request: &serde_json::Value,
    ) -> Result<serde_json::Value, HarnessError> {
        gateway::call(self.members[member].harness_addr(), path, request)
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        // The logs go with the directory; when a test fails, keep etcd's side of the story
        // in its output (the test harness shows a failing test's stderr).
        if thread::panicking() {
            for member in &self.members {
                eprintln!(
                    "etcd-harness: end of {} ({}):\n{}",
                    member.log_path.display(),
                    member.name,
                    member.log_tail(LOG_TAIL_LINES)
                );
            }
        }
        for member in &mut self.members {
            if let Err(err) = member.kill() {
                // Nothing to return it to; say it rather than leave a process unexplained.
                eprintln!("etcd-harness: {err}");
            }
        }
        // `self.dir` (TempDir) removes the directory when it is dropped, right after this.
    }
}

/// Whether a failed start was a member that could not bind one of its ports.
fn lost_a_port(err: &HarnessError) -> bool {
    matches!(err, HarnessError::MemberExited { log_tail, .. } if log_tail.contains("address already in use"))
}

/// A cluster token no other cluster on this machine has: process, time and a counter.
fn unique_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}{}-{nanos}-{}",
        crate::reaper::TOKEN_PREFIX,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tokens_are_unique_within_a_process() {
        let a = unique_token();
        let b = unique_token();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("ecsctl-test-{}-", std::process::id())));
    }

    #[test]
    fn only_a_member_that_lost_its_port_means_start_over() {
        use std::os::unix::process::ExitStatusExt;
        let exited = |log_tail: &str| HarnessError::MemberExited {
            member: "m1".into(),
            status: ExitStatus::from_raw(1 << 8),
            log: "m1.log".into(),
            log_tail: log_tail.into(),
        };
        let bind_failure =
            r#"{"level":"fatal","msg":"listen tcp 127.0.0.1:40001: bind: address already in use"}"#;
        assert!(lost_a_port(&exited(bind_failure)));
        assert!(!lost_a_port(&exited(
            "flag provided but not defined: -bogus"
        )));
        assert!(!lost_a_port(&HarnessError::Unhealthy {
            member: "m0".into(),
            waited: HEALTH_TIMEOUT,
            log: "m0.log".into(),
            log_tail: "address already in use".into(),
        }));
    }

    #[test]
    fn zero_members_is_refused_before_looking_for_etcd() {
        assert!(matches!(
            EtcdCluster::start(0),
            Err(HarnessError::NoMembers)
        ));
    }
}
