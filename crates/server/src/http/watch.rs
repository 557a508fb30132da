//! `GET /v1/watch?from=N`: newline-delimited JSON watch events, one per line, until the
//! client goes away or the server shuts down. Without `from` the watch starts at the
//! current revision (only new events). An error after the stream started (the watch fell
//! too far behind) is sent as a last line `{"error": "..."}`. Only events of objects the
//! identity may read are sent.

use super::{AppState, blocking, query};
use crate::error::ApiError;
use admission::access::Identity;
use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::stream;
use serde::Deserialize;
use std::convert::Infallible;
use store::{Store, Watch};
use tokio::sync::watch::Receiver;

#[derive(Debug, Deserialize)]
pub(crate) struct WatchQuery {
    from: Option<u64>,
}

pub(crate) async fn watch(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    q: Result<Query<WatchQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let from = query(q)?.from;
    // An expired `from` is answered with 410 before the stream starts.
    let watch = blocking(&state.store, move |s: &dyn Store| {
        s.watch(from.unwrap_or_else(|| s.revision()))
    })
    .await?;
    let lines = stream::unfold(Some((watch, state.shutdown.clone(), who)), next_line);
    let body = Body::from_stream(lines);
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

type LineState = Option<(Watch, Receiver<bool>, Identity)>;

async fn next_line(state: LineState) -> Option<(Result<Bytes, Infallible>, LineState)> {
    let (mut watch, mut shutdown, who) = state?;
    let item = loop {
        let item = tokio::select! {
            // Also fires if the sender is gone, which only happens at shutdown.
            _ = shutdown.wait_for(|stopping| *stopping) => return None,
            item = watch.next() => item?,
        };
        match &item {
            // Skipped: another cluster's object, or a kind the role may not read.
            Ok(event) if !who.may_read(&event.object) => continue,
            _ => break item,
        }
    };
    match item {
        Ok(event) => Some((Ok(to_line(&event)), Some((watch, shutdown, who)))),
        Err(e) => {
            tracing::warn!(error = %e, "watch ended");
            Some((
                Ok(to_line(&api::wire::StreamError {
                    error: e.to_string(),
                })),
                None,
            ))
        }
    }
}

fn to_line(value: &impl serde::Serialize) -> Bytes {
    // Serializing plain data to a Vec cannot fail; an empty object keeps the stream valid
    // if it ever did.
    let mut line = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    line.push(b'\n');
    Bytes::from(line)
}
