//! ecsctl's API server: the HTTP/1.1 JSON API of `docs/ARCHITECTURE.md` on a unix
//! socket (or on TCP behind bearer tokens that name identities with roles), in front of the
//! object store.
//!
//! [`run`] opens the store in `DATA_DIR/store`, makes sure the `default` Cluster exists,
//! binds the listener and serves until the `shutdown` future completes.
#![forbid(unsafe_code)]

mod access;
mod balancing;
mod ecs;
mod error;
mod http;
mod listener;
mod serve;
mod tls;

pub use error::ServerError;
pub use http::decode_apply_request;
pub use serve::{
    ConnectionLimits, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_GRACE,
};
pub use tls::TlsFiles;

pub use ecsapi;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use store::{SledStore, Store};

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
        }
    }

    /// The admission chain's bounds: objects per apply, and the machine when the runtime
    /// says what it has (at start; if the engine is down then, tasks are checked at start).
    async fn limits(&self) -> admission::bounds::Limits {
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
    fn secret_sources(&self) -> admission::SecretSources {
        let dir = self
            .secret_files_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secrets"));
        admission::SecretSources::new(Some(dir), self.secret_env_prefix.clone())
    }
}

/// How long measured metrics are kept.
const METRICS_RETENTION: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs the server until `shutdown` completes, then stops accepting, ends open watches,
/// waits for requests in flight and removes the socket file.
pub async fn run(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    // Who may connect, read before anything else: a bad tokens file stops the server here.
    let identities = match &config.listen {
        Listen::Tcp { token, .. } => Some(Arc::new(access::Identities::load(
            config.tokens.clone(),
            Some(token.clone()).filter(|t| !t.is_empty()),
        )?)),
        Listen::Unix(_) => {
            if let Some(file) = &config.tokens {
                // Checked all the same, so that a broken file is found now.
                access::read_file(file)?;
                tracing::warn!(tokens = %file.display(), "--tokens applies to TCP listeners; the unix socket's clients are its owner, an admin");
            }
            None
        }
    };
    if let Listen::Tcp {
        addr, tls: None, ..
    } = &config.listen
        && !addr.ip().is_loopback()
    {
        return Err(ServerError::Config(format!(
            "tcp://{addr} is reachable from other machines, where the bearer token would travel in clear text: serve TLS with --tls-cert FILE --tls-key FILE, or listen on a loopback address (127.0.0.1, [::1])"
        )));
    }
    // Bad certificate or key files stop the server before it touches anything.
    let tls_config = match &config.listen {
        Listen::Tcp { tls: Some(f), .. } => Some(tls::server_config(f)?),
        _ => None,
    };
    let aws = match &config.aws_api {
        None => None,
        Some(aws) => {
            if aws.tls.is_none() && !aws.addr.ip().is_loopback() {
                return Err(ServerError::Config(format!(
                    "--aws-api tcp://{} is reachable from other machines: serve TLS with --tls-cert FILE --tls-key FILE, or listen on a loopback address (127.0.0.1, [::1])",
                    aws.addr
                )));
            }
            let tls = aws.tls.as_ref().map(tls::server_config).transpose()?;
            let keys = ecs::load_keys(aws.credentials.as_deref(), &config.data_dir)?;
            Some((aws.clone(), tls, Arc::new(keys)))
        }
    };
    // Refuse early, before touching the store another server may hold.
    if let Listen::Unix(path) = &config.listen {
        listener::check_not_running(path).await?;
    }
    let sync_roots = Arc::new(sync_roots(&config)?);
    let store = open_store(config.data_dir.clone()).await?;
    let secret_sources = config.secret_sources();
    if config.secret_files_dir.is_none()
        && let Some(dir) = &secret_sources.files_dir
    {
        private_dir(dir)
            .map_err(|e| ServerError::io(format!("cannot create {}", dir.display()), e))?;
    }
    let admission = Arc::new(
        admission::Admission::new(secret_sources.clone()).with_limits(config.limits().await),
    );
    let keep_revisions = config
        .keep_revisions
        .unwrap_or(controllers::revisions::DEFAULT_KEEP_REVISIONS);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let registered = Arc::new(tokio::sync::Notify::new());
    let revision_gc = tokio::spawn(collect_revisions(
        store::AsyncStore::new(store.clone()),
        keep_revisions,
        registered.clone(),
        stopped(stop_rx.clone()),
    ));
    // Watched directories are synced before any controller acts on the store.
    let syncs = gitops::StatusBoard::default();
    let mut syncers = Vec::new();
    for dir in &config.watch {
        let syncer = gitops::Syncer::new(
            dir.clone(),
            store.clone(),
            admission.clone(),
            syncs.clone(),
            config.sync,
        );
        if let Err(e) = syncer.sync_now().await {
            tracing::error!(dir = %dir.display(), error = %e, "initial sync failed; watching for a fix");
        }
        let stop = stopped(stop_rx.clone());
        syncers.push(tokio::spawn(async move {
            let dir = syncer.dir().display().to_string();
            if let Err(e) = syncer.run(stop).await {
                tracing::error!(dir, error = %e, "directory sync stopped");
            }
        }));
    }
    let mut task_runtime = None;
    let controllers = if let Some(runtime) = config.runtime.clone() {
        let instance = instance_id(&config.data_dir).await?;
        match runtime.ping().await {
            Ok(v) => tracing::info!(engine = ?v, "container runtime ready"),
            Err(e) => {
                tracing::warn!(error = %e, "container runtime unavailable; tasks wait until it answers")
            }
        }
        let balancer = lb::LbManager::new();
        let mut ctx = controllers::Context::new(store.clone(), runtime, instance);
        // What no task may bind: the store (with Secret values), the API socket, secret
        // files and the manifests of watched directories.
        ctx.protected_host_paths = std::iter::once(config.data_dir.clone())
            .chain(secret_sources.files_dir.clone())
            .chain(match &config.listen {
                Listen::Unix(path) => Some(path.clone()),
                Listen::Tcp { .. } => None,
            })
            .chain(config.watch.iter().cloned())
            .collect();
        ctx.secrets = controllers::task::secrets::SecretReader::new(secret_sources);
        if let Some(cap) = config.service_backoff_cap {
            ctx.service_backoff_cap = cap;
        }
        if let Some(keep) = config.keep_stopped_tasks {
            ctx.keep_stopped_tasks = keep;
        }
        ctx.traffic = Arc::new(balancing::LbTraffic(balancer.clone()));
        if let Some(interval) = config.metrics_interval {
            ctx.metrics = controllers::metrics::Metrics::new(interval, METRICS_RETENTION);
        }
        let sampler = tokio::spawn(controllers::metrics::run_sampler_with(
            ctx.clone(),
            ctx.metrics.clone(),
            Arc::new(balancing::LbRates(balancer.clone())),
            stopped(stop_rx.clone()),
        ));
        task_runtime = Some(http::TaskRuntime {
            runtime: ctx.runtime.clone(),
            instance: ctx.instance.clone(),
            balancer: balancer.clone(),
            metrics: ctx.metrics.clone(),
        });
        let balancing = tokio::spawn(balancing::run(ctx.clone(), balancer, stop_rx.clone()));
        let services = tokio::spawn(controllers::service::run(
            ctx.clone(),
            stopped(stop_rx.clone()),
        ));
        let autoscalers = tokio::spawn(controllers::autoscaler::run(
            ctx.clone(),
            stopped(stop_rx.clone()),
        ));
        let tasks = tokio::spawn(controllers::task::run(ctx, stopped(stop_rx.clone())));
        Some(async move {
            let _ = tokio::join!(services, tasks, balancing, sampler, autoscalers);
        })
    } else {
        None
    };
    let reloader = match (&identities, &config.tokens) {
        (Some(ids), Some(_)) => Some(ids.clone().reload_on_sighup(stopped(stop_rx.clone()))?),
        _ => None,
    };
    let async_store = store::AsyncStore::new(store);
    let ecs_app = aws.map(|(aws, tls, keys)| {
        let app = ecs::router(ecs::EcsState {
            store: async_store.clone(),
            admission: admission.clone(),
            keys,
            account_id: aws.account_id.clone(),
        });
        (aws, tls, app)
    });
    let app = http::router(http::AppState {
        store: async_store,
        shutdown: stop_rx.clone(),
        identities,
        runtime: task_runtime,
        syncs,
        admission,
        registered,
        sync_roots,
    });
    // Flip the flag that ends watch streams as soon as shutdown starts: graceful shutdown
    // waits for every response to finish, and a watch never would on its own.
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    };

    // The accept loop watches the stop flag; the signal only has to flip it.
    tokio::spawn(signal);
    let limits = config.connections;
    let ecs_server = match ecs_app {
        None => None,
        Some((aws, tls, app)) => {
            let listener = tokio::net::TcpListener::bind(aws.addr).await.map_err(|e| {
                ServerError::io(format!("cannot listen on --aws-api {}", aws.addr), e)
            })?;
            let bound = listener.local_addr().map_err(|e| {
                ServerError::io(format!("cannot listen on --aws-api {}", aws.addr), e)
            })?;
            let scheme = if tls.is_some() { "https" } else { "http" };
            let endpoint = config.data_dir.join(ecsapi::ENDPOINT_FILE);
            std::fs::write(&endpoint, format!("{scheme}://{bound}\n"))
                .map_err(|e| ServerError::io(format!("cannot write {}", endpoint.display()), e))?;
            tracing::info!(addr = %bound, tls = tls.is_some(), "serving the ECS API");
            let acceptor = match tls {
                Some(tls) => serve::Acceptor::Tls(listener, tokio_rustls::TlsAcceptor::from(tls)),
                None => serve::Acceptor::Tcp(listener),
            };
            Some(tokio::spawn(serve::serve(
                acceptor,
                app,
                limits,
                stop_rx.clone(),
            )))
        }
    };
    match &config.listen {
        Listen::Unix(path) => {
            let (listener, _socket) = listener::bind_unix(path).await?;
            tracing::info!(listen = %config.listen, data_dir = %config.data_dir.display(), "serving");
            serve::serve(serve::Acceptor::Unix(listener), app, limits, stop_rx).await;
            // `_socket` removes the socket file when it drops here.
        }
        Listen::Tcp { addr, .. } => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| ServerError::io(format!("cannot listen on {}", config.listen), e))?;
            tracing::info!(listen = %config.listen, data_dir = %config.data_dir.display(), "serving");
            let acceptor = match tls_config {
                Some(tls) => serve::Acceptor::Tls(listener, tokio_rustls::TlsAcceptor::from(tls)),
                None => serve::Acceptor::Tcp(listener),
            };
            serve::serve(acceptor, app, limits, stop_rx).await;
        }
    }
    if let Some(e) = ecs_server {
        let _ = e.await;
    }
    for s in syncers {
        let _ = s.await;
    }
    let _ = revision_gc.await;
    if let Some(r) = reloader {
        let _ = r.await;
    }
    if let Some(c) = controllers {
        // In-flight reconciles are abandoned; containers keep running and are adopted next start.
        c.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// How often unused TaskDefinition revisions are collected when nothing is registered
/// (GitOps syncs register revisions without telling).
const REVISION_GC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);
/// Quiet time after an apply registers a revision before revisions are collected: a burst of
/// applies (a benchmark, a CI loop) is not slowed by deletes between its writes.
const REVISION_GC_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(500);

