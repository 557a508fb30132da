//! What [`crate::run`] is told: where to listen ([`Listen`], the ECS API's [`AwsApi`]) and
//! everything else the operator sets at start ([`ServerConfig`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::{ConnectionLimits, TlsFiles};

/// Where the server listens.
#[derive(Clone, PartialEq, Eq)]
pub enum Listen {
    /// A unix socket at this path, mode 0600.
    Unix(PathBuf),
    /// TCP; every request must carry `Authorization: Bearer <token>`, a token of
    /// [`ServerConfig::tokens`] or this one: no token, no TCP.
    Tcp {
        /// Address to bind.
        addr: SocketAddr,
        /// A bearer token that makes its bearer an admin (`--token-file`); empty when the
        /// identities come from [`ServerConfig::tokens`] alone.
        token: String,
        /// Serve TLS with this certificate and key. Required unless `addr` is a loopback
        /// address: a token sent in clear text beyond this machine could be read on the way.
        tls: Option<TlsFiles>,
    },
}

impl fmt::Debug for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Unix(path) => f.debug_tuple("Unix").field(path).finish(),
            // Never print the token.
            Listen::Tcp { addr, tls, .. } => f
                .debug_struct("Tcp")
                .field("addr", addr)
                .field("tls", tls)
                .finish_non_exhaustive(),
        }
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
            Listen::Tcp {
                addr, tls: None, ..
            } => write!(f, "tcp://{addr}"),
            Listen::Tcp {
                addr, tls: Some(_), ..
            } => write!(f, "https://{addr}"),
        }
    }
}

/// The ECS API listener (`--aws-api`): AWS JSON 1.1 with SigV4-signed requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsApi {
    /// Address to bind (plain HTTP only on loopback).
    pub addr: SocketAddr,
    /// Serve TLS with this certificate and key (required beyond loopback).
    pub tls: Option<TlsFiles>,
    /// The access keys (`--aws-credentials FILE`); `None`: the key the server keeps in
    /// `DATA_DIR/aws-credentials`, made on first start.
    pub credentials: Option<PathBuf>,
    /// The account id ARNs carry (`--aws-account-id`).
    pub account_id: String,
}

impl AwsApi {
    /// The ECS API on `addr`, plain HTTP, with the generated key and the default account.
    pub fn new(addr: SocketAddr) -> Self {
        AwsApi {
            addr,
            tls: None,
            credentials: None,
            account_id: ecsapi::DEFAULT_ACCOUNT_ID.to_string(),
        }
    }
}

