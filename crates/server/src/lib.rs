//! ecsctl's API server: the HTTP/1.1 JSON API of `docs/ARCHITECTURE.md` on a unix
//! socket (or on TCP behind bearer tokens that name identities with roles), in front of the
//! object store.
//!
//! [`run`] opens the store in `DATA_DIR/store`, makes sure the `default` Cluster exists,
//! binds the listener and serves until the `shutdown` future completes.
#![forbid(unsafe_code)]

mod access;
mod balancing;
mod config;
mod ecs;
mod error;
mod http;
mod leader_work;
mod leadership;
mod listener;
mod reload;
mod serve;
pub mod task_endpoint;
mod tls;

pub use config::{AwsApi, Listen, OpenStore, ServerConfig};
pub use error::ServerError;
pub use http::decode_apply_request;
pub use leadership::DEFAULT_LEADER_LEASE;
pub use serve::{
    ConnectionLimits, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_GRACE,
};
pub use tls::TlsFiles;

pub use ecsapi;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use store::{SledStore, Store};

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
            let keys = ecs::KeyRing::load(aws.credentials.clone(), config.data_dir.clone())?;
            Some((aws.clone(), tls, Arc::new(keys)))
        }
    };
    // Refuse early, before touching the store another server may hold.
    if let Listen::Unix(path) = &config.listen {
        listener::check_not_running(path).await?;
    }
    let sync_roots = Arc::new(sync_roots(&config)?);
    let (store, store_status, etcd) = match (&config.store, &config.etcd) {
        (Some(open), _) => (
            ensure_default_cluster(open.0.clone()).await?,
            leadership::StoreInfo::sled("(given by the caller)"),
            None,
        ),
        (None, Some(etcd)) => {
            let store = connect_etcd(etcd.clone()).await?;
            let status = leadership::StoreInfo::etcd(&store);
            (
                ensure_default_cluster(Arc::new(store.clone())).await?,
                status,
                Some(store),
            )
        }
        (None, None) => (
            open_store(config.data_dir.clone()).await?,
            leadership::StoreInfo::sled(config.data_dir.join("store").display().to_string()),
            None,
        ),
    };
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
    let syncs = gitops::StatusBoard::default();
    let server_id = server_id(&config.data_dir).await?;
    let mut work = leader_work::LeaderWork {
        watch: config.watch.clone(),
        sync: config.sync,
        admission: admission.clone(),
        syncs: syncs.clone(),
        registered: registered.clone(),
        keep_revisions,
        controllers: None,
        etcd: etcd.clone(),
    };
    // What every server runs, leader or not: its embedded agent and the metrics sampler.
    let mut task_runtime = None;
    let mut local = Vec::new();
    if let Some(runtime) = config.runtime.clone() {
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
        ctx.secrets = controllers::task::secrets::SecretReader::new(secret_sources.clone());
        ctx.roles = Arc::new(controllers::task::roles::LocalRoles {
            store: store.clone(),
            secrets: ctx.secrets.clone(),
        });
        if let Some(cap) = config.service_backoff_cap {
            ctx.service_backoff_cap = cap;
        }
        if let Some(keep) = config.keep_stopped_tasks {
            ctx.keep_stopped_tasks = keep;
        }
        ctx.traffic = Arc::new(balancing::LbTraffic(balancer.clone()));
        // The server's own container instance (its embedded agent) exists before anything
        // is placed; without one (--no-local-agent) every task goes to an agent's instance.
        let this_machine = if config.local_agent {
            let this_machine =
                controllers::instance::InstanceIdentity::this_machine(ctx.instance.clone());
            controllers::instance::register_local(&ctx, &this_machine)
                .await
                .map_err(|store| ServerError::Store {
                    context: "cannot register the server's container instance".to_string(),
                    store,
                })?;
            Some(this_machine)
        } else {
            *ctx.ledger() = controllers::scheduler::ledger::Ledger::default();
            None
        };
        if let Some(interval) = config.metrics_interval {
            ctx.metrics = controllers::metrics::Metrics::new(interval, METRICS_RETENTION);
        }
        local.push(tokio::spawn(controllers::metrics::run_sampler_with(
            ctx.clone(),
            ctx.metrics.clone(),
            Arc::new(balancing::LbRates(balancer.clone())),
            stopped(stop_rx.clone()),
        )));
        task_runtime = Some(http::TaskRuntime {
            runtime: ctx.runtime.clone(),
            instance: ctx.instance.clone(),
            balancer: balancer.clone(),
            metrics: ctx.metrics.clone(),
        });
        let heartbeat = config
            .heartbeat_interval
            .unwrap_or(controllers::instance::DEFAULT_HEARTBEAT);
        // The embedded agent: its task endpoint, the instance's heartbeat and the task
        // controller.
        if this_machine.is_some() && config.task_endpoint {
            let account = config
                .aws_api
                .as_ref()
                .map_or(ecsapi::DEFAULT_ACCOUNT_ID, |a| a.account_id.as_str());
            if let Some((ep, served)) =
                task_endpoint::start(&ctx, &config.data_dir, account, stopped(stop_rx.clone()))
                    .await
            {
                ctx.task_endpoint = Some(ep);
                local.push(served);
            }
        }
        if let Some(instance) = this_machine {
            local.push(tokio::spawn(controllers::instance::run(
                ctx.clone(),
                instance,
                heartbeat,
                stopped(stop_rx.clone()),
            )));
            local.push(tokio::spawn(controllers::task::run(
                ctx.clone(),
                stopped(stop_rx.clone()),
            )));
        }
        work.controllers = Some(leader_work::Controllers {
            ctx,
            balancer,
            instance_timeout: config
                .instance_timeout
                .unwrap_or(controllers::instance::monitor::DEFAULT_INSTANCE_TIMEOUT),
        });
    }
    // The leader's work: here at once on sled; on etcd once elected.
    let address = config.listen.to_string();
    let candidacy = match etcd {
        Some(etcd) => leadership::Candidacy::Elected {
            election: store::Election::new(
                &etcd,
                server_id.clone(),
                address,
                config
                    .leader_lease
                    .unwrap_or(leadership::DEFAULT_LEADER_LEASE),
            ),
            store: etcd,
        },
        None => leadership::Candidacy::Alone {
            id: server_id.clone(),
            address,
            since: controllers::timefmt::rfc3339(time::OffsetDateTime::now_utc()),
        },
    };
    let (control, role) = leadership::control_plane(candidacy.clone(), store_status);
    let work = Arc::new(work);
    let leading = tokio::spawn(leadership::run(
        candidacy,
        role,
        store.clone(),
        Arc::new(move |store, stop| Box::pin(work.clone().run(store, stop))),
        stop_rx.clone(),
    ));
    // SIGHUP reads the files an operator edits while the server runs.
    let mut reloadable: Vec<Arc<dyn reload::Reload>> = Vec::new();
    if let (Some(ids), Some(_)) = (&identities, &config.tokens) {
        reloadable.push(ids.clone());
    }
    if let Some((_, _, keys)) = &aws {
        reloadable.push(keys.clone());
    }
    let reloader = if reloadable.is_empty() {
        None
    } else {
        Some(reload::on_sighup(reloadable, stopped(stop_rx.clone()))?)
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
        secrets: controllers::task::secrets::SecretReader::new(secret_sources),
        control,
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
    if let Some(r) = reloader {
        let _ = r.await;
    }
    // In-flight reconciles are abandoned; containers keep running and are adopted next start.
    let _ = leading.await;
    for task in local {
        let _ = task.await;
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
/// The container instance id kept in `data_dir` (`instance-id`), made on first use: the
/// server's own instance, and an agent's (`ecsctl agent --data-dir`).
pub async fn instance_id(data_dir: &std::path::Path) -> Result<String, ServerError> {
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

/// Opens the store in `data_dir/store` and creates the `default` Cluster if it is missing.
async fn open_store(data_dir: PathBuf) -> Result<Arc<dyn Store>, ServerError> {
    let store = tokio::task::spawn_blocking(move || -> Result<Arc<dyn Store>, ServerError> {
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
        Ok(Arc::new(store) as Arc<dyn Store>)
    })
    .await
    .map_err(|e| ServerError::Config(format!("opening the store panicked: {e}")))??;
    ensure_default_cluster(store).await
}

/// Connects to the etcd store (`--store etcd://...`).
async fn connect_etcd(options: store::EtcdOptions) -> Result<store::EtcdStore, ServerError> {
    let endpoints = options.endpoints.join(",");
    tokio::task::spawn_blocking(move || store::EtcdStore::connect(options))
        .await
        .map_err(|e| ServerError::Config(format!("connecting to etcd panicked: {e}")))?
        .map_err(|e| ServerError::Store {
            context: format!("cannot use the etcd store at {endpoints}"),
            store: e,
        })
}

/// This server's id in the control plane: the machine's name and the id kept in the data
/// directory (`HOST-ID`), so that `ecsctl status` says which machine leads.
async fn server_id(data_dir: &std::path::Path) -> Result<String, ServerError> {
    let host = tokio::fs::read_to_string("/proc/sys/kernel/hostname")
        .await
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let id = instance_id(data_dir).await?;
    Ok(if host.is_empty() {
        id
    } else {
        format!("{host}-{id}")
    })
}

/// Creates the `default` Cluster in `store` if it is missing (never overwriting one a user
/// configured).
async fn ensure_default_cluster(store: Arc<dyn Store>) -> Result<Arc<dyn Store>, ServerError> {
    tokio::task::spawn_blocking(move || -> Result<Arc<dyn Store>, ServerError> {
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
        Ok(store)
    })
    .await
    .map_err(|e| ServerError::Config(format!("opening the store panicked: {e}")))?
}
