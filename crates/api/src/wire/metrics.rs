//! `GET /v1/metrics/{services|tasks}`: the latest measured CPU, memory and request rates
//! (`ecsctl top`), and `GET /v1/metrics/services/{name}/series`: one service's over time.
//! A Service's own latest values also appear in its `status.metrics`.

use serde::{Deserialize, Serialize};

/// The answer: `{"items": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsList<T> {
    /// One entry per service or task.
    pub items: Vec<T>,
}

/// One service's latest metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceMetrics {
    /// Its cluster.
    pub cluster: String,
    /// The service's name.
    pub service: String,
    /// The values (also what `status.metrics` of the Service holds).
    #[serde(flatten)]
    pub values: ServiceMetricValues,
}

/// A service's measured values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMetricValues {
    /// Tasks with samples.
    pub tasks: usize,
    /// Mean CPU over its tasks' latest samples, % of the reserved CPU.
    pub cpu_percent: Option<f64>,
    /// Mean memory, % of the reservation (else the limit).
    pub memory_percent: Option<f64>,
    /// Requests per second per target, through the built-in load balancer.
    pub requests_per_target_per_sec: Option<f64>,
    /// The newest sample's time (RFC 3339).
    pub at: Option<String>,
}

/// One task's latest metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskMetrics {
    /// Its cluster.
    pub cluster: String,
    /// The service that started it, if one did.
    pub service: Option<String>,
    /// The task id.
    pub task: String,
    /// CPU, % of the reserved CPU (may exceed 100).
    pub cpu_percent: f64,
    /// Memory, % of the reservation (else the limit).
    pub memory_percent: f64,
    /// The sample's time (RFC 3339).
    pub at: String,
}

/// `GET /v1/metrics/services/{name}/series?cluster=C[&since=DURATION]`: one service's
/// measurements over time, one point per bucket of the server's series (`resolutionSeconds`
/// wide) that holds a sample, oldest first; a bucket without one is left out (a gap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSeries {
    /// Its cluster.
    pub cluster: String,
    /// The service's name.
    pub service: String,
    /// The width of one bucket (the sampling period), seconds.
    pub resolution_seconds: f64,
    /// The start of the time asked about (now - since), RFC 3339.
    pub from: String,
    /// When the answer was made, RFC 3339.
    pub to: String,
    /// The buckets with samples, oldest first.
    pub points: Vec<SeriesPoint>,
}

/// One bucket of a service's series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesPoint {
    /// The bucket's start, RFC 3339.
    pub at: String,
    /// Mean over the service's tasks of their CPU in the bucket, % of the reserved CPU.
    pub cpu_percent: Option<f64>,
    /// Mean over its tasks of their memory, % of the reservation (else the limit).
    pub memory_percent: Option<f64>,
    /// Requests per second per target, through the built-in load balancer.
    pub requests_per_target_per_sec: Option<f64>,
}