/// What [`run`] serves, and where.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The data directory; the store lives in `data_dir/store`. Created if missing.
    pub data_dir: PathBuf,
    /// Where to listen.
    pub listen: Listen,
    /// The container runtime the controllers drive (Docker in `ecsctl server`, a
    /// `FakeRuntime` in tests); `None` serves the API alone, with no controllers.
    pub runtime: Option<Arc<dyn runtime::ContainerRuntime>>,
    /// The only directory whose files `fromFile` Secrets may name (None:
    /// `data_dir/secrets`, created 0700).
    pub secret_files_dir: Option<PathBuf>,
    /// `fromEnv` Secrets may read only variables starting with this (None: none at all).
    pub secret_env_prefix: Option<String>,
    /// Longest delay between task starts of a failing service (None: ECS's 27 minutes).
    pub service_backoff_cap: Option<std::time::Duration>,
    /// Stopped tasks kept per cluster (None: 100).
    pub keep_stopped_tasks: Option<usize>,
    /// How often tasks' CPU and memory and services' request rates are recorded, the
    /// resolution of the metrics kept for an hour (None: 10 s).
    pub metrics_interval: Option<std::time::Duration>,
    /// Directories that are the desired state (GitOps): each is synced once before the
    /// controllers start, then on every change and every 5 minutes until shutdown. Give
    /// them canonicalized: the path is the `ecsctl.dev/source` of what they apply.
    pub watch: Vec<PathBuf>,
    /// How watched directories are synced (debounce, periodic resync, pruning).
    pub sync: gitops::SyncOptions,
    /// The most objects one apply (or one sync) may carry (None: 1,000).
    pub max_objects_per_apply: Option<usize>,
    /// Older TaskDefinition revisions kept per family besides the latest and those in use
    /// (None: 10).
    pub keep_revisions: Option<usize>,
    /// The identities TCP clients may be (`--tokens FILE`: `TOKEN ROLE [CLUSTERS|*]` lines,
    /// mode 0600), read at start and on SIGHUP. The unix socket's clients are admins.
    pub tokens: Option<PathBuf>,
    /// Directories below which `POST /v1/sync` (`ecsctl sync DIR`) may sync, besides the
    /// watched ones (`--sync-root`; none by default). Resolved (symlinks followed) at start.
    pub sync_roots: Vec<PathBuf>,
    /// Limits on the API listener's connections (header read timeout, open connections);
    /// the ECS API listener has the same.
    pub connections: ConnectionLimits,
    /// Serve ECS's own API too (`--aws-api`).
    pub aws_api: Option<AwsApi>,
    /// How often the server's own container instance reports (None: 10 s).
    pub heartbeat_interval: Option<std::time::Duration>,
    /// Whether the server runs tasks on its own machine (its embedded agent: a container
    /// instance in `default`); `false` (`--no-local-agent`): a control plane only, every task
    /// goes to an `ecsctl agent`'s instance.
    pub local_agent: bool,
    /// How long an agent may go without a heartbeat before its instance is lost: marked
    /// `agentConnected: false`, its tasks STOPPED and replaced elsewhere (`--instance-timeout`;
    /// None: 30 s).
    pub instance_timeout: Option<std::time::Duration>,
    /// A store already open, instead of the one in `data_dir/store` (tests that run agents
    /// in the same process share it with them).
    pub store: Option<OpenStore>,
    /// Keep the state in etcd instead of `data_dir/store` (`--store etcd://...`): several
    /// servers share it, each serves the API, and the one elected runs the controllers.
    pub etcd: Option<store::EtcdOptions>,
    /// With etcd: the leader's lease (`--leader-lease`), the longest the control plane goes
    /// without a leader after it dies (None: 10 s).
    pub leader_lease: Option<std::time::Duration>,
    /// The AWS shared-credentials file whose profiles Roles may name (`--role-profiles`;
    /// None: no Role takes a profile).
    pub role_profiles: Option<PathBuf>,
    /// Whether the embedded agent serves the task endpoint (metadata v4, role credentials)
    /// on 169.254.170.2 (`ecsctl server` does; tests on a fake runtime do not).
    pub task_endpoint: bool,
}

/// A store opened by the caller, for [`ServerConfig::store`].
#[derive(Clone)]
pub struct OpenStore(pub Arc<dyn store::Store>);

impl fmt::Debug for OpenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpenStore(..)")
    }
}

impl ServerConfig {
    /// An API-only server on `data_dir` (no runtime, no watched directories), listening at
    /// `listen`, with every other setting at its default.
    pub fn new(data_dir: impl Into<PathBuf>, listen: Listen) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            listen,
            runtime: None,
            secret_files_dir: None,
            secret_env_prefix: None,
            service_backoff_cap: None,
            keep_stopped_tasks: None,
            metrics_interval: None,
            watch: Vec::new(),
            sync: gitops::SyncOptions::default(),
            max_objects_per_apply: None,
            keep_revisions: None,
            tokens: None,
            connections: ConnectionLimits::default(),
            sync_roots: Vec::new(),
            aws_api: None,
            heartbeat_interval: None,
            local_agent: true,
            instance_timeout: None,
            store: None,
            etcd: None,
            leader_lease: None,
            role_profiles: None,
            task_endpoint: false,
        }
    }

    /// The admission chain's bounds: objects per apply, and the machine when the runtime
    /// says what it has (at start; if the engine is down then, tasks are checked at start).
    pub(crate) async fn limits(&self) -> admission::bounds::Limits {
        let machine = match &self.runtime {
            Some(r) => match r.machine().await {
                Ok(m) => Some(admission::bounds::Machine {
                    cpus: m.cpus,
                    memory_mib: m.memory_bytes >> 20,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "the container engine did not say what its machine has; memory is checked when tasks start");
                    None
                }
            },
            None => None,
        };
        admission::bounds::Limits {
            machine,
            max_objects_per_apply: self
                .max_objects_per_apply
                .unwrap_or(admission::bounds::DEFAULT_MAX_OBJECTS_PER_APPLY),
        }
    }

    /// What Secrets may read: the files of `secret_files_dir` (default `data_dir/secrets`)
    /// and the variables starting with `secret_env_prefix`.
    pub(crate) fn secret_sources(&self) -> admission::SecretSources {
        let dir = self
            .secret_files_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secrets"));
        admission::SecretSources::new(Some(dir), self.secret_env_prefix.clone())
            .with_role_profiles(self.role_profiles.clone())
    }
}
