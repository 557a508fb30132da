//! What to create: [`ContainerSpec`] and its parts, in our own words (no engine types).
//!
//! Field names follow Docker's where Docker has the concept; units are in the name
//! (`memory_bytes`, `stop_timeout_secs`) so a reader never has to guess.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;

/// The engine's id of a container (Docker: 64 hex digits). Runtimes also accept a
/// container name wherever an id is taken.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContainerId(pub String);

impl ContainerId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 characters, as `docker ps` shows them.
    pub fn short(&self) -> &str {
        self.0.get(..12).unwrap_or(&self.0)
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for ContainerId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for ContainerId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl AsRef<str> for ContainerId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The engine's id of a network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NetworkId(pub String);

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything needed to create one container. Build it with struct update syntax from
/// [`ContainerSpec::new`]: `ContainerSpec { command: Some(..), ..ContainerSpec::new(name, image) }`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// Container name: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, unique on the engine.
    pub name: String,
    /// Image reference; it must already be present (nothing is ever pulled).
    pub image: String,
    /// Labels; ecsctl's ownership labels (`crate::labels`) go here.
    pub labels: BTreeMap<String, String>,
    /// Environment variables, in order.
    pub env: Vec<(String, String)>,
    /// Replaces the image's CMD.
    pub command: Option<Vec<String>>,
    /// Replaces the image's ENTRYPOINT.
    pub entrypoint: Option<Vec<String>>,
    /// Working directory of the process.
    pub working_dir: Option<String>,
    /// `user`, `user:group`, `uid` or `uid:gid`.
    pub user: Option<String>,
    /// Published ports (not with [`NetworkAttach::Container`] or [`NetworkAttach::None`];
    /// ignored by Docker with [`NetworkAttach::Host`]).
    pub ports: Vec<PortSpec>,
    /// Which network namespace the container joins.
    pub network: NetworkAttach,
    /// Relative CPU weight (Docker `--cpu-shares`; ECS container `cpu`).
    pub cpu_shares: Option<u64>,
    /// Hard CPU limit in billionths of a CPU (Docker `--cpus` x 1e9).
    pub nano_cpus: Option<i64>,
    /// Hard memory limit (ECS `memory`).
    pub memory_bytes: Option<i64>,
    /// Soft memory limit (ECS `memoryReservation`).
    pub memory_reservation_bytes: Option<i64>,
    /// The engine's health check.
    pub health_check: Option<HealthSpec>,
    /// Bind mounts, volumes and tmpfs.
    pub mounts: Vec<MountSpec>,
    /// Resource limits (`nofile`, `nproc`...).
    pub ulimits: Vec<Ulimit>,
    /// Mount the root filesystem read-only.
    pub readonly_rootfs: bool,
    /// Run privileged.
    pub privileged: bool,
    /// Linux capabilities to add (`NET_ADMIN`...).
    pub cap_add: Vec<String>,
    /// Linux capabilities to drop.
    pub cap_drop: Vec<String>,
    /// Run an init process as PID 1 that forwards signals and reaps zombies.
    pub init: Option<bool>,
    /// Default grace period for `docker stop` of this container.
    pub stop_timeout_secs: Option<i64>,
    /// Signal that stops the container (default `SIGTERM`).
    pub stop_signal: Option<String>,
    /// Extra `/etc/hosts` entries: (hostname, ip).
    pub extra_hosts: Vec<(String, String)>,
    /// DNS servers.
    pub dns: Vec<String>,
    /// Hostname inside the container.
    pub hostname: Option<String>,
    /// Allocate a pseudo-TTY.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Size of `/dev/shm`.
    pub shm_size: Option<i64>,
    /// Most processes and threads the container may run (Docker `--pids-limit`).
    pub pids_limit: Option<i64>,
    /// Namespaced kernel parameters.
    pub sysctls: BTreeMap<String, String>,
    /// Security options (`no-new-privileges`, seccomp/apparmor profiles...).
    pub security_opt: Vec<String>,
    /// Where output goes. Always Docker's `json-file`, so logs stay readable through the API.
    pub log: LogSpec,
}

impl ContainerSpec {
    /// A spec with a name and an image and everything else at its default.
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            ..Self::default()
        }
    }

    /// Checks what the runtimes reject before asking the engine, so that Docker and the
    /// fake fail the same way: [`RuntimeError::InvalidSpec`] saying what is wrong.
    pub fn validate(&self) -> Result<(), RuntimeError> {
        let invalid = |m: String| Err(RuntimeError::InvalidSpec(m));
        if !valid_container_name(&self.name) {
            return invalid(format!(
                "container name {:?} must match [a-zA-Z0-9][a-zA-Z0-9_.-]+",
                self.name
            ));
        }
        if self.image.trim().is_empty() {
            return invalid(format!("container {}: image is empty", self.name));
        }
        for (k, _) in &self.env {
            if k.is_empty() || k.contains('=') {
                return invalid(format!(
                    "environment variable name {k:?} is empty or has '='"
                ));
            }
        }
        for p in &self.ports {
            if p.container_port == 0 {
                return invalid("container port 0".to_owned());
            }
        }
        let shares_namespace = matches!(
            self.network,
            NetworkAttach::Container(_) | NetworkAttach::None
        );
        if shares_namespace && !self.ports.is_empty() {
            return invalid(format!(
                "container {}: ports cannot be published with network mode {}",
                self.name, self.network
            ));
        }
        if matches!(self.network, NetworkAttach::Container(_))
            && (self.hostname.is_some() || !self.dns.is_empty() || !self.extra_hosts.is_empty())
        {
            return invalid(format!(
                "container {}: hostname, dns and extra hosts belong to the container that owns the network namespace",
                self.name
            ));
        }
        if let NetworkAttach::Named { network, .. } = &self.network
            && network.trim().is_empty()
        {
            return invalid("network name is empty".to_owned());
        }
        for m in &self.mounts {
            if !m.target.starts_with('/') {
                return invalid(format!("mount target {:?} is not absolute", m.target));
            }
            match &m.source {
                MountSource::Bind(p) if !p.is_absolute() => {
                    return invalid(format!("bind source {} is not absolute", p.display()));
                }
                MountSource::Volume(v) if v.is_empty() => {
                    return invalid("volume name is empty".to_owned());
                }
                _ => {}
            }
        }
        if let Some(h) = &self.health_check
            && h.test.is_empty()
        {
            return invalid("health check test is empty".to_owned());
        }
        Ok(())
    }
}

