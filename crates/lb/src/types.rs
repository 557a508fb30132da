//! The public data types: the desired state handed to `sync` and the observed state read back.
//!
//! The desired state ([`LbConfig`]) and [`TargetHealth`] are `api::balancer`'s, shared with the
//! load balancer controller; they are re-exported here.

pub use api::balancer::{CertificatePem, LbConfig, Target, TargetHealth};
use api::kinds::LbProtocol;
use serde::Serialize;
use std::net::SocketAddr;

/// Observed state of one load balancer, for `ecsctl describe lb`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LbStatus {
    pub name: String,
    pub cluster: String,
    pub listeners: Vec<ListenerStatus>,
    /// Registered and draining targets, by service then task.
    pub targets: Vec<TargetStatus>,
}

/// One listener: whether it listens, and if not why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    pub port: u16,
    pub protocol: LbProtocol,
    /// The bind address (default 127.0.0.1).
    pub address: String,
    pub bound: bool,
    pub error: Option<String>,
    /// HTTPS: the certificates it presents, the default first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateStatus>,
}

/// A certificate of an HTTPS listener: the Secret holding it and when it expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    pub name: String,
    /// RFC 3339; absent when the certificate could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
}

/// One target with its health and traffic.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    /// The service it was registered for (empty for a target only ever seen draining).
    pub service: String,
    pub task_id: String,
    pub addr: SocketAddr,
    pub health: TargetHealth,
    /// Requests (HTTP) or connections (TCP) sent to it since it was registered.
    pub requests: u64,
    /// Requests or connections in progress now.
    pub in_flight: u64,
    /// Requests per second over the last 60 s (over its lifetime when younger).
    pub rate_per_sec: f64,
}
