//! ecsctl's controllers. Each kind has a pure planning function (desired + observed + now ->
//! a plan) and an executor that carries the plan out against the store and the runtime.
#![forbid(unsafe_code)]

pub mod autoscaler;
pub mod instance;
pub mod invalid;
pub mod loadbalancer;
pub mod metrics;
pub mod placement;
pub mod revisions;
pub mod scheduler;
pub mod security_group;
pub mod service;
pub mod sources;
pub mod task;
pub mod timefmt;

pub use api::balancer::TargetHealth;
use std::fmt;
use std::sync::Arc;

/// What every controller works with: the store, the container runtime, a clock and an id
/// source. Injected, so tests use a FakeRuntime, a fixed time and predictable ids.
#[derive(Clone)]
pub struct Context {
    /// The store, reached through its blocking pool: a reconcile never flushes to disk on
    /// the tokio workers that the built-in proxy shares.
    pub store: store::AsyncStore,
    pub runtime: Arc<dyn runtime::ContainerRuntime>,
    pub now: Arc<dyn Fn() -> time::OffsetDateTime + Send + Sync>,
    /// New ids (task names, deployment ids): random by default, fixed in tests.
    pub new_id: Arc<dyn Fn() -> uuid::Uuid + Send + Sync>,
    /// This server's id: every container it creates carries it (`ecsctl.instance`), and it
    /// only ever looks at containers that do.
    pub instance: String,
    /// Where tasks' ports are published on this host: loopback for the server's own
    /// instance, an agent's `--address`.
    pub publish_address: String,
    /// Stopped tasks kept per cluster (with their exit codes and reasons).
    pub keep_stopped_tasks: usize,
    /// Woken when a task is seen STOPPED: the retention pass then runs within a second,
    /// instead of waiting for the next resync, so the bound holds while tasks stop quickly.
    pub task_stopped: Arc<tokio::sync::Notify>,
    /// Longest delay between a service's task starts after repeated failures.
    pub service_backoff_cap: std::time::Duration,
    /// What the load balancers say about tasks (target health, draining).
    pub traffic: Arc<dyn Traffic>,
    /// The container instances and what the tasks on them reserve (for placement).
    pub ledger: Arc<std::sync::Mutex<scheduler::ledger::Ledger>>,
    /// Measured CPU, memory and request rates (fed by `metrics::run_sampler`).
    pub metrics: metrics::Metrics,
    /// Where Secret values are read from, as far as the server's operator allows.
    pub secrets: task::secrets::SecretReader,
    /// The server's own paths (data directory, API socket, secret files, watched
    /// directories): no task may bind one, nor a directory holding one.
    pub protected_host_paths: Vec<std::path::PathBuf>,
    /// The packet filters (security groups) loaded into this instance's task namespaces.
    pub packet_filters: Arc<security_group::Loaded>,
    /// Where task roles' credentials come from (the store and the operator's sources on a
    /// server; the server's API on an agent).
    pub roles: Arc<dyn task::roles::RoleSource>,
    /// This agent's task endpoint (metadata and credentials), when it serves one: its
    /// containers get the URIs of `task::endpoint::TaskEndpoint::env`.
    pub task_endpoint: Option<task::endpoint::TaskEndpoint>,
}

/// The load balancers, as controllers need them: a task counts as healthy only when its
/// targets are, and it is stopped only once its targets have drained.
pub trait Traffic: Send + Sync + fmt::Debug {
    /// None when the task is not a target of any load balancer.
    fn target_health(&self, task_id: &str) -> Option<TargetHealth>;
    /// Whether the task's targets were deregistered and have no request in flight (or the
    /// deregistration delay passed, or it is not a target).
    fn drained(&self, task_id: &str) -> bool;
}

/// No load balancers: every task is drained and has no target health.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTraffic;

impl Traffic for NoTraffic {
    fn target_health(&self, _: &str) -> Option<TargetHealth> {
        None
    }
    fn drained(&self, _: &str) -> bool {
        true
    }
}

impl Context {
    /// A context on the real clock, with random ids, whose `instance` is the server's own
    /// container instance (placement's fallback for clusters without instances).
    pub fn new(
        store: Arc<dyn store::Store>,
        runtime: Arc<dyn runtime::ContainerRuntime>,
        instance: impl Into<String>,
    ) -> Self {
        let instance = instance.into();
        Context {
            ledger: Arc::new(std::sync::Mutex::new(
                scheduler::ledger::Ledger::with_local(&instance),
            )),
            roles: Arc::new(task::roles::LocalRoles {
                store: store.clone(),
                secrets: task::secrets::SecretReader::new(admission::SecretSources::default()),
            }),
            task_endpoint: None,
            store: store::AsyncStore::new(store),
            runtime,
            now: Arc::new(time::OffsetDateTime::now_utc),
            new_id: Arc::new(uuid::Uuid::new_v4),
            instance,
            publish_address: "127.0.0.1".to_string(),
            keep_stopped_tasks: task::retention::DEFAULT_KEEP_STOPPED,
            task_stopped: Arc::default(),
            service_backoff_cap: service::ECS_BACKOFF_CAP,
            traffic: Arc::new(NoTraffic),
            metrics: metrics::Metrics::new(
                std::time::Duration::from_secs(10),
                std::time::Duration::from_secs(3600),
            ),
            secrets: task::secrets::SecretReader::new(admission::SecretSources::default()),
            protected_host_paths: Vec::new(),
            packet_filters: Arc::default(),
        }
    }

    /// The reservation ledger (a poisoned lock is still usable: the ledger is a cache).
    pub fn ledger(&self) -> std::sync::MutexGuard<'_, scheduler::ledger::Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The label filter that selects this server's containers (plus `extra`).
    pub fn owned(&self, extra: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        let mut f = std::collections::BTreeMap::from([
            (runtime::labels::MANAGED.to_string(), "true".to_string()),
            (runtime::labels::INSTANCE.to_string(), self.instance.clone()),
        ]);
        f.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        f
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("runtime", &self.runtime)
            .finish_non_exhaustive()
    }
}
