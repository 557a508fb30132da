//! One etcd member: where it lives (ports, data directory, log) and its process.
//!
//! The flags are chosen for tests on one machine, and for what ecsctl asks of etcd:
//! - `--max-txn-ops 10000` and `--max-request-bytes 10485760`: ecsctl writes one `apply` as one
//!   transaction (every object of the apply, compare-and-swap on each), so an apply of many
//!   objects is one large request with many operations; etcd's defaults (128 operations,
//!   1.5 MiB) would refuse a big manifest directory.
//! - `--heartbeat-interval 50 --election-timeout 500`: loopback round trips are well under a
//!   millisecond, so a lost leader is replaced in about half a second instead of etcd's default
//!   of one to two seconds; failover tests stay short.
//! - `--logger zap --log-outputs stderr`, with stderr appended to a file per member: the log
//!   survives restarts and is quoted in start-up errors.
//!
//! A cluster started over TLS serves `https` on the client port (`--cert-file`, `--key-file`,
//! and `--client-cert-auth --trusted-ca-file` when client certificates are required); peers
//! stay plain `http`. Each member then also listens for clients on a second, plain `http`
//! loopback port, the harness's own: health checks, `put`, `get` and the leader query go
//! there, so the harness keeps its few-dozen-line HTTP client and needs no TLS of its own.
//! etcd serves an `http` client URL without TLS and so without client certificates, which is
//! what makes that port usable with `--client-cert-auth`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{HarnessError, TlsFiles, gateway, http};

/// How a member joins: as part of a brand new cluster, or back into the one it was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClusterState {
    New,
    Existing,
}

impl ClusterState {
    fn flag(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Existing => "existing",
        }
    }
}

/// The settings every member of one cluster shares.
#[derive(Debug)]
pub(crate) struct ClusterConfig {
    pub binary: PathBuf,
    /// `--initial-cluster-token`: unique per cluster, so that members of two test clusters can
    /// never mistake each other for peers.
    pub token: String,
    /// `--initial-cluster`: `m0=http://127.0.0.1:PEER0,...`.
    pub initial_cluster: String,
    /// What the client ports serve TLS with; `None`: plain `http`. Boxed: tests keep an
    /// `EtcdCluster` by value in their fixtures (enums among them), so it stays small.
    pub tls: Option<Box<TlsFiles>>,
}

/// A member's identity and files; `child` is its process while the harness has one.
#[derive(Debug)]
pub(crate) struct Member {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    /// In a TLS cluster, the plain-`http` client port the harness itself talks to (see the
    /// module's comment); `None` in a plain cluster, whose client port serves everyone.
    pub local_port: Option<u16>,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
    pub child: Option<Child>,
}

impl Member {
    pub fn new(index: usize, client_port: u16, peer_port: u16, dir: &Path) -> Self {
        let name = format!("m{index}");
        Self {
            data_dir: dir.join(format!("{name}.etcd")),
            log_path: dir.join(format!("{name}.log")),
            name,
            client_port,
            peer_port,
            local_port: None,
            child: None,
        }
    }

