//! `POST /v1/tasks/{id}/exec?cluster=C` (`ecsctl exec`): a command in one of a task's
//! containers, with its stdin, stdout and stderr streamed over the upgraded connection
//! (`api::wire::exec`), and its exit code last.
//!
//! Checked in this order, each refusal an ordinary error answer before anything runs: the
//! caller's role (`admission::access`, [`Action::Exec`]: admins, and deployers of the task's
//! cluster), the task (it exists, runs, has execute command enabled, and runs on this
//! server's own instance: an agent's engine is out of the server's reach), the container
//! (named, or the task's only one). Then the exec is recorded as an event on the task, the
//! command started, the connection upgraded, and the end recorded as a second event.

mod decide;
mod events;
mod stream;

use super::{AppState, ClusterQuery, blocking, query};
use crate::error::ApiError;
use admission::access::{self, Action, Identity};
use api::wire::exec::{EXEC_PROTOCOL, ExecRequest};
use api::{Kind, ObjectKey};
use axum::Extension;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use runtime::{ExecSpec, RuntimeError};
use store::{Store, StoreError};
use stream::Outcome;

/// The largest request body an exec takes (a command line, as JSON).
const MAX_REQUEST: usize = 256 * 1024;

pub(crate) async fn exec(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<ClusterQuery>, QueryRejection>,
    mut req: Request,
) -> Result<Response, ApiError> {
    let id = super::path_param(path)?;
    let cluster = query(q)?.cluster_or_default();
    // Decided from the request alone, before looking the task up.
    access::authorize(
        &who,
        &Action::Exec {
            cluster: cluster.clone(),
        },
    )?;
    if !asks_for_exec_upgrade(req.headers()) {
        return Err(ApiError::bad_request(format!(
            "exec streams over an upgraded connection: send `Connection: Upgrade` and `Upgrade: {EXEC_PROTOCOL}` (ecsctl exec does)"
        )));
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    let body = axum::body::to_bytes(req.into_body(), MAX_REQUEST)
        .await
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    let ask: ExecRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?;
    if ask.command.is_empty() || ask.command[0].is_empty() {
        return Err(ApiError::bad_request("exec: no command to run"));
    }

    let key = ObjectKey::new(Kind::Task, Some(&cluster), &id);
    let task = blocking(&state.store, {
        let key = key.clone();
        move |s: &dyn Store| s.get(&key)
    })
    .await?
    .ok_or_else(|| ApiError::from(StoreError::NotFound(key.clone())))?;
    let Some(rt) = state.runtime.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "exec needs the container runtime: this server runs without controllers",
        ));
    };
    decide::check_task(&task, &rt.instance)?;
    let containers = super::logs::task_containers(&rt, &task).await?;
    let (container, cid) = decide::pick_container(&id, &containers, ask.container.as_deref())?;

    let command = decide::command_line(&ask.command);
    let by = format!("{} ({})", who.role, who.name);
    let head = format!("(task {id}) execute command in container {container} by {by}");
    // Recorded before anything runs: an exec that cannot be recorded does not happen.
    events::record(&state.store, &key, format!("{head} started: {command}"))
        .await
        .map_err(ApiError::from)?;
    let spec = ExecSpec {
        cmd: ask.command.clone(),
        stdin: ask.stdin,
        tty: ask.tty,
        size: ask.size.map(|s| (s.cols, s.rows)),
    };
    let session = match rt.runtime.exec_attach(&cid, &spec).await {
        Ok(s) => s,
        Err(e) => {
            let err = match e {
                RuntimeError::Conflict(_) | RuntimeError::NotFound(_) => ApiError::new(
                    StatusCode::CONFLICT,
                    format!("container {container} of task {id} is not running"),
                ),
                other => super::logs::runtime_error(other),
            };
            let _ = events::record(
                &state.store,
                &key,
                format!("{head} could not start: {}", err.error),
            )
            .await;
            return Err(err);
        }
    };
    tracing::info!(task = %id, %cluster, %container, identity = %who.name, "exec started");

    let (store, runtime, shutdown) = (
        state.store.clone(),
        rt.runtime.clone(),
        state.shutdown.clone(),
    );
    tokio::spawn(async move {
        let outcome = match on_upgrade.await {
            Ok(conn) => stream::bridge(conn, session, runtime, ask.stdin, shutdown).await,
            Err(e) => Outcome::Broken(format!("the connection was not upgraded: {e}")),
        };
        let end = match &outcome {
            Outcome::Exited(code) => format!("{head} exited with code {code}: {command}"),
            Outcome::Broken(why) => format!("{head} broke off ({why}): {command}"),
        };
        tracing::info!(task = %key.name, ?outcome, "exec ended");
        if let Err(e) = events::record(&store, &key, end).await {
            tracing::warn!(task = %key.name, error = %e, "cannot record the end of an exec");
        }
    });

    Ok((
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static(EXEC_PROTOCOL)),
        ],
    )
        .into_response())
}

/// `Connection: Upgrade` and `Upgrade: ecsctl-exec.v1`.
fn asks_for_exec_upgrade(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName, want: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(want)))
        })
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, EXEC_PROTOCOL)
}
