//! The HTTP/1.1 client for the ecsctl server: JSON over a unix socket, or over TCP (plain on
//! loopback, or TLS) with a bearer token. One connection per request keeps it simple; a CLI
//! makes only a handful.
//!
//! A client may know several servers of one control plane (`--server URL,URL...`): it keeps
//! to the one it reached last and moves on, in order, only when that one cannot be reached
//! ([`servers`], [`transport`]). Watches follow it ([`WatchStream`]).

mod addr;
#[cfg(test)]
mod failover_tests;
#[cfg(test)]
pub(crate) mod fake;
mod lines;
mod paths;
mod servers;
mod tls;
mod transport;
mod watch;

pub use addr::{ServerAddr, default_data_dir, parse_servers, read_token};
pub use lines::{BrokeOff, LineStream};
pub use paths::{encode, objects_path};
use servers::Servers;
pub use servers::{Attempt, Unreachable, is_unreachable};
use tls::tls_config;
use transport::{Failure, REQUEST_TIMEOUT};
pub use watch::WatchStream;

use crate::error::{ApiError, usage};
use anyhow::{Context, Result};
use api::wire::ErrorBody;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST, UPGRADE};
use hyper::{Method, Request};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;

/// A client of the servers of one control plane (usually one server).
///
/// Every request may be sent more than once: when a server cannot be reached (nothing
/// answered: connection refused or timed out, reset before an answer, a TLS handshake that
/// broke off), the same request goes to the next server. That is safe because every request
/// ecsctl makes is idempotent: writes carry the whole desired object (apply; `run-task`
/// names its tasks itself), status writes set the whole status, deletes of what is gone
/// are no-ops, and the rest only read. A write whose answer was lost may so be reported
/// `unchanged` by the retry instead of `created`. An answer (any HTTP status) is never
/// retried.
#[derive(Debug, Clone)]
pub struct Client {
    servers: Arc<Servers>,
    /// Sent to TCP and https servers (a unix socket's permissions are its access control).
    token: Option<String>,
    /// For `https://` servers.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Client {
    /// Builds a client from `--server` (each value one address or several separated by
    /// commas; none: the default socket), `--token-file` and `--ca-file`. Every address is
    /// checked here, before any request.
    pub fn from_args(
        servers: &[String],
        token_file: Option<&Path>,
        ca_file: Option<&Path>,
    ) -> Result<Self> {
        let mut list = parse_servers(servers)?;
        if list.is_empty() {
            list.push(ServerAddr::default_socket()?);
        }
        let remote = list.iter().find(|a| !matches!(a, ServerAddr::Unix(_)));
        let token = match (remote, token_file) {
            (Some(_), Some(f)) => Some(read_token(f)?),
            (Some(addr), None) => {
                return Err(usage(format!(
                    "the server at {addr} is reached over TCP, which needs a bearer token: pass --token-file FILE"
                )));
            }
            (None, _) => None,
        };
        let tls = if list.iter().any(|a| matches!(a, ServerAddr::Https(_))) {
            Some(tls_config(ca_file)?)
        } else {
            None
        };
        Ok(Client {
            servers: Arc::new(Servers::new(list)),
            token,
            tls,
        })
    }

    /// Every server this client may use, in order.
    pub fn servers(&self) -> &[ServerAddr] {
        self.servers.all()
    }

    /// `GET path` -> the answer's body (an `api::wire` type, or an object as JSON).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body -> the answer's body.
    pub async fn post<B, T>(&self, path: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = Bytes::from(serde_json::to_vec(body)?);
        self.call(Method::POST, path, Some(body)).await
    }

    /// `PUT path` with a JSON body -> the answer's body.
    pub async fn put<B, T>(&self, path: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = Bytes::from(serde_json::to_vec(body)?);
        self.call(Method::PUT, path, Some(body)).await
    }

