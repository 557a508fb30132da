//! LoadBalancer: listeners and routing rules served by the server's built-in proxy.

use crate::units::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of a LoadBalancer served by the server's built-in proxy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerSpec {
    #[schemars(length(min = 1))]
    pub listeners: Vec<Listener>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<TargetHealthCheck>,
    /// Seconds a deregistered target keeps serving in-flight requests (default 300, as ECS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub deregistration_delay_seconds: Option<u32>,
    /// round_robin (default) or least_outstanding_requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<LbAlgorithm>,
    /// Seconds over which a new target's share of traffic ramps up (0 = off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 900))]
    pub slow_start_seconds: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Listener {
    pub port: Port,
    /// HTTP (L7, routes by rules), HTTPS (HTTP behind TLS: needs certificates) or TCP (L4
    /// pass-through).
    pub protocol: LbProtocol,
    /// Bind address (default 127.0.0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// HTTP routing rules, matched by priority (lowest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<ListenerRule>,
    /// Service that receives traffic no rule matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_service: Option<String>,
    /// HTTPS only: the certificates it presents, as an ALB's listener lists them. The first is
    /// the default; another is chosen when the name a client asks for (SNI) is one of its
    /// names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<ListenerCertificate>,
}

/// A certificate of an HTTPS listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerCertificate {
    /// The Secret holding the PEM certificate chain and its private key, both in one value:
    /// its name, or an ARN whose last segment is the name
    /// (`arn:aws:acm:us-east-1:123456789012:certificate/web-cert`).
    pub certificate_arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LbProtocol {
    Http,
    Https,
    Tcp,
}

impl LbProtocol {
    /// HTTP or HTTPS: requests are routed by rules (TCP passes connections through).
    pub fn is_http(self) -> bool {
        matches!(self, LbProtocol::Http | LbProtocol::Https)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LbAlgorithm {
    RoundRobin,
    LeastOutstandingRequests,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 50000))]
    pub priority: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^/"))]
    pub path_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The Service that receives matching requests.
    pub service: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetHealthCheck {
    /// HTTP path probed (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Port probed (default the target's port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Port>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 300))]
    pub interval_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 120))]
    pub timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub healthy_threshold_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub unhealthy_threshold_count: Option<u32>,
    /// HTTP codes that count as healthy: `200`, `200-299`, `200,302`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$"))]
    pub matcher: Option<String>,
}
