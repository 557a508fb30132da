//! [`DockerRuntime`]: the [`ContainerRuntime`] on the local Docker Engine, through bollard.
//!
//! The connection is made lazily and kept; any connection-level failure drops it, so the
//! call after an engine restart connects (and negotiates the API version) again.

mod convert;
mod errors;
mod exec;
mod packet_filter;
mod streams;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, InspectNetworkOptions, KillContainerOptions, ListContainersOptions,
    ListVolumesOptions, RemoveContainerOptions, RemoveVolumeOptions, StopContainerOptions,
};
use futures::StreamExt;
use tracing::debug;

use self::errors::Subject;
use crate::error::{Result, RuntimeError};
use crate::runtime::{BoxStream, ContainerRuntime};
use crate::types::exec::{ExecSession, ExecSpec};
use crate::types::observed::{
    ContainerInfo, ContainerSummary, ExecOutput, LogLine, MachineInfo, RuntimeEvent, Stats,
    VersionInfo, VolumeInfo,
};
use crate::types::packet_filter::PacketFilter;
use crate::types::spec::{ContainerId, ContainerSpec, NetworkId};

/// How long an ordinary engine call may take before the engine counts as unavailable.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// bollard's own per-request timeout; ours ([`DEFAULT_CALL_TIMEOUT`], or the stop grace
/// period plus that) is the one that matters, so this only has to be longer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3600);

/// The Docker Engine, reached through `DOCKER_HOST` (unix:// or tcp://) or the default
/// socket. Cheap to clone: clones share the connection.
#[derive(Debug, Clone)]
pub struct DockerRuntime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `None`: `DOCKER_HOST`, else the default socket.
    host: Option<String>,
    /// The negotiated client; `None` until the first call and after a connection failure.
    /// A std mutex: it is never held across an await.
    client: Mutex<Option<Docker>>,
    /// Serialises `ensure_network`: Docker allows two networks with one name.
    network_lock: tokio::sync::Mutex<()>,
    call_timeout: Duration,
    /// The last `docker info` answer about the machine, and when: every task start asks,
    /// and `docker info` gathers much more than CPUs and memory (the engine runs `runc` and
    /// `docker-init` to learn their versions). An async mutex held across the one call:
    /// tasks starting together wait for that answer instead of each asking.
    machine: tokio::sync::Mutex<Option<(std::time::Instant, MachineInfo)>>,
}

/// How long the machine's CPUs and memory are taken as known.
const MACHINE_TTL: Duration = Duration::from_secs(60);

impl DockerRuntime {
    /// A runtime for `DOCKER_HOST` (or the default socket) that connects on first use.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// A runtime for an explicit engine address (`unix:///var/run/docker.sock`,
    /// `tcp://127.0.0.1:2375`) that connects on first use.
    pub fn with_host(host: impl Into<String>) -> Self {
        Self::build(Some(host.into()))
    }

    /// Connects to `DOCKER_HOST` (or the default socket) now and negotiates the API version:
    /// [`RuntimeError::Unavailable`] when the engine does not answer.
    pub async fn connect() -> Result<Self> {
        let rt = Self::new();
        rt.client().await?;
        Ok(rt)
    }

