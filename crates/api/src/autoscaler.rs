//! Autoscaler: Application Auto Scaling for one service (spec), and what the autoscaler
//! controller decided and measured (status).

use crate::units::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of an Autoscaler: Application Auto Scaling for one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalerSpec {
    /// Name of the Service (same cluster) whose desiredCount this scales.
    pub service: String,
    pub min_capacity: Count,
    pub max_capacity: Count,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_tracking: Vec<TargetTrackingPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_scaling: Vec<StepScalingPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled: Vec<ScheduledAction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetTrackingPolicy {
    pub metric: ScalingMetric,
    /// Target value of the metric (percent for CPU/memory, requests per target otherwise).
    #[schemars(range(min = 0.0))]
    pub target_value: f64,
    /// Seconds after a scale-out before another scale-out (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<Count>,
    /// Seconds after a scale-in before another scale-in (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScalingMetric {
    #[serde(rename = "ECSServiceAverageCPUUtilization")]
    EcsServiceAverageCpuUtilization,
    #[serde(rename = "ECSServiceAverageMemoryUtilization")]
    EcsServiceAverageMemoryUtilization,
    #[serde(rename = "ALBRequestCountPerTarget")]
    AlbRequestCountPerTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepScalingPolicy {
    pub metric: ScalingMetric,
    /// ChangeInCapacity, PercentChangeInCapacity or ExactCapacity.
    pub adjustment_type: AdjustmentType,
    pub steps: Vec<ScalingStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<Count>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AdjustmentType {
    ChangeInCapacity,
    PercentChangeInCapacity,
    ExactCapacity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_bound: Option<f64>,
    pub adjustment: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduledAction {
    /// Cron expression (`cron(0 9 * * ? *)` or five-field cron).
    pub schedule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_capacity: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<Count>,
}

/// What the autoscaler controller records in the Autoscaler's status.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
// Partial statuses decode: a status may hold only what the controllers' invalid-object
// recorder wrote (`controllers::invalid`).
#[serde(rename_all = "camelCase", default)]
pub struct AutoscalerStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_out_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_in_at: Option<String>,
    #[serde(default)]
    pub desired_capacity: u32,
    #[serde(default)]
    pub min_capacity: u32,
    #[serde(default)]
    pub max_capacity: u32,
    /// The last change, in words (`scaled from 2 to 4: average CPU 91% > target 50%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_decision: Option<Decision>,
    /// Latest measured values by metric name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Measured>,
}

/// One decision that changed the desired count; the service controller reports each once
/// as a service event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Increasing (the decision time in nanoseconds), so a reader knows which it has seen.
    pub id: String,
    pub at: String,
    pub from: u32,
    pub to: u32,
    pub message: String,
}

/// The latest measured value of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Measured {
    pub metric: ScalingMetric,
    pub value: f64,
}
