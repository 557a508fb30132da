//! The [`ContainerRuntime`] trait: everything controllers may ask of a container engine.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures::{Stream, StreamExt, stream};

use crate::error::Result;
use crate::types::exec::{ExecSession, ExecSpec};
use crate::types::observed::{
    ContainerInfo, ContainerSummary, ExecOutput, LogLine, MachineInfo, RuntimeEvent, Stats,
    VersionInfo, VolumeInfo,
};
use crate::types::packet_filter::PacketFilter;
use crate::types::spec::{ContainerId, ContainerSpec, NetworkId};

/// A boxed, sendable stream, as the runtime's streaming calls return.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send + 'static>>;

/// A container engine, in ecsctl's own types. Object-safe: controllers hold an
/// `Arc<dyn ContainerRuntime>` and tests hand them a [`crate::FakeRuntime`].
///
/// Wherever an id is taken, a container name works too. Every call is independent: an
/// engine that went away makes calls fail with [`crate::RuntimeError::Unavailable`] and the
/// next call connects again.
#[async_trait]
pub trait ContainerRuntime: Send + Sync + fmt::Debug {
    /// Checks that the engine answers and says which version it runs.
    async fn ping(&self) -> Result<VersionInfo>;

    /// The CPUs and memory of the engine's host: no container may be given more memory,
    /// nor a Cluster declare more capacity.
    async fn machine(&self) -> Result<MachineInfo>;

    /// Whether the image is present locally (nothing is ever pulled).
    async fn image_exists(&self, image: &str) -> Result<bool>;

    /// Makes an image from a root filesystem tar (`docker import`), with `entrypoint` as its
    /// ENTRYPOINT. ecsctl builds the images it needs itself: nothing is ever pulled.
    async fn import_image(
        &self,
        reference: &str,
        rootfs_tar: Vec<u8>,
        entrypoint: &[String],
    ) -> Result<()>;

    /// Creates a container (not started). A missing image fails fast with
    /// [`crate::RuntimeError::ImageNotFound`] naming it; a taken name with
    /// [`crate::RuntimeError::Conflict`].
    async fn create(&self, spec: &ContainerSpec) -> Result<ContainerId>;

    /// Starts a created or exited container; starting a running one does nothing.
    async fn start(&self, id: &ContainerId) -> Result<()>;

    /// Sends the container's stop signal (SIGTERM by default), waits up to `timeout`, then
    /// SIGKILL. Returns once the process is gone; stopping a stopped container does nothing.
    async fn stop(&self, id: &ContainerId, timeout: Duration) -> Result<()>;

    /// Sends a signal (`SIGKILL`, `TERM`, `9`...). [`crate::RuntimeError::Conflict`] when
    /// the container does not run.
    async fn kill(&self, id: &ContainerId, signal: &str) -> Result<()>;

    /// Removes a container (and its anonymous volumes). Without `force` a running one is a
    /// [`crate::RuntimeError::Conflict`]; an unknown one is
    /// [`crate::RuntimeError::NotFound`].
    async fn remove(&self, id: &ContainerId, force: bool) -> Result<()>;

    /// Everything the engine knows about one container.
    async fn inspect(&self, id: &ContainerId) -> Result<ContainerInfo>;

    /// Containers carrying every label in `label_filter` (exact values); stopped ones too
    /// when `all`.
    async fn list(
        &self,
        label_filter: &BTreeMap<String, String>,
        all: bool,
    ) -> Result<Vec<ContainerSummary>>;

    /// Container events from now on, for containers carrying every label in `label_filter`.
    /// Events that happen after this call returns are delivered even if the stream is
    /// polled later. The stream ends after an `Err` (engine gone, consumer lagging): call
    /// again and resynchronise with [`ContainerRuntime::list`].
    fn events(&self, label_filter: &BTreeMap<String, String>) -> BoxStream<Result<RuntimeEvent>>;

    /// One reading of the container's resource counters, taken now. Rates (CPU %) are the
    /// caller's to compute from two readings: a one-shot reading costs the engine one cgroup
    /// read, where a kept-open stats stream costs it a collection every second per container.
    async fn stats(&self, id: &ContainerId) -> Result<Stats>;

    /// What the container printed: the last `tail` lines (all when `None`), then, with
    /// `follow`, new lines until the container stops.
    fn logs(
        &self,
        id: &ContainerId,
        follow: bool,
        tail: Option<usize>,
    ) -> BoxStream<Result<LogLine>>;

    /// Runs a command in a running container and waits for it to end.
    async fn exec(&self, id: &ContainerId, cmd: &[String]) -> Result<ExecOutput>;

    /// Starts a command in a running container with its streams attached (`ecsctl exec`):
    /// returns once it runs. [`crate::RuntimeError::Conflict`] when the container does not
    /// run. A command that cannot be run still starts a session: its output says why and
    /// its exit code is the engine's (126 on Docker 20.10).
    async fn exec_attach(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession>;

    /// Resizes the terminal of an exec started with `tty` (columns, rows).
    async fn exec_resize(&self, exec_id: &str, cols: u16, rows: u16) -> Result<()>;

    /// The exit code of an exec whose output has ended (an engine that records it a moment
    /// later is waited for, briefly); `None` if it still runs.
    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>>;

    /// Returns the network with that name, creating a bridge network with `labels` if
    /// there is none. Idempotent.
    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<NetworkId>;

    /// Removes a network by name or id. [`crate::RuntimeError::NotFound`] when unknown,
    /// [`crate::RuntimeError::Conflict`] while containers use it.
    async fn remove_network(&self, name: &str) -> Result<()>;

    /// Creates a local volume; an existing volume of that name is left as it is.
    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        driver_opts: &BTreeMap<String, String>,
    ) -> Result<()>;

    /// Removes a volume. [`crate::RuntimeError::NotFound`] when unknown,
    /// [`crate::RuntimeError::Conflict`] while a container uses it.
    async fn remove_volume(&self, name: &str) -> Result<()>;

    /// One volume's name and labels; [`crate::RuntimeError::NotFound`] when there is none.
    async fn inspect_volume(&self, name: &str) -> Result<VolumeInfo>;

    /// The volumes carrying every label in `label_filter` (exact values).
    async fn list_volumes(
        &self,
        label_filter: &BTreeMap<String, String>,
    ) -> Result<Vec<VolumeInfo>>;

    // Packet filters of network namespaces (security groups).

    /// The gateway of a network (the host's own address on it), if it has one: traffic
    /// from there is the host's (the built-in load balancer, health checks).
    async fn network_gateway(&self, name: &str) -> Result<Option<std::net::Ipv4Addr>>;

    /// Replaces the whole packet filter of a running container's network namespace with
    /// `filter`, at once (never a moment without one). It goes with the namespace: a
    /// container that stops takes it along. [`crate::RuntimeError::NotFound`] for an
    /// unknown container, [`crate::RuntimeError::Conflict`] when it does not run,
    /// [`crate::RuntimeError::Unsupported`] when this runtime cannot reach its namespace.
    async fn load_packet_filter(&self, id: &ContainerId, filter: &PacketFilter) -> Result<()>;
}

/// Passes items through up to and including the first error, then ends without polling
/// the source again (which might never yield: a broadcast with no more messages).
pub(crate) fn end_after_error<T, S>(s: S) -> BoxStream<Result<T>>
where
    T: Send + 'static,
    S: Stream<Item = Result<T>> + Send + 'static,
{
    stream::unfold(Some(s.boxed()), |source| async move {
        let mut source = source?;
        let item = source.next().await?;
        let rest = item.is_ok().then_some(source);
        Some((item, rest))
    })
    .boxed()
}
