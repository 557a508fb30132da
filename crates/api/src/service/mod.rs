//! Service: ECS CreateService input (this file), and the status the service controller
//! reports (`status.rs`).

mod status;

pub use crate::deployment::{DeploymentStatus, DeploymentSummary, RolloutState};
pub use status::{Condition, ConditionStatus, ConditionType, Event, ServiceStatus};

use crate::taskdef::{EnabledDisabled, Tag};
use crate::units::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of a Service (ECS CreateService). The service name is metadata.name and its
/// cluster metadata.cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// `family` (latest revision) or `family:N`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,255}(:[1-9][0-9]*)?$"))]
    pub task_definition: String,
    /// Number of tasks to keep running (required for REPLICA services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<Count>,
    /// Rolling update bounds and the circuit breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    /// Seconds after a task starts during which failed load balancer / container health
    /// checks are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<Count>,
    /// Load balancers the service's tasks register with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<ServiceLoadBalancer>,
    /// How tasks are spread over container instances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub placement_strategy: Vec<PlacementStrategy>,
    /// Rules every placement must satisfy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub placement_constraints: Vec<PlacementConstraint>,
    /// EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES (all run on the local Docker engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,
    /// Capacity provider strategy (kept; one local capacity provider).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    /// Fargate platform version (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// awsvpc settings (subnets and security groups are kept; each task gets an address on the
    /// cluster's network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    /// REPLICA (desiredCount tasks) or DAEMON (one task per container instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_strategy: Option<SchedulingStrategy>,
    /// Only the ECS rolling deployment controller is implemented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_controller: Option<DeploymentController>,
    /// Cloud Map registries (kept; tasks are discoverable by service name on the cluster network).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_registries: Vec<serde_json::Map<String, serde_json::Value>>,
    /// ECS Service Connect: the names (and ports) by which other tasks of the cluster reach
    /// this service. Locally each name is a DNS alias of the service's awsvpc tasks on the
    /// cluster network, without Service Connect's proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,
    #[serde(
        default,
        rename = "enableECSManagedTags",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ecs_managed_tags: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<PropagateTags>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// IAM role for the load balancer (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone_rebalancing: Option<EnabledDisabled>,
}

impl ServiceSpec {
    pub fn scheduling_strategy(&self) -> SchedulingStrategy {
        self.scheduling_strategy
            .unwrap_or(SchedulingStrategy::Replica)
    }
    /// minimumHealthyPercent with ECS's default (100 for REPLICA, 0 for DAEMON).
    pub fn minimum_healthy_percent(&self) -> u32 {
        let default = match self.scheduling_strategy() {
            SchedulingStrategy::Replica => 100,
            SchedulingStrategy::Daemon => 0,
        };
        self.deployment_configuration
            .as_ref()
            .and_then(|d| d.minimum_healthy_percent)
            .map_or(default, |p| p.get())
    }
    /// maximumPercent with ECS's default (200 for REPLICA, 100 for DAEMON).
    pub fn maximum_percent(&self) -> u32 {
        let default = match self.scheduling_strategy() {
            SchedulingStrategy::Replica => 200,
            SchedulingStrategy::Daemon => 100,
        };
        self.deployment_configuration
            .as_ref()
            .and_then(|d| d.maximum_percent)
            .map_or(default, |p| p.get())
    }
}

