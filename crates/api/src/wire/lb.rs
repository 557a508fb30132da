//! `GET /v1/loadbalancers/{name}/status`: what the built-in load balancer does for one
//! LoadBalancer object (`null` while it serves nothing yet).

use crate::kinds::LbProtocol;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// Observed state of one load balancer, for `ecsctl describe lb`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancerStatus {
    /// The LoadBalancer object's name.
    pub name: String,
    /// Its cluster.
    pub cluster: String,
    /// Its listeners.
    pub listeners: Vec<ListenerStatus>,
    /// Registered and draining targets, by service then task.
    pub targets: Vec<TargetStatus>,
}

/// One listener: whether it listens, and if not why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    /// The port.
    pub port: u16,
    /// HTTP, HTTPS or TCP.
    pub protocol: LbProtocol,
    /// The bind address (default 127.0.0.1).
    pub address: String,
    /// Whether it listens.
    pub bound: bool,
    /// Why it does not.
    pub error: Option<String>,
    /// HTTPS: the certificates it presents, the default first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateStatus>,
}

/// A certificate of an HTTPS listener: the Secret holding it and when it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStatus {
    /// The Secret's name.
    pub name: String,
    /// RFC 3339; absent when the certificate could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
}

/// One target with its health and traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetStatus {
    /// The service it was registered for (empty for a target only ever seen draining).
    pub service: String,
    /// The task behind it.
    pub task_id: String,
    /// Where requests go.
    pub addr: SocketAddr,
    /// What the health checks say.
    pub health: TargetHealth,
    /// Requests (HTTP) or connections (TCP) sent to it since it was registered.
    pub requests: u64,
    /// Requests or connections in progress now.
    pub in_flight: u64,
    /// Requests per second over the last 60 s (over its lifetime when younger).
    pub rate_per_sec: f64,
}

/// Health of a target: the one type the balancer, the controllers and the API share.
pub use crate::balancer::TargetHealth;
