//! The agent's task endpoint over HTTP, as ECS's agent serves it: container and task
//! metadata (v4) at `/v4/<id>[/task][/stats]` and a task role's credentials at
//! `/v2/credentials/<id>` (with the task's token in `Authorization`). One per agent: the
//! server's embedded agent and each `ecsctl agent` start it next to their task controller.
//!
//! It listens on 169.254.170.2 (on `lo`, added when missing and never removed: other agents
//! on the machine share it) at a port of its own, so several agents on one machine never
//! collide; containers in bridge and awsvpc networks reach it through their default route
//! to the host, host-mode ones directly. Answers are built by
//! `controllers::task::endpoint`; this module finds whose request it is and reads what the
//! answer needs. A request is answered only for the task it comes from: the id in the URL
//! must be one of this agent's containers, and the caller's address one of that task's
//! (but for host-mode tasks, which have the host's).

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use controllers::Context;
use controllers::task::endpoint::{self, TaskEndpoint, credentials, metadata};
use runtime::{ContainerInfo, ContainerSummary, labels};
use serde_json::Value;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::Path as FsPath;
use std::sync::Arc;

/// The key file ids and tokens are made with, in the agent's data directory.
pub const KEY_FILE: &str = "task-endpoint.key";

#[derive(Clone)]
struct EndpointState {
    ctx: Context,
    endpoint: TaskEndpoint,
    account: String,
}

/// Starts the task endpoint of the agent `ctx` is, until `shutdown`; the endpoint to put in
/// `ctx.task_endpoint`. `None` (and one warning saying why) when it cannot listen: tasks
/// then get no endpoint variables, and tasks with a role fail to start saying so.
pub async fn start(
    ctx: &Context,
    data_dir: &FsPath,
    account: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Option<(TaskEndpoint, tokio::task::JoinHandle<()>)> {
    let key = match load_or_make_key(&data_dir.join(KEY_FILE)) {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e, "no task endpoint (metadata and role credentials): cannot keep its key");
            return None;
        }
    };
    let listener = match bind().await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "no task endpoint (metadata and role credentials): tasks get no ECS_CONTAINER_METADATA_URI_V4, and tasks with a taskRoleArn fail to start");
            return None;
        }
    };
    let addr = listener.local_addr().ok()?;
    let ep = TaskEndpoint::new(format!("http://{addr}"), &key);
    tracing::info!(%addr, "serving the task endpoint (metadata v4, role credentials)");
    let state = EndpointState {
        ctx: ctx.clone(),
        endpoint: ep.clone(),
        account: account.to_string(),
    };
    let app = Router::new()
        .route("/v4/{id}", get(container_metadata))
        .route("/v4/{id}/task", get(task_metadata))
        .route("/v4/{id}/stats", get(container_stats))
        .route("/v4/{id}/task/stats", get(task_stats))
        .route("/v2/credentials/{id}", get(role_credentials))
        .with_state(Arc::new(state));
    let served = tokio::spawn(async move {
        let r = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "the task endpoint stopped");
        }
    });
    Some((ep, served))
}

/// Binds 169.254.170.2 at a port of its own, adding the address to `lo` first when the
/// machine does not have it.
async fn bind() -> Result<tokio::net::TcpListener, String> {
    let at = (endpoint::ADDRESS, 0);
    match tokio::net::TcpListener::bind(at).await {
        Ok(l) => return Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {}
        Err(e) => return Err(format!("cannot listen on {}: {e}", endpoint::ADDRESS)),
    }
    let added = tokio::task::spawn_blocking(|| {
        std::process::Command::new("ip")
            .args([
                "addr",
                "add",
                &format!("{}/32", endpoint::ADDRESS),
                "dev",
                "lo",
            ])
            .output()
    })
    .await
    .map_err(|e| e.to_string())?;
    match added {
        Ok(out) if out.status.success() => {
            tracing::info!(
                address = endpoint::ADDRESS,
                "added to lo for the task endpoint (kept: other agents on this machine may use it)"
            );
        }
        // Another agent added it meanwhile.
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("File exists") => {}
        Ok(out) => {
            return Err(format!(
                "cannot add {}/32 to lo (`ip addr add` said: {}); run ecsctl as root, or add it yourself",
                endpoint::ADDRESS,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Err(e) => {
            return Err(format!(
                "cannot add {}/32 to lo: cannot run `ip`: {e}",
                endpoint::ADDRESS
            ));
        }
    }
    tokio::net::TcpListener::bind(at)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", endpoint::ADDRESS))
}

/// The endpoint's key: 32 random bytes made once (mode 0600) and kept, so that ids and
/// tokens stay the same across restarts of the agent.
fn load_or_make_key(path: &FsPath) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(k) if k.len() >= 32 => return Ok(k),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    use ring::rand::SecureRandom;
    let mut key = vec![0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| std::io::Error::other("no randomness"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(key)
}

/// An answer: JSON with a status.
fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    reply(status, credentials::error(code, message))
}

/// The running containers this agent made, or a 503 when the engine does not answer.
async fn running_containers(s: &EndpointState) -> Result<Vec<ContainerSummary>, Response> {
    s.ctx
        .runtime
        .list(&s.ctx.owned(&[]), false)
        .await
        .map_err(|e| {
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "RuntimeUnavailable",
                &e.to_string(),
            )
        })
}

/// Whose container an id is: (cluster, task, container) among this agent's running ones.
async fn whose_container(
    s: &EndpointState,
    id: &str,
) -> Result<(String, String, String), Response> {
    let found = running_containers(s).await?;
    for c in found {
        let (Some(cluster), Some(task), Some(name)) = (
            c.labels.get(labels::CLUSTER),
            c.labels.get(labels::TASK),
            c.labels.get(labels::CONTAINER),
        ) else {
            continue;
        };
        if s.endpoint.metadata_id(cluster, task, name) == id {
            return Ok((cluster.clone(), task.clone(), name.clone()));
        }
    }
    Err(not_found())
}

/// Whose task a credentials id is: (cluster, task).
async fn whose_task(s: &EndpointState, id: &str) -> Result<(String, String), Response> {
    let found = running_containers(s).await?;
    for c in found {
        if let (Some(cluster), Some(task)) =
            (c.labels.get(labels::CLUSTER), c.labels.get(labels::TASK))
            && s.endpoint.credentials_id(cluster, task) == id
        {
            return Ok((cluster.clone(), task.clone()));
        }
    }
    Err(not_found())
}

fn not_found() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        "NotFound",
        "no task of this agent has this id",
    )
}

