//! `ecsctl agent`: one container instance on a host of its own. It registers the instance
//! with the server, reports it every heartbeat, and runs the task controller for the tasks
//! placed on it against the host's Docker engine, all through the server's API
//! ([`remote::RemoteStore`]) with a token of role `agent`.

pub mod remote;
pub mod retry;

use crate::client::Client;
use anyhow::{Context as _, Result};
use api::wire::{Health, RegisterInstance};
use controllers::instance::InstanceIdentity;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What an agent is started with.
#[derive(Debug)]
pub struct AgentConfig {
    pub client: Client,
    pub identity: InstanceIdentity,
    /// The engine (`unix:///PATH`); `None`: DOCKER_HOST or the default socket.
    pub docker_host: Option<String>,
    pub data_dir: PathBuf,
    pub heartbeat: Duration,
}

/// Runs the agent until SIGINT or SIGTERM. The tasks' containers keep running when it stops
/// and are adopted when it starts again.
///
/// No server that cannot be reached stops it, at the start or later: it waits for one
/// ([`retry`]). Meanwhile nothing is stopped or removed for that: a heartbeat that cannot be
/// sent is tried again at the next one, a task's report (or a read it needs) fails its
/// reconcile, which the task controller retries with its backoff, and the containers run
/// on as they are.
pub fn run(mut config: AgentConfig) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    config.identity.id = rt
        .block_on(server::instance_id(&config.data_dir))
        .context("cannot keep the instance id")?;
    let store_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("remote-store")
        .enable_all()
        .build()?;
    let result = rt.block_on(serve(config, store_rt.handle().clone()));
    // Each runtime is dropped here, outside the other.
    drop(rt);
    drop(store_rt);
    result
}

async fn serve(config: AgentConfig, store_runtime: tokio::runtime::Handle) -> Result<()> {
    let shutdown =
        crate::cmd::server::shutdown_signal().context("cannot install signal handlers")?;
    let mut shutdown = std::pin::pin!(shutdown);
    let identity = config.identity;
    let client = config.client;
    let revision = tokio::select! {
        joined = join(&client, &identity) => joined?,
        () = &mut shutdown => return Ok(()),
    };
    let store = Arc::new(remote::RemoteStore::new(client, store_runtime, revision));
    let runtime: Arc<dyn runtime::ContainerRuntime> = Arc::new(match &config.docker_host {
        Some(h) => runtime::DockerRuntime::with_host(h.clone()),
        None => runtime::DockerRuntime::new(),
    });
    let mut ctx = controllers::Context::new(store.clone(), runtime, identity.id.clone());
    ctx.secrets = controllers::task::secrets::SecretReader::by_server();
    // Role credentials come from the server too, resolved there.
    ctx.roles = store;
    ctx.protected_host_paths = vec![config.data_dir.clone()];
    ctx.publish_address = identity.address.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    // The task endpoint (metadata v4, role credentials) for the tasks placed here.
    let endpoint = match server::task_endpoint::start(
        &ctx,
        &config.data_dir,
        server::ecsapi::DEFAULT_ACCOUNT_ID,
        stopped(),
    )
    .await
    {
        Some((ep, served)) => {
            ctx.task_endpoint = Some(ep);
            Some(served)
        }
        None => None,
    };
    let heartbeat = tokio::spawn(controllers::instance::run(
        ctx.clone(),
        identity,
        config.heartbeat,
        stopped(),
    ));
    let tasks = tokio::spawn(controllers::task::run(ctx, stopped()));
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = tokio::join!(heartbeat, tasks);
    if let Some(e) = endpoint {
        let _ = e.await;
    }
    Ok(())
}

/// Reads the store's revision (where watches start) and registers the instance, each
/// waiting for a server while none can be reached (an agent may start before its control
/// plane, or during an outage). An answer that is an error (a refused token, a cluster
/// that does not exist) ends the agent.
async fn join(client: &Client, identity: &InstanceIdentity) -> Result<u64> {
    let servers: Vec<String> = client.servers().iter().map(ToString::to_string).collect();
    tracing::info!(servers = %servers.join(","), "joining the control plane");
    let health: Health =
        retry::until_reachable("joining the control plane", || client.get("/v1/health"))
            .await
            .context("cannot reach the server")?;
    let register = RegisterInstance {
        id: identity.id.clone(),
        cluster: Some(identity.cluster.clone()),
    };
    let registered: api::Object = retry::until_reachable("registering the instance", || {
        client.post("/v1/instances", &register)
    })
    .await
    .with_context(|| format!("cannot register container instance {}", identity.id))?;
    tracing::info!(instance = %registered.metadata.name, cluster = %identity.cluster, "registered");
    Ok(health.revision)
}