/// Docker's container name rule (without the leading `/` it stores).
fn valid_container_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    name.len() >= 2 && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortSpec {
    /// Port inside the container.
    pub container_port: u16,
    /// Port on the host; `None` or `Some(0)` lets the engine pick a free one (read it back
    /// with `inspect` once the container runs).
    pub host_port: Option<u16>,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Host address to bind; `None` binds every address.
    pub host_ip: Option<String>,
}

impl PortSpec {
    /// A TCP port on an ephemeral host port on every address.
    pub fn tcp(container_port: u16) -> Self {
        Self {
            container_port,
            host_port: None,
            protocol: Protocol::Tcp,
            host_ip: None,
        }
    }
}

/// Transport protocol of a port.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`, as Docker writes it in `80/tcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which network namespace a container joins (ECS `networkMode`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum NetworkAttach {
    /// Docker's default bridge (ECS `bridge`).
    #[default]
    Bridge,
    /// The host's namespace (ECS `host`).
    Host,
    /// Loopback only (ECS `none`).
    None,
    /// Another container's namespace (ECS `awsvpc`: one namespace per task, its containers
    /// reach each other on localhost). That container must be running when this one starts.
    Container(ContainerId),
    /// A user-defined network (see `ensure_network`), reachable by DNS under `aliases`.
    Named {
        /// Network name.
        network: String,
        /// DNS names of the container on that network.
        aliases: Vec<String>,
    },
}

impl fmt::Display for NetworkAttach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bridge => f.write_str("bridge"),
            Self::Host => f.write_str("host"),
            Self::None => f.write_str("none"),
            Self::Container(id) => write!(f, "container:{id}"),
            Self::Named { network, .. } => f.write_str(network),
        }
    }
}
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HealthSpec {
    /// `["CMD", exe, args...]`, `["CMD-SHELL", "script"]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Time between checks.
    pub interval: Duration,
    /// Time one check may take.
    pub timeout: Duration,
    /// Consecutive failures before the container is unhealthy.
    pub retries: u32,
    /// Failures during this time after start do not count.
    pub start_period: Duration,
}

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MountSpec {
    /// What is mounted.
    pub source: MountSource,
    /// Absolute path inside the container.
    pub target: String,
    /// Mount read-only.
    pub read_only: bool,
}

/// Where a mount comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MountSource {
    /// A host path (absolute; it must exist on Docker).
    Bind(PathBuf),
    /// A named volume (created on first use if absent).
    Volume(String),
    /// An in-memory filesystem of at most `size` bytes.
    Tmpfs {
        /// Size limit in bytes; `None` is the engine's default.
        size: Option<i64>,
    },
}

/// One resource limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ulimit {
    /// Name as Docker spells it (`nofile`, `nproc`, `core`...).
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// Log rotation for Docker's `json-file` driver.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogSpec {
    /// Size of one log file before it rotates.
    pub max_size_bytes: u64,
    /// Number of files kept.
    pub max_files: u32,
}

impl Default for LogSpec {
    fn default() -> Self {
        Self {
            max_size_bytes: 10 * 1024 * 1024,
            max_files: 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker_rules() {
        assert!(valid_container_name("web-1_a.b"));
        assert!(!valid_container_name("a"));
        assert!(!valid_container_name("-web"));
        assert!(!valid_container_name("web/1"));
        assert!(!valid_container_name(""));
    }

    #[test]
    fn ports_with_a_shared_namespace_are_rejected() {
        let spec = ContainerSpec {
            ports: vec![PortSpec::tcp(80)],
            network: NetworkAttach::Container("abc".into()),
            ..ContainerSpec::new("web", "img")
        };
        assert!(matches!(spec.validate(), Err(RuntimeError::InvalidSpec(_))));
    }

    #[test]
    fn relative_mounts_are_rejected() {
        let spec = ContainerSpec {
            mounts: vec![MountSpec {
                source: MountSource::Bind("data".into()),
                target: "/data".into(),
                read_only: false,
            }],
            ..ContainerSpec::new("web", "img")
        };
        assert!(matches!(spec.validate(), Err(RuntimeError::InvalidSpec(_))));
        assert!(ContainerSpec::new("web", "img").validate().is_ok());
    }
}