    /// `DELETE path` -> the answer's body.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::DELETE, path, None).await
    }

    /// Sends one request (with a JSON body, already serialized). A non-2xx answer becomes an
    /// [`ApiError`].
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<T> {
        let (i, resp) = self.send(&method, path, body.as_ref(), None, None).await?;
        let addr = self.servers.addr(i);
        let status = resp.status().as_u16();
        let body = read_body(addr, resp).await?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| {
                anyhow::anyhow!(
                    "the ecsctl server answered {path} with something this ecsctl cannot read: {e}"
                )
            });
        }
        Err(api_error(status, &body).into())
    }

    /// `POST path` with a JSON body, asking for the connection to be upgraded to `protocol`
    /// (`ecsctl exec`): the connection once the server agreed (101), or its error answer.
    /// Like every request it moves to the next server only when one cannot be reached; the
    /// next one runs the command only if the task is on its own instance.
    pub async fn upgrade<B>(
        &self,
        path: &str,
        body: &B,
        protocol: &str,
    ) -> Result<hyper::upgrade::Upgraded>
    where
        B: Serialize + ?Sized,
    {
        let body = Bytes::from(serde_json::to_vec(body)?);
        let (i, resp) = self
            .send(&Method::POST, path, Some(&body), None, Some(protocol))
            .await?;
        let addr = self.servers.addr(i);
        let status = resp.status().as_u16();
        if status != 101 {
            let body = read_body(addr, resp).await?;
            return Err(api_error(status, &body).into());
        }
        hyper::upgrade::on(resp).await.with_context(|| {
            format!("the ecsctl server at {addr} did not hand over the connection")
        })
    }

    /// `GET path` answered with newline-delimited JSON (logs): the stream, read line by
    /// line, for as long as the server sends it. Only the start of the answer is bounded in
    /// time. A watch is [`Client::watch`], which outlives its server.
    pub async fn stream(&self, path: &str) -> Result<LineStream> {
        Ok(self.stream_from(path, None).await?.1)
    }

    /// `GET /v1/watch?from=FROM`, resumed on another server whenever its server goes away.
    /// Connects at once: an error answer, or no server at all, is this call's error.
    pub async fn watch(&self, from: u64) -> Result<WatchStream> {
        WatchStream::start(self.clone(), from).await
    }

    /// [`Client::watch`] that connects on its first `next`: for a caller that would rather
    /// wait for a server there than fail here (the agent's store).
    pub fn watch_unopened(&self, from: u64) -> WatchStream {
        WatchStream::unopened(self.clone(), from)
    }

    /// [`Client::stream`], skipping the server `lost` (a stream's, just gone) unless it is
    /// the last one left; with the index of the server that answered.
    async fn stream_from(&self, path: &str, lost: Option<usize>) -> Result<(usize, LineStream)> {
        let (i, resp) = self.send(&Method::GET, path, None, lost, None).await?;
        let addr = self.servers.addr(i);
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = read_body(addr, resp).await?;
            return Err(api_error(status, &body).into());
        }
        let (parts, body) = resp.into_parts();
        Ok((
            i,
            LineStream {
                headers: parts.headers,
                body,
                buf: Vec::new(),
                done: false,
                addr: addr.to_string(),
            },
        ))
    }

    /// Sends one request to the current server and, while a server cannot be reached, to
    /// the next ones (each once, in order; see [`Client`] for why that is safe). Returns
    /// the index of the server that answered and its answer with the body unread, or
    /// [`Unreachable`] naming every server tried and why.
    async fn send(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Bytes>,
        lost: Option<usize>,
        upgrade: Option<&str>,
    ) -> Result<(usize, hyper::Response<hyper::body::Incoming>)> {
        let current = self.servers.current();
        let order = self.servers.order(current, lost);
        let mut tried = Vec::new();
        for (k, &i) in order.iter().enumerate() {
            let addr = self.servers.addr(i);
            let req = self.request(addr, method, path, body, upgrade)?;
            match transport::exchange(addr, self.tls.as_ref(), req).await {
                Ok(resp) => {
                    self.servers.reached(current, i);
                    return Ok((i, resp));
                }
                Err(Failure::Other(e)) => return Err(e),
                Err(Failure::Unreachable(reason)) => {
                    if let Some(next) = order.get(k + 1) {
                        tracing::warn!(
                            server = %addr,
                            %reason,
                            next = %self.servers.addr(*next),
                            "cannot reach the ecsctl server; trying the next one"
                        );
                    }
                    tried.push(Attempt {
                        server: addr.to_string(),
                        reason,
                    });
                }
            }
        }
        Err(Unreachable { tried }.into())
    }

    /// The request for `addr` (a fresh one per attempt: sending consumes it).
    fn request(
        &self,
        addr: &ServerAddr,
        method: &Method,
        path: &str,
        body: Option<&Bytes>,
        upgrade: Option<&str>,
    ) -> Result<Request<Full<Bytes>>> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(HOST, "localhost")
            .header("accept", "application/json");
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        if let Some(protocol) = upgrade {
            req = req.header(CONNECTION, "upgrade").header(UPGRADE, protocol);
        }
        if let Some(t) = self
            .token
            .as_ref()
            .filter(|_| !matches!(addr, ServerAddr::Unix(_)))
        {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        req.body(Full::new(body.cloned().unwrap_or_default()))
            .context("building the request")
    }
}

/// The whole body of an answer, within [`REQUEST_TIMEOUT`].
async fn read_body(
    addr: &ServerAddr,
    resp: hyper::Response<hyper::body::Incoming>,
) -> Result<Bytes> {
    match tokio::time::timeout(REQUEST_TIMEOUT, resp.into_body().collect()).await {
        Ok(body) => Ok(body
            .with_context(|| format!("reading the answer of the ecsctl server at {addr}"))?
            .to_bytes()),
        Err(_) => anyhow::bail!(
            "the ecsctl server at {addr} did not answer within {}s",
            REQUEST_TIMEOUT.as_secs()
        ),
    }
}

/// The error answer (`{"error", "details"}`), or, from something that is not the ecsctl
/// server, the HTTP status and the first line of what it said.
fn api_error(status: u16, raw: &[u8]) -> ApiError {
    if let Ok(body) = serde_json::from_slice::<ErrorBody>(raw) {
        return ApiError {
            status,
            message: body.error,
            details: body.details,
        };
    }
    let text = String::from_utf8_lossy(raw);
    let text = text.trim();
    let message = if text.is_empty() {
        format!("the server answered HTTP {status}")
    } else {
        format!(
            "the server answered HTTP {status}: {}",
            text.lines().next().unwrap_or("")
        )
    };
    ApiError {
        status,
        message,
        details: Vec::new(),
    }
}
