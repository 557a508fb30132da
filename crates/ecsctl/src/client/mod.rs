//! The HTTP/1.1 client for the ecsctl server: JSON over a unix socket, or over TCP (plain on
//! loopback, or TLS) with a bearer token. One connection per request keeps it simple; a CLI
//! makes only a handful.

mod addr;
mod lines;
mod paths;
mod tls;

pub use addr::{ServerAddr, default_data_dir, read_token};
pub use lines::LineStream;
pub use paths::{encode, objects_path};
use tls::{server_name, tls_config};

use crate::error::{ApiError, io_reason, usage};
use anyhow::{Context, Result};
use api::wire::ErrorBody;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long a request may take before we give up on the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The server could not be reached at all.
#[derive(Debug)]
pub struct ConnectError {
    pub addr: String,
    pub reason: String,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot reach the ecsctl server at {}: is `ecsctl server` running? ({})",
            self.addr, self.reason
        )
    }
}

impl std::error::Error for ConnectError {}

/// A client of one server.
#[derive(Debug, Clone)]
pub struct Client {
    addr: ServerAddr,
    token: Option<String>,
    /// For `https://` servers.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Client {
    /// Builds a client from `--server` / `--token-file` (or their defaults).
    pub fn from_args(
        server: Option<&str>,
        token_file: Option<&Path>,
        ca_file: Option<&Path>,
    ) -> Result<Self> {
        let addr = match server {
            Some(s) => ServerAddr::parse(s)?,
            None => ServerAddr::default_socket()?,
        };
        let token = match (&addr, token_file) {
            (ServerAddr::Tcp(_) | ServerAddr::Https(_), Some(f)) => Some(read_token(f)?),
            (ServerAddr::Tcp(_) | ServerAddr::Https(_), None) => {
                return Err(usage(format!(
                    "the server at {addr} is reached over TCP, which needs a bearer token: pass --token-file FILE"
                )));
            }
            (ServerAddr::Unix(_), _) => None,
        };
        let tls = match &addr {
            ServerAddr::Https(_) => Some(tls_config(ca_file)?),
            _ => None,
        };
        Ok(Client { addr, token, tls })
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
        match tokio::time::timeout(REQUEST_TIMEOUT, self.call_inner(method, path, body)).await {
            Ok(r) => r,
            Err(_) => anyhow::bail!(
                "the ecsctl server at {} did not answer within {}s",
                self.addr,
                REQUEST_TIMEOUT.as_secs()
            ),
        }
    }

    async fn call_inner<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<T> {
        let resp = self.send_request(method, path, body).await?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .with_context(|| format!("reading the answer of the ecsctl server at {}", self.addr))?
            .to_bytes();
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|e| {
                anyhow::anyhow!(
                    "the ecsctl server answered {path} with something this ecsctl cannot read: {e}"
                )
            });
        }
        Err(api_error(status, &body).into())
    }

    /// `GET path` answered with newline-delimited JSON (a watch, logs): the stream, read
    /// line by line, for as long as the server sends it. Only the start of the answer is
    /// bounded in time.
    pub async fn stream(&self, path: &str) -> Result<LineStream> {
        let resp =
            match tokio::time::timeout(REQUEST_TIMEOUT, self.send_request(Method::GET, path, None))
                .await
            {
                Ok(r) => r?,
                Err(_) => anyhow::bail!(
                    "the ecsctl server at {} did not answer within {}s",
                    self.addr,
                    REQUEST_TIMEOUT.as_secs()
                ),
            };
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = resp
                .into_body()
                .collect()
                .await
                .with_context(|| {
                    format!("reading the answer of the ecsctl server at {}", self.addr)
                })?
                .to_bytes();
            return Err(api_error(status, &body).into());
        }
        let (parts, body) = resp.into_parts();
        Ok(LineStream {
            headers: parts.headers,
            body,
            buf: Vec::new(),
            done: false,
            addr: self.addr.to_string(),
        })
    }

    /// Sends one request and returns the answer with its body unread.
    async fn send_request(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<hyper::Response<hyper::body::Incoming>> {
        let with_body = body.is_some();
        let bytes = body.unwrap_or_default();
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "localhost")
            .header("accept", "application/json");
        if with_body {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        if let Some(t) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req.body(Full::new(bytes)).context("building the request")?;

        let resp = match &self.addr {
            ServerAddr::Unix(p) => {
                let s = tokio::net::UnixStream::connect(p)
                    .await
                    .map_err(|e| self.connect_error(&e))?;
                send(s, req).await
            }
            ServerAddr::Tcp(a) => {
                let s = tokio::net::TcpStream::connect(a.as_str())
                    .await
                    .map_err(|e| self.connect_error(&e))?;
                send(s, req).await
            }
            ServerAddr::Https(a) => {
                let s = tokio::net::TcpStream::connect(a.as_str())
                    .await
                    .map_err(|e| self.connect_error(&e))?;
                let config = self.tls.clone().context("no TLS configuration")?;
                let name = server_name(a)?;
                let s = tokio_rustls::TlsConnector::from(config)
                    .connect(name, s)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "TLS handshake with the ecsctl server at {} failed: {} (is it serving TLS? does --ca-file hold its certificate or CA?)",
                            self.addr,
                            io_reason(&e)
                        )
                    })?;
                send(s, req).await
            }
        }
        .with_context(|| format!("request to the ecsctl server at {} failed", self.addr))?;
        Ok(resp)
    }

    fn connect_error(&self, e: &std::io::Error) -> anyhow::Error {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "no socket file there".to_string(),
            _ => io_reason(e),
        };
        ConnectError {
            addr: self.addr.to_string(),
            reason,
        }
        .into()
    }
}

async fn send<S>(
    stream: S,
    req: Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection task drives the socket; it ends when the response is read and we drop `sender`.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender.send_request(req).await?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_error_reads_well() {
        let e = ConnectError {
            addr: "unix:/x/ecsctl.sock".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot reach the ecsctl server at unix:/x/ecsctl.sock: is `ecsctl server` running? (connection refused)"
        );
    }
}