/// Collects unused TaskDefinition revisions once applies that register revisions
/// (`registered`) pause, and every [`REVISION_GC_INTERVAL`], until shutdown.
async fn collect_revisions(
    store: store::AsyncStore,
    keep: usize,
    registered: Arc<tokio::sync::Notify>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            () = registered.notified() => {}
            () = tokio::time::sleep(REVISION_GC_INTERVAL) => {}
        }
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = registered.notified() => continue,
                () = tokio::time::sleep(REVISION_GC_DEBOUNCE) => break,
            }
        }
        let collected = store
            .run(move |s| controllers::revisions::collect(s, keep))
            .await;
        if let Err(e) = collected {
            tracing::warn!(error = %e, "collecting unused task definition revisions failed");
        }
    }
}

/// What `POST /v1/sync` may sync: the watched directories, and below the sync roots (which
/// must exist: a typo would otherwise refuse every sync with a puzzling message).
fn sync_roots(config: &ServerConfig) -> Result<gitops::SyncRoots, ServerError> {
    let mut roots = Vec::new();
    for r in &config.sync_roots {
        let resolved = std::fs::canonicalize(r)
            .map_err(|e| ServerError::io(format!("--sync-root {}", r.display()), e))?;
        if !resolved.is_dir() {
            return Err(ServerError::Config(format!(
                "--sync-root {}: not a directory",
                r.display()
            )));
        }
        roots.push(resolved);
    }
    let watched = config
        .watch
        .iter()
        .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()))
        .collect();
    Ok(gitops::SyncRoots::new(watched, roots))
}