/// What the answers are made of: the task, its definition, its containers as inspected.
struct Loaded {
    cluster: String,
    task_id: String,
    status: api::task::TaskStatus,
    td: api::taskdef::TaskDefinitionSpec,
    task_definition: String,
    service: Option<String>,
    /// (container name, inspect) of the task's containers, in definition order.
    containers: Vec<(String, ContainerInfo)>,
    /// The awsvpc namespace holder's addresses.
    netns_ips: Vec<String>,
}

impl Loaded {
    fn facts<'a>(
        &'a self,
        account: &'a str,
        pairs: &'a [(&'a str, &'a ContainerInfo)],
    ) -> metadata::TaskFacts<'a> {
        metadata::TaskFacts {
            cluster: &self.cluster,
            task_id: &self.task_id,
            status: &self.status,
            td: &self.td,
            task_definition: &self.task_definition,
            service: self.service.as_deref(),
            account,
            containers: pairs,
        }
    }

    fn pairs(&self) -> Vec<(&str, &ContainerInfo)> {
        self.containers
            .iter()
            .map(|(n, i)| (n.as_str(), i))
            .collect()
    }

    /// Whether `peer` may ask for this task: one of its addresses (any caller for a
    /// host-mode or networkless task, which has the host's).
    fn is_callers(&self, peer: IpAddr) -> bool {
        use api::taskdef::NetworkMode;
        match self.td.network_mode() {
            NetworkMode::Host | NetworkMode::None => true,
            NetworkMode::Awsvpc => self.netns_ips.iter().any(|ip| ip.parse() == Ok(peer)),
            NetworkMode::Bridge => self
                .containers
                .iter()
                .flat_map(|(_, i)| i.ip_addresses.values())
                .any(|ip| ip.parse() == Ok(peer)),
        }
    }
}

async fn load(s: &EndpointState, cluster: &str, task: &str) -> Result<Loaded, Response> {
    let unavailable = |e: String| refused(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", &e);
    let obj = s
        .ctx
        .store
        .get(&api::ObjectKey::new(api::Kind::Task, Some(cluster), task))
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .ok_or_else(not_found)?;
    let status: api::task::TaskStatus = obj.status_as().unwrap_or_default();
    let spec: api::task::TaskSpec = obj.spec_as().map_err(|e| unavailable(e.to_string()))?;
    let td_ref = if status.task_definition.is_empty() {
        spec.task_definition.clone()
    } else {
        status.task_definition.clone()
    };
    let td_obj = s
        .ctx
        .store
        .get(&api::ObjectKey::new(
            api::Kind::TaskDefinition,
            None,
            &td_ref,
        ))
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .ok_or_else(not_found)?;
    let td: api::taskdef::TaskDefinitionSpec =
        td_obj.spec_as().map_err(|e| unavailable(e.to_string()))?;
    let filter = s
        .ctx
        .owned(&[(labels::TASK, task), (labels::CLUSTER, cluster)]);
    let mut by_name = std::collections::BTreeMap::new();
    let mut netns_ips = Vec::new();
    for c in s
        .ctx
        .runtime
        .list(&filter, true)
        .await
        .map_err(|e| unavailable(e.to_string()))?
    {
        let Ok(info) = s.ctx.runtime.inspect(&c.id).await else {
            continue;
        };
        if info.labels.get(labels::NETNS).is_some_and(|v| v == "true") {
            netns_ips = info.ip_addresses.values().cloned().collect();
        } else if let Some(name) = info.labels.get(labels::CONTAINER) {
            by_name.insert(name.clone(), info);
        }
    }
    let containers = td
        .container_definitions
        .iter()
        .filter_map(|d| by_name.remove(&d.name).map(|i| (d.name.clone(), i)))
        .collect();
    Ok(Loaded {
        cluster: cluster.to_string(),
        task_id: task.to_string(),
        service: obj.metadata.labels.get(labels::SERVICE).cloned(),
        task_definition: td_obj.display_name(),
        status,
        td,
        containers,
        netns_ips,
    })
}

/// The task a metadata id belongs to, loaded, if the caller is one of its containers.
async fn own_task(
    s: &EndpointState,
    id: &str,
    peer: SocketAddr,
) -> Result<(Loaded, String), Response> {
    let (cluster, task, container) = whose_container(s, id).await?;
    let loaded = load(s, &cluster, &task).await?;
    if !loaded.is_callers(peer.ip()) {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "a container reads only its own task's metadata",
        ));
    }
    Ok((loaded, container))
}