/// The field of a Service's spec that scaling sets (an Autoscaler, `ecsctl scale`). Merged
/// into the stored spec (`Object::merge_spec`) so that everything else stays as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleRequest {
    pub desired_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentConfiguration {
    /// Upper bound on tasks during a deployment, as a percentage of desiredCount (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<Count>,
    /// Lower bound on healthy tasks during a deployment, as a percentage of desiredCount
    /// (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<Percent>,
    /// Stops (and optionally rolls back) a deployment whose tasks keep failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    /// CloudWatch alarms (kept, not evaluated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
    /// ROLLING (implemented) or BLUE_GREEN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<DeploymentStrategy>,
    /// Minutes to wait after a blue/green shift (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_time_in_minutes: Option<Count>,
    /// Lifecycle hooks (kept, not invoked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_hooks: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentCircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentAlarms {
    #[serde(default)]
    pub alarm_names: Vec<String>,
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentStrategy {
    Rolling,
    BlueGreen,
}

/// Attaches the service's tasks to a load balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceLoadBalancer {
    /// Name of an ecsctl LoadBalancer in the same cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    /// An AWS target group ARN (kept from ECS JSON; ecsctl cannot attach to AWS target groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    /// Container of the task definition that receives traffic.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,255}$"))]
    pub container_name: String,
    pub container_port: Port,
    /// Blue/green settings (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_configuration: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementStrategy {
    #[serde(rename = "type")]
    pub strategy_type: PlacementStrategyType,
    /// spread: `instanceId` or `attribute:...`; binpack: `cpu` or `memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlacementStrategyType {
    Random,
    Spread,
    Binpack,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementConstraint {
    #[serde(rename = "type")]
    pub constraint_type: PlacementConstraintType,
    /// Cluster query language expression (memberOf only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PlacementConstraintType {
    #[serde(rename = "distinctInstance")]
    DistinctInstance,
    #[serde(rename = "memberOf")]
    MemberOf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LaunchType {
    Ec2,
    Fargate,
    External,
    ManagedInstances,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityProviderStrategyItem {
    pub capacity_provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Count>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: AwsVpcConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsVpcConfiguration {
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<EnabledDisabled>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchedulingStrategy {
    Replica,
    Daemon,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentController {
    #[serde(rename = "type")]
    pub controller_type: DeploymentControllerType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentControllerType {
    Ecs,
    CodeDeploy,
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PropagateTags {
    TaskDefinition,
    Service,
    None,
}

/// ECS's `serviceConnectConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceConnectConfiguration {
    pub enabled: bool,
    /// The Cloud Map namespace (kept; every task of the cluster shares one network locally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The ports this service offers; none for a client-only service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceConnectService>,
    /// The proxy's log configuration (there is no proxy locally; kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One port a service offers through Service Connect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceConnectService {
    /// The `name` of a portMappings entry of the task definition.
    pub port_name: String,
    /// The name other tasks resolve (default: portName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_name: Option<String>,
    /// Further names and ports clients use (dnsName defaults to the discovery name). Locally
    /// the port must be the container port: no proxy translates it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_aliases: Vec<ServiceConnectClientAlias>,
    /// The proxy's listening port (no proxy locally; kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_port_override: Option<Port>,
    /// Proxy timeouts (kept, not applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<serde_json::Map<String, serde_json::Value>>,
    /// Proxy TLS (kept, not applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A name and port by which clients reach a Service Connect service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceConnectClientAlias {
    pub port: Port,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// Blue/green test traffic rules (kept, not applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_traffic_rules: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ServiceConnectService {
    /// The name clients resolve when no alias names another: discoveryName, else portName.
    pub fn discovery(&self) -> &str {
        self.discovery_name.as_deref().unwrap_or(&self.port_name)
    }
}

impl ServiceConnectConfiguration {
    /// Every DNS name the service's tasks answer to, with the port clients use (`None`: the
    /// discovery name, which is reached on the container port itself), in order, once each.
    pub fn names(&self) -> Vec<(String, &str, Option<u16>)> {
        let mut out: Vec<(String, &str, Option<u16>)> = Vec::new();
        if !self.enabled {
            return out;
        }
        for s in &self.services {
            out.push((s.discovery().to_string(), &s.port_name, None));
            for a in &s.client_aliases {
                let name = a.dns_name.as_deref().unwrap_or(s.discovery());
                out.push((name.to_string(), &s.port_name, Some(a.port.get())));
            }
        }
        out
    }
}
