//! What crosses between the load balancer controller (in `controllers`) and the built-in
//! load balancer (the `lb` crate): the desired state of one load balancer, and the health of
//! its targets as the balancer reports it back to the service controller. Plain data, here so
//! that both sides share one type and neither names the other.

use crate::kinds::LoadBalancerSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

/// Desired state of one load balancer.
#[derive(Clone, Debug, PartialEq)]
pub struct LbConfig {
    /// The LoadBalancer's name.
    pub name: String,
    /// Its cluster.
    pub cluster: String,
    /// Its spec: listeners, rules, health check, algorithm.
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
    /// The PEM text.
    Pem(String),
    /// Why the Secret could not be read (never holds a value).
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
    /// The task's id.
    pub task_id: String,
    /// Where the balancer reaches its container port.
    pub addr: SocketAddr,
}

/// Health of a target as the load balancer's health checks see it (ALB's target states):
/// `{"state": "initial"|"healthy"|"draining"}` or `{"state": "unhealthy", "reason": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "lowercase")]
pub enum TargetHealth {
    /// Registered, not yet through `healthyThresholdCount` successful checks (or failed ones).
    Initial,
    /// Passed its health checks: gets requests.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_serializes_as_state_and_reason() {
        let json = |h: &TargetHealth| serde_json::to_value(h).expect("json");
        assert_eq!(
            json(&TargetHealth::Healthy),
            serde_json::json!({"state": "healthy"})
        );
        assert_eq!(
            json(&TargetHealth::Unhealthy("Connection refused".into())),
            serde_json::json!({"state": "unhealthy", "reason": "Connection refused"})
        );
        assert_eq!(
            TargetHealth::Draining.to_string(),
            "draining (Target deregistration is in progress)"
        );
    }
}
