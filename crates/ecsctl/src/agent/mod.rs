//! `ecsctl agent`: one container instance on a host of its own. It registers the instance
//! with the server, reports it every heartbeat, and runs the task controller for the tasks
//! placed on it against the host's Docker engine, all through the server's API
//! ([`remote::RemoteStore`]) with a token of role `agent`.

pub mod remote;

use crate::client::Client;
use anyhow::{Context as _, Result};
use api::wire::RegisterInstance;
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
    let store = remote::RemoteStore::connect(config.client.clone(), store_rt.handle().clone())
        .context("cannot reach the server")?;
    let result = rt.block_on(serve(config, Arc::new(store)));
    // Each runtime is dropped here, outside the other.
    drop(rt);
    drop(store_rt);
    result
}

async fn serve(config: AgentConfig, store: Arc<remote::RemoteStore>) -> Result<()> {
    let shutdown =
        crate::cmd::server::shutdown_signal().context("cannot install signal handlers")?;
    let identity = config.identity;
    let registered: api::Object = config
        .client
        .post(
            "/v1/instances",
            &RegisterInstance {
                id: identity.id.clone(),
                cluster: Some(identity.cluster.clone()),
            },
        )
        .await
        .with_context(|| format!("cannot register container instance {}", identity.id))?;
    tracing::info!(instance = %registered.metadata.name, cluster = %identity.cluster, "registered");
    let runtime: Arc<dyn runtime::ContainerRuntime> = Arc::new(match &config.docker_host {
        Some(h) => runtime::DockerRuntime::with_host(h.clone()),
        None => runtime::DockerRuntime::new(),
    });
    let mut ctx = controllers::Context::new(store, runtime, identity.id.clone());
    ctx.secrets = controllers::task::secrets::SecretReader::by_server();
    ctx.protected_host_paths = vec![config.data_dir.clone()];
    ctx.publish_address = identity.address.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
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
    Ok(())
}