/// Completes once shutdown is signalled.
async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// This server's id, kept in the data directory: its containers carry it as a label.
async fn instance_id(data_dir: &std::path::Path) -> Result<String, ServerError> {
    let path = data_dir.join("instance-id");
    match tokio::fs::read_to_string(&path).await {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => {
            let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
            tokio::fs::create_dir_all(data_dir)
                .await
                .map_err(|e| ServerError::io(format!("cannot create {}", data_dir.display()), e))?;
            tokio::fs::write(&path, format!("{id}\n"))
                .await
                .map_err(|e| ServerError::io(format!("cannot write {}", path.display()), e))?;
            Ok(id)
        }
    }
}

/// Creates `dir` (and missing parents) readable by this user only, and makes `dir` itself
/// 0700 if it already existed: the store and the secret files directory hold Secret values.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode != 0o700 {
        tracing::info!(dir = %dir.display(), from = format!("{mode:o}"), "made the directory private (0700)");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Opens the store in `data_dir/store` and creates the `default` Cluster if it is missing
/// (never overwriting one a user configured).
async fn open_store(data_dir: PathBuf) -> Result<Arc<dyn Store>, ServerError> {
    tokio::task::spawn_blocking(move || -> Result<Arc<dyn Store>, ServerError> {
        let dir = data_dir.join("store");
        private_dir(&dir).map_err(|e| {
            ServerError::io(
                format!("cannot create the data directory {}", dir.display()),
                e,
            )
        })?;
        let store = SledStore::open(&dir).map_err(|e| {
            // A lock held by another process is the usual reason; say so only then.
            let busy = e.to_string().contains("could not acquire lock");
            ServerError::Store {
                context: format!(
                    "cannot open the store in {}{}",
                    dir.display(),
                    if busy {
                        " (is another ecsctl server using it?)"
                    } else {
                        ""
                    }
                ),
                store: e,
            }
        })?;
        let key = api::ObjectKey::new(api::Kind::Cluster, None, api::DEFAULT_CLUSTER);
        let ensure = || -> Result<(), store::StoreError> {
            if store.get(&key)?.is_none() {
                let cluster = api::Object::new(
                    api::Kind::Cluster,
                    api::DEFAULT_CLUSTER,
                    serde_json::json!({}),
                );
                store.apply(cluster)?;
                tracing::info!("created the default cluster");
            }
            Ok(())
        };
        ensure().map_err(|e| ServerError::Store {
            context: "cannot create the default cluster".to_string(),
            store: e,
        })?;
        Ok(Arc::new(store))
    })
    .await
    .map_err(|e| ServerError::Config(format!("opening the store panicked: {e}")))?
}
