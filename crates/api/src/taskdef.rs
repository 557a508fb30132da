//! TaskDefinition: ECS RegisterTaskDefinition input, field for field.
//!
//! Optional fields stay `Option` so that what a user wrote is what is stored (and what
//! `ecsctl diff` compares); the ECS defaults live in accessor methods.

use crate::units::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Spec of a TaskDefinition (ECS RegisterTaskDefinition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskDefinitionSpec {
    /// Task definition family; defaults to metadata.name. Each applied change of the spec
    /// registers a new revision `family:N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The containers of the task: 1..10.
    #[schemars(length(min = 1, max = 10))]
    pub container_definitions: Vec<ContainerDefinition>,
    /// Task-level CPU (1024 = 1 vCPU): a hard limit shared by the task's containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuUnits>,
    /// Task-level memory in MiB: a hard limit shared by the task's containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryMiB>,
    /// Docker networking mode of the containers (default bridge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<NetworkMode>,
    /// Volumes the containers may mount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// IAM role of the task's containers (kept; no AWS credentials are provided locally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// IAM role of the agent (kept; not used locally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    /// Launch types the definition is validated against (EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_compatibilities: Vec<Compatibility>,
    /// Placement constraints (memberOf expressions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement_constraints: Vec<TaskPlacementConstraint>,
    /// Process namespace: `host` or `task` (shared by the task's containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<PidMode>,
    /// IPC namespace: `host`, `task` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<IpcMode>,
    /// App Mesh proxy configuration (kept, not acted on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_configuration: Option<ProxyConfiguration>,
    /// Elastic Inference accelerators (kept, not available locally).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inference_accelerators: Vec<InferenceAccelerator>,
    /// Fargate ephemeral storage (21..200 GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// CPU architecture and OS family the task needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,
    /// Tags (kept as metadata).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Fault injection (kept, not acted on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_fault_injection: Option<bool>,
}

impl TaskDefinitionSpec {
    /// The networking mode, with ECS's default for Linux (bridge).
    pub fn network_mode(&self) -> NetworkMode {
        self.network_mode.unwrap_or(NetworkMode::Bridge)
    }
}

/// Docker networking modes ECS supports on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Docker's bridge network; host ports are per container, 0 = ephemeral.
    Bridge,
    /// The host's network stack; host port = container port.
    Host,
    /// One network namespace per task with its own IP; containers share localhost.
    Awsvpc,
    /// No external networking.
    None,
}

