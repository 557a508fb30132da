//! The public data types: the desired state handed to `sync` and the observed state read back.

use api::kinds::{LbProtocol, LoadBalancerSpec};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

/// Desired state of one load balancer.
#[derive(Clone, Debug, PartialEq)]
pub struct LbConfig {
    pub name: String,
    pub cluster: String,
    pub spec: LoadBalancerSpec,
    /// Registered targets by service name.
    pub targets: BTreeMap<String, Vec<Target>>,
    /// Targets deregistered and draining (no new requests; in-flight ones finish).
    pub draining: Vec<Target>,
    /// The values of the Secrets its HTTPS listeners name as certificates, by Secret name.
    pub certificates: BTreeMap<String, CertificatePem>,
}

/// A Secret's value as an HTTPS listener uses it: PEM text holding a certificate chain and its
/// private key, or why it could not be read. Its `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub enum CertificatePem {
    Pem(String),
    Unavailable(String),
}

impl fmt::Debug for CertificatePem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificatePem::Pem(pem) => write!(f, "Pem(<{} bytes>)", pem.len()),
            CertificatePem::Unavailable(why) => f.debug_tuple("Unavailable").field(why).finish(),
        }
    }
}

/// One task's address as a target.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub task_id: String,
    pub addr: SocketAddr,
}

/// Health of a target as the load balancer's health checks see it (ALB's target states).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "lowercase")]
pub enum TargetHealth {
    /// Registered, not yet through `healthyThresholdCount` successful checks (or failed ones).
    Initial,
    Healthy,
    /// Failed `unhealthyThresholdCount` checks in a row; the reason of the last failure.
    Unhealthy(String),
    /// Deregistered: gets no new requests, finishes the ones in flight.
    Draining,
}

impl TargetHealth {
    /// `initial`, `healthy`, `unhealthy` or `draining`.
    pub fn state(&self) -> &'static str {
        match self {
            TargetHealth::Initial => "initial",
            TargetHealth::Healthy => "healthy",
            TargetHealth::Unhealthy(_) => "unhealthy",
            TargetHealth::Draining => "draining",
        }
    }

    /// Why the target is in this state, in words (ALB's reason descriptions).
    pub fn reason(&self) -> Option<&str> {
        match self {
            TargetHealth::Initial => Some("Initial health checks in progress"),
            TargetHealth::Healthy => None,
            TargetHealth::Unhealthy(reason) => Some(reason),
            TargetHealth::Draining => Some("Target deregistration is in progress"),
        }
    }
}

impl fmt::Display for TargetHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            Some(reason) => write!(f, "{} ({reason})", self.state()),
            None => f.write_str(self.state()),
        }
    }
}

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