    /// Sets how long one engine call may take (the stop grace period comes on top).
    pub fn with_call_timeout(self, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                host: self.inner.host.clone(),
                client: Mutex::new(None),
                network_lock: tokio::sync::Mutex::new(()),
                call_timeout: timeout,
                machine: tokio::sync::Mutex::const_new(None),
            }),
        }
    }

    fn build(host: Option<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                host,
                client: Mutex::new(None),
                network_lock: tokio::sync::Mutex::new(()),
                call_timeout: DEFAULT_CALL_TIMEOUT,
                machine: tokio::sync::Mutex::const_new(None),
            }),
        }
    }

    /// The connected client, connecting and negotiating first when there is none.
    async fn client(&self) -> Result<Docker> {
        if let Some(docker) = self.cached() {
            return Ok(docker);
        }
        let docker = match &self.inner.host {
            Some(host) => Docker::connect_with_host(host),
            None => Docker::connect_with_defaults(),
        }
        .map_err(|e| errors::map(e, Subject::Engine))?
        .with_timeout(CLIENT_TIMEOUT);
        let negotiate = docker.negotiate_version();
        let docker = match tokio::time::timeout(self.inner.call_timeout, negotiate).await {
            Ok(r) => r.map_err(|e| RuntimeError::Unavailable(e.to_string()))?,
            Err(_) => {
                return Err(RuntimeError::Unavailable(
                    "engine did not answer the version negotiation".to_owned(),
                ));
            }
        };
        debug!(api_version = %docker.client_version(), "connected to the Docker engine");
        if let Ok(mut slot) = self.inner.client.lock() {
            *slot = Some(docker.clone());
        }
        Ok(docker)
    }

    fn cached(&self) -> Option<Docker> {
        self.inner.client.lock().ok().and_then(|c| c.clone())
    }

    /// Forgets the connection so that the next call makes a new one.
    fn disconnect(&self) {
        if let Ok(mut slot) = self.inner.client.lock() {
            *slot = None;
        }
    }

    /// Runs one engine call with a deadline, mapping its error; connection failures drop
    /// the client.
    async fn call<T, F, Fut>(&self, subject: Subject<'_>, extra: Duration, f: F) -> Result<T>
    where
        F: FnOnce(Docker) -> Fut,
        Fut: Future<Output = std::result::Result<T, bollard::errors::Error>>,
    {
        let docker = self.client().await?;
        let result = match tokio::time::timeout(self.inner.call_timeout + extra, f(docker)).await {
            Ok(r) => r.map_err(|e| errors::map(e, subject)),
            Err(_) => Err(RuntimeError::Unavailable(format!(
                "engine did not answer within {:?}",
                self.inner.call_timeout + extra
            ))),
        };
        self.note(result)
    }

    /// Drops the connection after a connection-level failure.
    fn note<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(RuntimeError::Unavailable(_)) = &result {
            self.disconnect();
        }
        result
    }
}

impl Default for DockerRuntime {
    fn default() -> Self {
        Self::new()
    }
}