impl NetworkMode {
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
            NetworkMode::Awsvpc => "awsvpc",
            NetworkMode::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    Ec2,
    Fargate,
    External,
    ManagedInstances,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PidMode {
    Host,
    Task,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpcMode {
    Host,
    Task,
    None,
}

/// One container of a task (ECS ContainerDefinition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerDefinition {
    /// Container name, unique in the task: letters, digits, '_' and '-', up to 255.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,255}$"))]
    pub name: String,
    /// Image reference. Nothing is pulled: the image must exist in the local Docker engine.
    #[schemars(length(min = 1, max = 255))]
    pub image: String,
    /// Private registry credentials (kept; nothing is pulled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_credentials: Option<RepositoryCredentials>,
    /// CPU units reserved for the container (1024 = 1 vCPU), mapped to Docker CPU shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuUnits>,
    /// Hard memory limit in MiB: the container is killed above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryMiB>,
    /// Soft memory limit (reservation) in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<MemoryMiB>,
    /// Legacy links to other containers (bridge mode only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// Ports the container listens on and how they are published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    /// If an essential container stops, the whole task stops (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    /// Restart policy of a non-task-stopping container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// Overrides the image's ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    /// Overrides the image's CMD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<KeyValuePair>,
    /// Files of environment variables (S3 objects in ECS; kept, not fetched).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_files: Vec<EnvironmentFile>,
    /// Volumes mounted into the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountPoint>,
    /// Mounts all volumes of another container of the task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<VolumeFrom>,
    /// Linux-specific settings: capabilities, devices, init, shared memory, tmpfs, swap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
    /// Secrets injected as environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretRef>,
    /// Containers that must reach a condition before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ContainerDependency>,
    /// Seconds to wait for dependencies before giving up on the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<StartTimeout>,
    /// Seconds between SIGTERM and SIGKILL when the container is stopped (default 30, max 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<StopTimeout>,
    /// Whether the image tag is resolved to a digest once per deployment (enabled|disabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_consistency: Option<VersionConsistency>,
    /// Container hostname (not with awsvpc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// User (and group) the process runs as: `user`, `uid`, `user:group`, `uid:gid`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Working directory of the process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Turns networking off for the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_networking: Option<bool>,
    /// Runs the container privileged (refused unless the Cluster's policy allows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// Mounts the root filesystem read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,
    /// DNS servers of the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_servers: Vec<String>,
    /// DNS search domains of the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search_domains: Vec<String>,
    /// Entries added to /etc/hosts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<HostEntry>,
    /// Docker security options (`no-new-privileges`, `label:...`, `apparmor:...`, `credentialspec:...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docker_security_options: Vec<String>,
    /// Keeps stdin open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    /// Allocates a TTY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_terminal: Option<bool>,
    /// Docker labels added to the container (besides ecsctl's own).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,
    /// Resource limits (ulimits).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    /// Log driver and options. Output is always kept and readable with `ecsctl logs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    /// Container health check, mapped to a Docker health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Namespaced kernel parameters (sysctls).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_controls: Vec<SystemControl>,
    /// GPUs or inference accelerators (kept; not available locally).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_requirements: Vec<ResourceRequirement>,
    /// FireLens log router settings (kept, not acted on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens_configuration: Option<FirelensConfiguration>,
    /// Credential specs for gMSA (kept, not acted on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_specs: Vec<String>,
}

impl ContainerDefinition {
    /// ECS default: containers are essential unless they say otherwise.
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryCredentials {
    pub credentials_parameter: String,
}

/// A port the container listens on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortMapping {
    /// Port inside the container (required unless containerPortRange is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<Port>,
    /// Port on the host. bridge: omitted or 0 = an ephemeral port; host and awsvpc: must
    /// equal containerPort when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<HostPort>,
    /// tcp (default) or udp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Name of the port mapping (Service Connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Application protocol (http, http2, grpc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<AppProtocol>,
    /// A range of container ports, `"8000-8010"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{1,5}-[0-9]{1,5}$"))]
    pub container_port_range: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppProtocol {
    Http,
    Http2,
    Grpc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VersionConsistency {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartPolicy {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_exit_codes: Vec<i32>,
    /// Seconds a container must run before a restart is attempted (60..1800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 1800))]
    pub restart_attempt_period: Option<u32>,
}

/// A name/value pair (environment variables, proxy properties).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyValuePair {
    #[schemars(length(min = 1))]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentFile {
    pub value: String,
    /// Only `s3`.
    #[serde(rename = "type")]
    pub file_type: EnvironmentFileType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentFileType {
    S3,
}

/// Mounts a task volume into the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MountPoint {
    /// Name of a volume in the task definition's `volumes`.
    pub source_volume: String,
    /// Absolute path inside the container.
    pub container_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeFrom {
    /// Another container of the same task.
    pub source_container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinuxParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    /// Runs an init process (tini) as PID 1 that reaps zombies and forwards signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_process_enabled: Option<bool>,
    /// Size of /dev/shm in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_memory_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<Tmpfs>,
    /// Swap the container may use, in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_swap: Option<u32>,
    /// Swappiness 0..100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<Percent>,
}

/// Linux capabilities added to or dropped from Docker's default set (names without CAP_).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Device {
    pub host_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<DevicePermission>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DevicePermission {
    Read,
    Write,
    Mknod,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tmpfs {
    pub container_path: String,
    /// Size in MiB.
    pub size: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_options: Vec<String>,
}

/// A secret injected into the container's environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRef {
    /// Environment variable name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The secret: a Secret name, or an ECS ARN whose last segment is the name.
    #[schemars(length(min = 1))]
    pub value_from: String,
}

/// A start-up dependency on another container of the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerDependency {
    pub container_name: String,
    pub condition: DependencyCondition,
}

/// What a dependency waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DependencyCondition {
    /// The dependency has started.
    Start,
    /// The dependency has exited (any code). Not allowed on an essential container.
    Complete,
    /// The dependency has exited with code 0. Not allowed on an essential container.
    Success,
    /// The dependency's health check passed.
    Healthy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostEntry {
    pub hostname: String,
    pub ip_address: String,
}

/// A ulimit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ulimit {
    pub name: UlimitName,
    pub soft_limit: i64,
    pub hard_limit: i64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum UlimitName {
    Core,
    Cpu,
    Data,
    Fsize,
    Locks,
    Memlock,
    Msgqueue,
    Nice,
    Nofile,
    Nproc,
    Rss,
    Rtprio,
    Rttime,
    Sigpending,
    Stack,
}

/// Log driver and its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogConfiguration {
    pub log_driver: LogDriver,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_options: Vec<SecretRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    JsonFile,
    Syslog,
    Journald,
    Gelf,
    Fluentd,
    Awslogs,
    Splunk,
    Awsfirelens,
}

/// A container health check (Docker HEALTHCHECK).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheck {
    /// `["CMD", exe, args...]` or `["CMD-SHELL", "command line"]`.
    #[schemars(length(min = 1))]
    pub command: Vec<String>,
    /// Seconds between checks (5..300, default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<HealthInterval>,
    /// Seconds before a check counts as failed (2..60, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HealthTimeout>,
    /// Consecutive failures before UNHEALTHY (1..10, default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<HealthRetries>,
    /// Seconds after start during which failures do not count (0..300, default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<HealthStartPeriod>,
}

impl HealthCheck {
    pub fn interval_secs(&self) -> u32 {
        self.interval.map_or(30, |v| v.get())
    }
    pub fn timeout_secs(&self) -> u32 {
        self.timeout.map_or(5, |v| v.get())
    }
    pub fn retries(&self) -> u32 {
        self.retries.map_or(3, |v| v.get())
    }
    pub fn start_period_secs(&self) -> u32 {
        self.start_period.map_or(0, |v| v.get())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemControl {
    pub namespace: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceRequirement {
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ResourceType {
    #[serde(rename = "GPU")]
    Gpu,
    InferenceAccelerator,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirelensConfiguration {
    #[serde(rename = "type")]
    pub router_type: FirelensType,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FirelensType {
    Fluentd,
    Fluentbit,
}

/// A volume of the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    /// Name referenced by mountPoints[].sourceVolume.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,255}$"))]
    pub name: String,
    /// A bind mount of a host path; without sourcePath, a task-scoped anonymous volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolume>,
    /// A Docker volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
    /// An EFS file system (a local Docker volume stands in for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    /// FSx for Windows (not available on Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsx_windows_file_server_volume_configuration:
        Option<serde_json::Map<String, serde_json::Value>>,
    /// Whether the volume is configured at launch (EBS; not available locally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_at_launch: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostVolume {
    /// Absolute host path; `..` segments are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DockerVolumeConfiguration {
    /// `task` (removed with the task) or `shared` (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<VolumeScope>,
    /// Create the volume if it does not exist (shared scope only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovision: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VolumeScope {
    Task,
    Shared,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EfsVolumeConfiguration {
    pub file_system_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<EnabledDisabled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption_port: Option<Port>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EfsAuthorizationConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<EnabledDisabled>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum EnabledDisabled {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskPlacementConstraint {
    /// Only `memberOf`.
    #[serde(rename = "type")]
    pub constraint_type: TaskPlacementConstraintType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TaskPlacementConstraintType {
    #[serde(rename = "memberOf")]
    MemberOf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyConfiguration {
    /// Only `APPMESH`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub proxy_type: Option<ProxyType>,
    pub container_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<KeyValuePair>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProxyType {
    #[serde(rename = "APPMESH")]
    AppMesh,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InferenceAccelerator {
    pub device_name: String,
    pub device_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EphemeralStorage {
    pub size_in_gi_b: EphemeralGiB,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimePlatform {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<CpuArchitecture>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_family: Option<OsFamily>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CpuArchitecture {
    #[serde(rename = "X86_64")]
    X86_64,
    #[serde(rename = "ARM64")]
    Arm64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(non_camel_case_types)]
pub enum OsFamily {
    LINUX,
    WINDOWS_SERVER_2019_FULL,
    WINDOWS_SERVER_2019_CORE,
    WINDOWS_SERVER_2016_FULL,
    WINDOWS_SERVER_2004_CORE,
    WINDOWS_SERVER_2022_CORE,
    WINDOWS_SERVER_2022_FULL,
    WINDOWS_SERVER_2025_CORE,
    WINDOWS_SERVER_2025_FULL,
    WINDOWS_SERVER_20H2_CORE,
}

/// A key/value tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}
