//! What the engine reports: inspect results, list entries, events, stats, log lines.

use std::collections::BTreeMap;
use std::fmt;

use time::OffsetDateTime;

use super::spec::{ContainerId, Protocol};

/// State of a container, as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerState {
    /// Created, never started.
    Created,
    /// Its process runs.
    Running,
    /// Frozen.
    Paused,
    /// Being restarted by the engine's restart policy.
    Restarting,
    /// Its process ended; `exit_code` says how.
    Exited,
    /// The engine failed to stop or remove it.
    Dead,
    /// Being removed.
    Removing,
}

impl ContainerState {
    /// The container has a process (running, paused or restarting).
    pub fn is_alive(self) -> bool {
        matches!(self, Self::Running | Self::Paused | Self::Restarting)
    }

    /// Nothing runs and nothing will without a start (exited, dead, never started).
    pub fn is_stopped(self) -> bool {
        matches!(self, Self::Created | Self::Exited | Self::Dead)
    }

    /// Lowercase, as `docker ps` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Exited => "exited",
            Self::Dead => "dead",
            Self::Removing => "removing",
        }
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of the engine's health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthStatus {
    /// Checks have not passed yet (or the start period runs).
    Starting,
    /// The last check passed.
    Healthy,
    /// `retries` checks in a row failed.
    Unhealthy,
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        })
    }
}

/// A published port as bound on the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortBinding {
    /// Port inside the container.
    pub container_port: u16,
    /// Host address (`0.0.0.0`, `::`, or the one asked for).
    pub host_ip: String,
    /// Port on the host (the engine's pick for ephemeral ports).
    pub host_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
}

/// Everything `inspect` tells about one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerInfo {
    /// Full id.
    pub id: ContainerId,
    /// Name, without Docker's leading `/`.
    pub name: String,
    /// Image reference the container was created from.
    pub image: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Lifecycle state.
    pub state: ContainerState,
    /// Exit code once the process ended (`Exited`/`Dead`); `None` before.
    pub exit_code: Option<i64>,
    /// The kernel's OOM killer ended the process.
    pub oom_killed: bool,
    /// When the process last started.
    pub started_at: Option<OffsetDateTime>,
    /// When the process last ended.
    pub finished_at: Option<OffsetDateTime>,
    /// Health check result; `None` without a health check.
    pub health: Option<HealthStatus>,
    /// Bound host ports (known once the container runs).
    pub ports: Vec<PortBinding>,
    /// IP address by network name (`bridge`, a user network...).
    pub ip_addresses: BTreeMap<String, String>,
    /// Why the engine could not start it, if it said.
    pub error: Option<String>,
}

/// A volume as the engine shows it: enough to tell whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// The volume's name.
    pub name: String,
    /// Labels it was created with (none for a volume made implicitly by a container).
    pub labels: BTreeMap<String, String>,
}

/// One entry of `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    /// Full id.
    pub id: ContainerId,
    /// Name, without Docker's leading `/`.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Lifecycle state.
    pub state: ContainerState,
}

/// A container event from the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeEvent {
    /// The container it concerns.
    pub id: ContainerId,
    /// The container's name, when the engine says it.
    pub name: Option<String>,
    /// What happened.
    pub action: EventAction,
    /// The container's labels at the time of the event (Docker also adds its image's labels).
    pub labels: BTreeMap<String, String>,
    /// When it happened.
    pub time: OffsetDateTime,
}

/// What happened to a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    /// Created.
    Create,
    /// Its process started.
    Start,
    /// Its process ended.
    Die {
        /// The process's exit code (137 = SIGKILL).
        exit_code: i64,
    },
    /// The OOM killer struck (a `Die` follows).
    Oom,
    /// The health check result changed.
    HealthStatus(HealthStatus),
    /// Stopped through the API.
    Stop,
    /// A signal was sent through the API.
    Kill {
        /// The signal, as the engine names it.
        signal: Option<String>,
    },
    /// Frozen.
    Pause,
    /// Thawed.
    Unpause,
    /// Removed.
    Destroy,
    /// Anything else (`exec_start: ...`, `rename`...), as the engine names it.
    Other(String),
}

/// One resource usage sample of a container.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// CPU time used since the container started, in nanoseconds.
    pub cpu_total_ns: u64,
    /// Memory in use, page cache excluded (as `docker stats` shows it).
    pub memory_bytes: u64,
    /// Memory limit (the host's memory when the container has none).
    pub memory_limit_bytes: u64,
    /// When the reading was taken.
    pub at: OffsetDateTime,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line a container printed.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// stdout or stderr.
    pub stream: LogStream,
    /// The line, without its trailing newline.
    pub text: String,
    /// When the engine received it.
    pub timestamp: Option<OffsetDateTime>,
}

/// What a command run with `exec` did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// Its exit code.
    pub exit_code: i64,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

/// What the engine's host has, as `docker info` reports it: the ceiling of every memory
/// limit and of a Cluster's declared capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineInfo {
    /// CPUs the engine's host has.
    pub cpus: u32,
    /// Memory the engine's host has, in bytes.
    pub memory_bytes: u64,
}

/// The engine's version, from `ping`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// Engine version (`20.10.24`...).
    pub version: String,
    /// API version in use after negotiation (`1.41`...).
    pub api_version: String,
    /// Operating system (`linux`).
    pub os: String,
    /// Architecture (`amd64`).
    pub arch: String,
}