fn hash_map(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// How often, and how far apart, a container SIGKILLed just now is inspected again for
/// Docker's late OOM flag (at most 200 ms in all).
const OOM_SETTLE_TRIES: usize = 4;
const OOM_SETTLE_STEP: Duration = Duration::from_millis(50);

/// Whether the container ended by SIGKILL (exit 137) within the last second, not (yet)
/// marked as OOM-killed.
fn just_sigkilled(info: &ContainerInfo) -> bool {
    info.exit_code == Some(137)
        && !info.oom_killed
        && info
            .finished_at
            .is_some_and(|t| time::OffsetDateTime::now_utc() - t < time::Duration::seconds(1))
}

impl DockerRuntime {
    async fn inspect_once(&self, id: &ContainerId) -> Result<ContainerInfo> {
        let r = self
            .call(
                Subject::Container(id.as_str()),
                Duration::ZERO,
                |d| async move { d.inspect_container(id.as_str(), None).await },
            )
            .await?;
        Ok(convert::container_info(r))
    }
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    async fn ping(&self) -> Result<VersionInfo> {
        let v = self
            .call(Subject::Engine, Duration::ZERO, |d| async move {
                d.version().await
            })
            .await?;
        let api_version = self
            .cached()
            .map(|d| d.client_version().to_string())
            .or(v.api_version)
            .unwrap_or_default();
        Ok(VersionInfo {
            version: v.version.unwrap_or_default(),
            api_version,
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
        })
    }

    async fn machine(&self) -> Result<MachineInfo> {
        let mut cached = self.inner.machine.lock().await;
        if let Some((at, m)) = *cached
            && at.elapsed() < MACHINE_TTL
        {
            return Ok(m);
        }
        let info = self
            .call(Subject::Engine, Duration::ZERO, |d| async move {
                d.info().await
            })
            .await?;
        let positive = |v: Option<i64>| v.and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0);
        match (positive(info.ncpu), positive(info.mem_total)) {
            (Some(cpus), Some(memory_bytes)) => {
                let m = MachineInfo {
                    cpus: u32::try_from(cpus).unwrap_or(u32::MAX),
                    memory_bytes,
                };
                *cached = Some((std::time::Instant::now(), m));
                Ok(m)
            }
            _ => Err(RuntimeError::Other(
                "the engine did not report its CPUs and memory (docker info: NCPU, MemTotal)"
                    .to_owned(),
            )),
        }
    }

    async fn image_exists(&self, image: &str) -> Result<bool> {
        let r = self
            .call(Subject::Engine, Duration::ZERO, |d| async move {
                d.inspect_image(image).await
            })
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(RuntimeError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn import_image(
        &self,
        reference: &str,
        rootfs_tar: Vec<u8>,
        entrypoint: &[String],
    ) -> Result<()> {
        let (repo, tag) = match reference.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
            _ => (reference.to_string(), "latest".to_string()),
        };
        let entry = serde_json::to_string(entrypoint)
            .map_err(|e| RuntimeError::InvalidSpec(e.to_string()))?;
        let options = bollard::query_parameters::CreateImageOptions {
            from_src: Some("-".to_string()),
            repo: Some(repo),
            tag: Some(tag),
            changes: vec![format!("ENTRYPOINT {entry}")],
            ..Default::default()
        };
        let body = bytes::Bytes::from(rootfs_tar);
        self.call(Subject::Engine, Duration::ZERO, |d| async move {
            let mut progress = d.create_image(Some(options), Some(bollard::body_full(body)), None);
            while let Some(item) = progress.next().await {
                item?;
            }
            Ok(())
        })
        .await
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<ContainerId> {
        spec.validate()?;
        let body = convert::create_body(spec);
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let subject = Subject::Create {
            name: &spec.name,
            image: &spec.image,
        };
        let r = self
            .call(subject, Duration::ZERO, |d| async move {
                d.create_container(Some(options), body).await
            })
            .await?;
        debug!(container = %spec.name, id = %r.id, "created container");
        Ok(ContainerId(r.id))
    }

    async fn start(&self, id: &ContainerId) -> Result<()> {
        self.call(
            Subject::Container(id.as_str()),
            Duration::ZERO,
            |d| async move { d.start_container(id.as_str(), None).await },
        )
        .await
    }

    async fn stop(&self, id: &ContainerId, timeout: Duration) -> Result<()> {
        let secs = i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptions {
            t: Some(secs),
            ..Default::default()
        };
        self.call(Subject::Container(id.as_str()), timeout, |d| async move {
            d.stop_container(id.as_str(), Some(options)).await
        })
        .await
    }

    async fn kill(&self, id: &ContainerId, signal: &str) -> Result<()> {
        let options = KillContainerOptions {
            signal: signal.to_owned(),
        };
        self.call(
            Subject::Container(id.as_str()),
            Duration::ZERO,
            |d| async move { d.kill_container(id.as_str(), Some(options)).await },
        )
        .await
    }

    async fn remove(&self, id: &ContainerId, force: bool) -> Result<()> {
        let options = RemoveContainerOptions {
            force,
            v: true,
            ..Default::default()
        };
        self.call(
            Subject::Container(id.as_str()),
            Duration::ZERO,
            |d| async move { d.remove_container(id.as_str(), Some(options)).await },
        )
        .await
    }

    async fn inspect(&self, id: &ContainerId) -> Result<ContainerInfo> {
        // Docker marks an OOM kill when containerd's OOM event arrives, which on a loaded
        // machine can be after the exit: for a moment the container shows exit 137 and
        // OOMKilled false, then true. A container SIGKILLed just now is asked again, briefly,
        // so that the task says OutOfMemoryError rather than a bare 137.
        let mut info = self.inspect_once(id).await?;
        for _ in 0..OOM_SETTLE_TRIES {
            if !just_sigkilled(&info) {
                break;
            }
            tokio::time::sleep(OOM_SETTLE_STEP).await;
            info = self.inspect_once(id).await?;
        }
        Ok(info)
    }

    async fn list(
        &self,
        label_filter: &BTreeMap<String, String>,
        all: bool,
    ) -> Result<Vec<ContainerSummary>> {
        let mut filters = HashMap::new();
        if !label_filter.is_empty() {
            filters.insert("label".to_owned(), convert::label_filters(label_filter));
        }
        let options = ListContainersOptions {
            all,
            filters: Some(filters),
            ..Default::default()
        };
        let r = self
            .call(Subject::Engine, Duration::ZERO, |d| async move {
                d.list_containers(Some(options)).await
            })
            .await?;
        Ok(r.into_iter().map(convert::container_summary).collect())
    }

    fn events(&self, label_filter: &BTreeMap<String, String>) -> BoxStream<Result<RuntimeEvent>> {
        streams::events(self.clone(), label_filter.clone())
    }

    async fn stats(&self, id: &ContainerId) -> Result<Stats> {
        let options = bollard::query_parameters::StatsOptions {
            stream: false,
            one_shot: true,
        };
        let sample = self
            .call(
                Subject::Container(id.as_str()),
                Duration::ZERO,
                |d| async move { d.stats(id.as_str(), Some(options)).next().await.transpose() },
            )
            .await?;
        sample.map(convert::stats).ok_or_else(|| {
            RuntimeError::Other(format!("the engine sent no stats for container {id}"))
        })
    }

    fn logs(
        &self,
        id: &ContainerId,
        follow: bool,
        tail: Option<usize>,
    ) -> BoxStream<Result<LogLine>> {
        streams::logs(self.clone(), id.clone(), follow, tail)
    }

    async fn exec(&self, id: &ContainerId, cmd: &[String]) -> Result<ExecOutput> {
        let subject = Subject::Container(id.as_str());
        let config = CreateExecOptions {
            cmd: Some(cmd.to_vec()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let created = self
            .call(subject, Duration::ZERO, |d| async move {
                d.create_exec(id.as_str(), config).await
            })
            .await?;
        let docker = self.client().await?;
        let started = docker.start_exec(&created.id, None).await;
        let mut out = ExecOutput::default();
        if let StartExecResults::Attached { mut output, .. } =
            self.note(started.map_err(|e| errors::map(e, Subject::Engine)))?
        {
            while let Some(chunk) = output.next().await {
                match self.note(chunk.map_err(|e| errors::map(e, Subject::Engine)))? {
                    bollard::container::LogOutput::StdErr { message } => {
                        out.stderr.push_str(&String::from_utf8_lossy(&message));
                    }
                    other => out
                        .stdout
                        .push_str(&String::from_utf8_lossy(&other.into_bytes())),
                }
            }
        }
        let exec_id = created.id;
        let inspected = self
            .call(Subject::Engine, Duration::ZERO, |d| async move {
                d.inspect_exec(&exec_id).await
            })
            .await?;
        out.exit_code = inspected.exit_code.unwrap_or(-1);
        Ok(out)
    }

    async fn exec_attach(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession> {
        self.attach_exec(id, spec).await
    }

    async fn exec_resize(&self, exec_id: &str, cols: u16, rows: u16) -> Result<()> {
        self.resize_exec(exec_id, cols, rows).await
    }

    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>> {
        self.exec_exit(exec_id).await
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<NetworkId> {
        let _serialised = self.inner.network_lock.lock().await;
        let existing = self
            .call(Subject::Network(name), Duration::ZERO, |d| async move {
                d.inspect_network(name, None::<InspectNetworkOptions>).await
            })
            .await;
        match existing {
            Ok(n) => return Ok(NetworkId(n.id.unwrap_or_default())),
            Err(RuntimeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".to_owned()),
            labels: Some(hash_map(labels)),
            ..Default::default()
        };
        let created = self
            .call(Subject::Network(name), Duration::ZERO, |d| async move {
                d.create_network(request).await
            })
            .await?;
        debug!(network = name, id = %created.id, "created network");
        Ok(NetworkId(created.id))
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.call(Subject::Network(name), Duration::ZERO, |d| async move {
            d.remove_network(name).await
        })
        .await
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        driver_opts: &BTreeMap<String, String>,
    ) -> Result<()> {
        let request = VolumeCreateRequest {
            name: Some(name.to_owned()),
            driver: Some("local".to_owned()),
            driver_opts: Some(hash_map(driver_opts)),
            labels: Some(hash_map(labels)),
            ..Default::default()
        };
        self.call(Subject::Volume(name), Duration::ZERO, |d| async move {
            d.create_volume(request).await
        })
        .await
        .map(|_| ())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.call(Subject::Volume(name), Duration::ZERO, |d| async move {
            d.remove_volume(name, None::<RemoveVolumeOptions>).await
        })
        .await
    }

    async fn inspect_volume(&self, name: &str) -> Result<VolumeInfo> {
        let v = self
            .call(Subject::Volume(name), Duration::ZERO, |d| async move {
                d.inspect_volume(name).await
            })
            .await?;
        Ok(VolumeInfo {
            name: v.name,
            labels: v.labels.into_iter().collect(),
        })
    }

    async fn list_volumes(
        &self,
        label_filter: &BTreeMap<String, String>,
    ) -> Result<Vec<VolumeInfo>> {
        let mut filters = HashMap::new();
        if !label_filter.is_empty() {
            filters.insert("label".to_owned(), convert::label_filters(label_filter));
        }
        let options = ListVolumesOptions {
            filters: Some(filters),
        };
        let r = self
            .call(Subject::Engine, Duration::ZERO, |d| async move {
                d.list_volumes(Some(options)).await
            })
            .await?;
        Ok(r.volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| VolumeInfo {
                name: v.name,
                labels: v.labels.into_iter().collect(),
            })
            .collect())
    }

    async fn network_gateway(&self, name: &str) -> Result<Option<std::net::Ipv4Addr>> {
        self.gateway_of(name).await
    }

    async fn load_packet_filter(&self, id: &ContainerId, filter: &PacketFilter) -> Result<()> {
        self.load_filter(id, filter).await
    }
}