type Peer = ConnectInfo<SocketAddr>;
type St = State<Arc<EndpointState>>;

async fn container_metadata(
    State(s): St,
    ConnectInfo(peer): Peer,
    Path(id): Path<String>,
) -> Response {
    let (loaded, name) = match own_task(&s, &id, peer).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let pairs = loaded.pairs();
    let facts = loaded.facts(&s.account, &pairs);
    match pairs.iter().find(|(n, _)| *n == name) {
        Some((n, info)) => reply(
            StatusCode::OK,
            metadata::container(&facts, n, info, &loaded.netns_ips),
        ),
        None => not_found(),
    }
}

async fn task_metadata(State(s): St, ConnectInfo(peer): Peer, Path(id): Path<String>) -> Response {
    let (loaded, _) = match own_task(&s, &id, peer).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let pairs = loaded.pairs();
    reply(
        StatusCode::OK,
        metadata::task(&loaded.facts(&s.account, &pairs), &loaded.netns_ips),
    )
}

async fn container_stats(
    State(s): St,
    ConnectInfo(peer): Peer,
    Path(id): Path<String>,
) -> Response {
    let (loaded, name) = match own_task(&s, &id, peer).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some((_, info)) = loaded.containers.iter().find(|(n, _)| *n == name) else {
        return not_found();
    };
    match s.ctx.runtime.stats(&info.id).await {
        Ok(st) => reply(StatusCode::OK, metadata::stats(info, &st)),
        Err(e) => refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            &e.to_string(),
        ),
    }
}

async fn task_stats(State(s): St, ConnectInfo(peer): Peer, Path(id): Path<String>) -> Response {
    let (loaded, _) = match own_task(&s, &id, peer).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut each = Vec::new();
    for (_, info) in &loaded.containers {
        let st = if info.state.is_alive() {
            s.ctx.runtime.stats(&info.id).await.ok()
        } else {
            None
        };
        each.push((info, st));
    }
    reply(StatusCode::OK, metadata::task_stats(&each))
}

async fn role_credentials(
    State(s): St,
    ConnectInfo(peer): Peer,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (cluster, task) = match whose_task(&s, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(token) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return refused(
            StatusCode::UNAUTHORIZED,
            "NoAuthorization",
            "send the task's AWS_CONTAINER_AUTHORIZATION_TOKEN in the Authorization header",
        );
    };
    if !s.endpoint.token_is(&cluster, &task, token) {
        return refused(
            StatusCode::FORBIDDEN,
            "InvalidAuthorization",
            "the Authorization header is not this task's token",
        );
    }
    let loaded = match load(&s, &cluster, &task).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    if !loaded.is_callers(peer.ip()) {
        return refused(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "a container fetches only its own task's credentials",
        );
    }
    let Some(arn) = loaded.td.task_role_arn.clone() else {
        return refused(
            StatusCode::NOT_FOUND,
            "NoRole",
            "this task has no taskRoleArn",
        );
    };
    let role = match api::role::role_name(&arn) {
        Ok(r) => r,
        Err(e) => return refused(StatusCode::NOT_FOUND, "NoRole", &e),
    };
    let roles = s.ctx.roles.clone();
    let c = cluster.clone();
    let got = tokio::task::spawn_blocking(move || roles.credentials(&c, &role)).await;
    match got {
        Ok(Ok(creds)) => reply(
            StatusCode::OK,
            credentials::answer(
                &creds,
                &credentials::role_arn(&arn, &s.account),
                time::OffsetDateTime::now_utc(),
            ),
        ),
        Ok(Err(controllers::task::roles::RoleError::Refused(m))) => {
            tracing::warn!(task, cluster, reason = %m, "role credentials refused");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "CredentialsUnavailable",
                &m,
            )
        }
        Ok(Err(controllers::task::roles::RoleError::Unreachable(m))) => {
            refused(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", &m)
        }
        Err(e) => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            &e.to_string(),
        ),
    }
}