    pub fn client_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.client_port))
    }

    /// Where the harness's own requests go: the plain-`http` local port in a TLS cluster,
    /// else the client port.
    pub fn harness_addr(&self) -> SocketAddr {
        SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            self.local_port.unwrap_or(self.client_port),
        ))
    }

    pub fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    /// The client URL the member advertises: `https` when the cluster has TLS files.
    fn client_url(&self, cluster: &ClusterConfig) -> String {
        let scheme = if cluster.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// The client URLs the member listens on: its client URL, and the local port if any.
    fn listen_client_urls(&self, cluster: &ClusterConfig) -> String {
        let client_url = self.client_url(cluster);
        match self.local_port {
            Some(port) => format!("{client_url},http://127.0.0.1:{port}"),
            None => client_url,
        }
    }

    /// `--cert-file` and friends of a TLS cluster; nothing for a plain one.
    fn tls_args(cluster: &ClusterConfig) -> Vec<std::ffi::OsString> {
        let Some(tls) = &cluster.tls else {
            return Vec::new();
        };
        let mut args: Vec<std::ffi::OsString> = vec![
            "--cert-file".into(),
            tls.cert.clone().into(),
            "--key-file".into(),
            tls.key.clone().into(),
        ];
        if let Some(ca) = &tls.client_ca {
            args.extend([
                "--client-cert-auth".into(),
                "--trusted-ca-file".into(),
                ca.clone().into(),
            ]);
        }
        args
    }

    /// Starts the process (the caller has made sure none runs).
    pub fn spawn(
        &mut self,
        cluster: &ClusterConfig,
        state: ClusterState,
    ) -> Result<(), HarnessError> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| HarnessError::io(format!("open {}", self.log_path.display()), e))?;
        let client_url = self.client_url(cluster);
        let peer_url = self.peer_url();
        let child = Command::new(&cluster.binary)
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen-client-urls", &self.listen_client_urls(cluster)])
            .args(["--advertise-client-urls", &client_url])
            .args(Self::tls_args(cluster))
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &cluster.initial_cluster])
            .args(["--initial-cluster-state", state.flag()])
            .args(["--initial-cluster-token", &cluster.token])
            .args(["--max-txn-ops", "10000"])
            .args(["--max-request-bytes", "10485760"])
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .args(["--logger", "zap", "--log-outputs", "stderr"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| {
                HarnessError::io(
                    format!(
                        "start {} for member {}",
                        cluster.binary.display(),
                        self.name
                    ),
                    e,
                )
            })?;
        tracing::debug!(member = %self.name, pid = child.id(), client = %client_url, peer = %peer_url, state = state.flag(), "etcd member started");
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILLs the process, if there is one, and reaps it.
    pub fn kill(&mut self) -> Result<(), HarnessError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // Killing a process that already exited is not an error worth reporting; `wait`
        // below reaps it either way.
        let _ = child.kill();
        child
            .wait()
            .map_err(|e| HarnessError::io(format!("wait for member {}", self.name), e))?;
        tracing::debug!(member = %self.name, "etcd member killed");
        Ok(())
    }

    /// Whether the process is alive; `Err` carries its exit status when it has ended.
    pub fn poll(&mut self) -> Result<bool, std::process::ExitStatus> {
        match self.child.as_mut().map(Child::try_wait) {
            None => Ok(false),
            Some(Ok(None)) => Ok(true),
            Some(Ok(Some(status))) => Err(status),
            // try_wait only fails on an invalid pid, which a child we own cannot have; count
            // it as alive so that the health check decides.
            Some(Err(_)) => Ok(true),
        }
    }

    /// `GET /health` answered 200 with `{"health":"true"}` within `timeout`.
    pub fn healthy(&self, timeout: Duration) -> bool {
        let Ok(response) = http::get(self.harness_addr(), "/health", timeout) else {
            return false;
        };
        response.status == 200
            && serde_json::from_slice::<serde_json::Value>(&response.body)
                .is_ok_and(|body| body["health"] == "true")
    }

    /// The member's raft id and the leader it knows, from `/v3/maintenance/status`; `None`
    /// when it does not answer.
    pub fn status(&self) -> Option<MemberStatus> {
        let reply = gateway::call(
            self.harness_addr(),
            "/v3/maintenance/status",
            &serde_json::json!({}),
        )
        .ok()?;
        MemberStatus::from_reply(&reply)
    }

    /// The last `lines` lines of the log (at most 64 KiB are read).
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log_path, lines).unwrap_or_else(|e| format!("(cannot read the log: {e})"))
    }
}

/// What a member says about itself in `/v3/maintenance/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemberStatus {
    /// Its raft member id.
    pub id: u64,
    /// The leader's member id, if it knows one (etcd says 0 when it does not).
    pub leader: Option<u64>,
}

impl MemberStatus {
    fn from_reply(reply: &serde_json::Value) -> Option<Self> {
        // The gateway writes uint64 fields as JSON strings (they exceed a double's precision).
        let id = |value: &serde_json::Value| value.as_str()?.parse::<u64>().ok();
        Some(Self {
            id: id(&reply["header"]["member_id"])?,
            leader: id(&reply["leader"]).filter(|&leader| leader != 0),
        })
    }
}

fn tail(path: &Path, lines: usize) -> std::io::Result<String> {
    const MAX: u64 = 64 * 1024;
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(MAX)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    Ok(all[all.len().saturating_sub(lines)..].join("\n"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let member = Member::new(2, 1, 2, dir.path());
        assert_eq!(member.name, "m2");
        assert!(member.log_tail(3).starts_with("(cannot read the log"));
        let text: String = (1..=10).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&member.log_path, text).unwrap();
        assert_eq!(member.log_tail(3), "line 8\nline 9\nline 10");
        assert_eq!(member.log_tail(100).lines().count(), 10);
    }

    #[test]
    fn status_reads_ids_that_the_gateway_writes_as_strings() {
        let reply = serde_json::json!({
            "header": {"cluster_id": "5577419299952351277", "member_id": "8813575065840868852"},
            "version": "3.4.23",
            "leader": "8813575065840868852",
        });
        assert_eq!(
            MemberStatus::from_reply(&reply),
            Some(MemberStatus {
                id: 8813575065840868852,
                leader: Some(8813575065840868852)
            })
        );
        let no_leader = serde_json::json!({"header": {"member_id": "7"}, "leader": "0"});
        assert_eq!(
            MemberStatus::from_reply(&no_leader),
            Some(MemberStatus {
                id: 7,
                leader: None
            })
        );
        assert_eq!(
            MemberStatus::from_reply(&serde_json::json!({"error": "x"})),
            None
        );
    }

    #[test]
    fn a_member_without_a_process_is_not_running_and_kill_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let mut member = Member::new(0, 1, 2, dir.path());
        assert_eq!(member.poll(), Ok(false));
        member.kill().unwrap();
    }
}
