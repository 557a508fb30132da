//! ecsctl's container runtime: the [`ContainerRuntime`] trait that controllers program
//! against, [`DockerRuntime`] that drives the local Docker Engine through bollard, and
//! [`FakeRuntime`], a strict in-memory engine for controller tests.
//!
//! Only this crate names bollard: everything it exposes is in its own types
//! ([`ContainerSpec`], [`ContainerInfo`], [`RuntimeEvent`]...). Images are never pulled: a
//! missing image is [`RuntimeError::ImageNotFound`] at once.
//!
//! One contract test suite (`tests/contract`) runs against both runtimes, which keeps the
//! fake honest.
//!
//! ```
//! use std::time::Duration;
//! use ecsctl_runtime::{ContainerRuntime, ContainerSpec, ContainerState, FakeRuntime};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeRuntime::with_images(["busybox"]);
//! let rt: &dyn ContainerRuntime = &fake;
//! let id = rt.create(&ContainerSpec::new("web-1", "busybox")).await?;
//! rt.start(&id).await?;
//! fake.crash(&id, 3)?; // the process exits with code 3 behind the controller's back
//! let info = rt.inspect(&id).await?;
//! assert_eq!((info.state, info.exit_code), (ContainerState::Exited, Some(3)));
//! rt.stop(&id, Duration::from_secs(10)).await?; // already stopped: nothing to do
//! # Ok::<(), ecsctl_runtime::RuntimeError>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]

mod docker;
mod error;
mod fake;
mod runtime;
mod types;

pub use async_trait::async_trait;
pub use docker::DockerRuntime;
pub use error::{Result, RuntimeError};
pub use fake::{Call, FakeBehavior, FakeExec, FakeRuntime, FakeVolume, Op, SignalReaction};
pub use runtime::{BoxStream, ContainerRuntime};
pub use types::exec::{ExecChunk, ExecSession, ExecSpec};
pub use types::observed::{
    ContainerInfo, ContainerState, ContainerSummary, EventAction, ExecOutput, HealthStatus,
    LogLine, LogStream, MachineInfo, PortBinding, RuntimeEvent, Stats, VersionInfo, VolumeInfo,
};
pub use types::packet_filter::{
    Direction, FilterProtocol, FilterRule, Ipv4Net, Packet, PacketFilter,
};
pub use types::spec::{
    ContainerId, ContainerSpec, HealthSpec, LogSpec, MountSource, MountSpec, NetworkAttach,
    NetworkId, PortSpec, Protocol, Ulimit,
};

/// Label keys ecsctl puts on what it creates: the source of truth for ownership, read back
/// after a restart (tests outside the repository rely on these names).
pub mod labels {
    /// `true` on everything ecsctl manages.
    pub const MANAGED: &str = "ecsctl.managed";
    /// Cluster name.
    pub const CLUSTER: &str = "ecsctl.cluster";
    /// Task id.
    pub const TASK: &str = "ecsctl.task";
    /// Container name within the task definition.
    pub const CONTAINER: &str = "ecsctl.container";
    /// Task definition, `family:N`.
    pub const TASKDEF: &str = "ecsctl.taskdef";
    /// Service name, when a service owns the task.
    pub const SERVICE: &str = "ecsctl.service";
    /// Id of the ecsctl server (its data directory) that owns the container: two servers on
    /// one engine, or two test runs, never touch each other's containers. Also on the
    /// cluster networks a server makes (one per cluster and server).
    pub const INSTANCE: &str = "ecsctl.instance";
    /// `true` on the container that holds an awsvpc task's network namespace (the pause
    /// container): not one of the task's own containers.
    pub const NETNS: &str = "ecsctl.netns";
    /// On the Docker volumes ecsctl makes: the task definition's name of the volume (the
    /// Docker name is namespaced by server and cluster, or by task).
    pub const VOLUME: &str = "ecsctl.volume";
}
