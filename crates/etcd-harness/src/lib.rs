//! Throwaway etcd clusters for ecsctl's tests.
//!
//! ecsctl's etcd backend and its highly available control plane (two `ecsctl server`s on one
//! etcd cluster) are tested against real etcd, not a fake: the store's contract suite and the
//! end-to-end tests start an [`EtcdCluster`] of one or more members on free loopback ports,
//! point ecsctl at [`EtcdCluster::store_url`], and kill and restart members to test failover.
//!
//! [`EtcdCluster::start_tls`] starts one whose client ports speak TLS, with certificates from
//! a throwaway authority ([`TestPki`]), for the tests of ecsctl's `--etcd-ca`, `--etcd-cert`
//! and `--etcd-key`.
//!
//! The binary is Debian's `etcd-server` (etcd 3.4), which `scripts/install-etcd.sh` installs;
//! `ECSCTL_ETCD` names another one. Everything a cluster makes (processes, data directories,
//! logs) lives and dies with its value: `Drop` kills the members and removes the directory,
//! also while a failing test unwinds; what a test process killed outright left behind is
//! stopped and removed by the next one that starts a cluster ([`reap_orphans`]).
//!
//! The crate is blocking and std-only on purpose (a tiny HTTP/1.0 client for `/health` and the
//! JSON gateway): tests of async code can call it from any thread without a runtime of its own.
//! It is a dev-dependency only.
//!
//! ```no_run
//! # fn main() -> Result<(), etcd_harness::HarnessError> {
//! let mut cluster = etcd_harness::EtcdCluster::start(3)?;
//! cluster.put(0, b"/ecsctl/k", b"v")?;
//! assert_eq!(cluster.get(1, b"/ecsctl/k")?, Some(b"v".to_vec()));
//! cluster.kill(0)?;
//! cluster.restart(0)?;
//! assert!(cluster.health(0));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod binary;
mod cluster;
mod error;
mod gateway;
mod http;
mod member;
mod ports;
mod reaper;
#[cfg(test)]
mod test_server;
mod tls;

pub use binary::{ETCD_ENV, find_etcd};
pub use cluster::{EtcdCluster, HEALTH_TIMEOUT};
pub use error::HarnessError;
pub use reaper::reap_orphans;
pub use tls::{CertPair, TestPki, TlsFiles};
