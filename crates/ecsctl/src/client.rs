//! The HTTP/1.1 client for the ecsctl server: JSON over a unix socket, or over TCP (plain on
//! loopback, or TLS) with a bearer token. One connection per request keeps it simple; a CLI
//! makes only a handful.

use crate::error::{ApiError, io_reason, usage};
use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long a request may take before we give up on the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAddr {
    Unix(PathBuf),
    /// `host:port`
    Tcp(String),
    /// `host:port`, spoken to over TLS
    Https(String),
}

impl ServerAddr {
    /// Parses `unix:PATH`, `tcp://HOST:PORT`, `https://HOST:PORT` or a bare socket path.
    pub fn parse(s: &str) -> Result<Self> {
        let tcp = s
            .strip_prefix("tcp://")
            .map(|r| (r, false))
            .or_else(|| s.strip_prefix("https://").map(|r| (r, true)));
        if let Some((rest, tls)) = tcp {
            let rest = rest.trim_end_matches('/');
            match rest.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                    Ok(if tls {
                        ServerAddr::Https(rest.to_string())
                    } else {
                        ServerAddr::Tcp(rest.to_string())
                    })
                }
                _ => Err(usage(format!(
                    "invalid server address {s:?}: expected {}://HOST:PORT",
                    if tls { "https" } else { "tcp" }
                ))),
            }
        } else if let Some(path) = s.strip_prefix("unix:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(usage(format!(
                    "invalid server address {s:?}: expected unix:PATH"
                )));
            }
            Ok(ServerAddr::Unix(PathBuf::from(path)))
        } else if s.contains("://") {
            Err(usage(format!(
                "invalid server address {s:?}: expected unix:PATH, a socket path, tcp://HOST:PORT or https://HOST:PORT"
            )))
        } else if s.is_empty() {
            Err(usage("empty server address"))
        } else {
            Ok(ServerAddr::Unix(PathBuf::from(s)))
        }
    }

    /// The default: the socket in the default data directory.
    pub fn default_socket() -> Result<Self> {
        Ok(ServerAddr::Unix(default_data_dir()?.join("ecsctl.sock")))
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Unix(p) => write!(f, "unix:{}", p.display()),
            ServerAddr::Tcp(a) => write!(f, "tcp://{a}"),
            ServerAddr::Https(a) => write!(f, "https://{a}"),
        }
    }
}

/// `$ECSCTL_HOME`, else `~/.local/share/ecsctl`.
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("ECSCTL_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/ecsctl")),
        None => Err(usage(
            "cannot find the data directory: set ECSCTL_HOME (or HOME)",
        )),
    }
}

/// Reads a bearer token file: the first line, trimmed; an empty token is refused.
pub fn read_token(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        usage(format!(
            "cannot read token file {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        return Err(usage(format!("token file {} is empty", path.display())));
    }
    Ok(token)
}

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

    /// `GET path` -> JSON.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body -> JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// `DELETE path` -> JSON.
    pub async fn delete(&self, path: &str) -> Result<Value> {
        self.call(Method::DELETE, path, None).await
    }

    /// Sends one request. A non-2xx answer becomes an [`ApiError`].
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.call_inner(method, path, body)).await {
            Ok(r) => r,
            Err(_) => anyhow::bail!(
                "the ecsctl server at {} did not answer within {}s",
                self.addr,
                REQUEST_TIMEOUT.as_secs()
            ),
        }
    }

    async fn call_inner(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let resp = self.send_request(method, path, body).await?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .with_context(|| format!("reading the answer of the ecsctl server at {}", self.addr))?
            .to_bytes();
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if (200..300).contains(&status) {
            return json.ok_or_else(|| {
                anyhow::anyhow!("the ecsctl server answered with something that is not JSON")
            });
        }
        Err(api_error(status, json, &body).into())
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
            let json: Option<Value> = serde_json::from_slice(&body).ok();
            return Err(api_error(status, json, &body).into());
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
        body: Option<&Value>,
    ) -> Result<hyper::Response<hyper::body::Incoming>> {
        let bytes = match body {
            Some(v) => Bytes::from(serde_json::to_vec(v)?),
            None => Bytes::new(),
        };
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "localhost")
            .header("accept", "application/json");
        if body.is_some() {
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

/// Whom a client trusts: the certificates in `ca_file` (the server's own self-signed
/// certificate will do), else the system's CA bundle.
fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
    let path = match ca_file {
        Some(p) => p.to_path_buf(),
        None if Path::new(SYSTEM_BUNDLE).exists() => PathBuf::from(SYSTEM_BUNDLE),
        None => {
            return Err(usage(
                "an https:// server needs certificates to trust: pass --ca-file FILE (PEM)",
            ));
        }
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| usage(format!("--ca-file {}: {e}", path.display())))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(usage(format!(
            "--ca-file {}: no usable PEM certificate in the file",
            path.display()
        )));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name a server's certificate must carry: the host of `host:port` (a DNS name or an IP).
fn server_name(addr: &str) -> Result<rustls::pki_types::ServerName<'static>> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| usage(format!("{host:?} is not a host name or IP address")))
}

/// A newline-delimited JSON answer, read one line at a time.
#[derive(Debug)]
pub struct LineStream {
    headers: hyper::HeaderMap,
    body: hyper::body::Incoming,
    buf: Vec<u8>,
    done: bool,
    addr: String,
}

impl LineStream {
    /// A header of the answer, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The next line as JSON; `None` when the server ended the stream. A line
    /// `{"error": "..."}` (the server's way to say why a stream broke off) is an error.
    pub async fn next(&mut self) -> Result<Option<Value>> {
        loop {
            if let Some(line) = take_line(&mut self.buf, self.done) {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(text).with_context(|| {
                    format!(
                        "the ecsctl server at {} sent a line that is not JSON",
                        self.addr
                    )
                })?;
                if let Some(e) = v.get("error").and_then(Value::as_str) {
                    anyhow::bail!("{e}");
                }
                return Ok(Some(v));
            }
            if self.done {
                return Ok(None);
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "the stream from the ecsctl server at {} broke off",
                        self.addr
                    )));
                }
                None => self.done = true,
            }
        }
    }
}

/// Takes the first complete line out of `buf` (without its newline); at the end of the
/// stream, whatever is left.
fn take_line(buf: &mut Vec<u8>, at_end: bool) -> Option<Vec<u8>> {
    match buf.iter().position(|b| *b == b'\n') {
        Some(i) => {
            let mut line: Vec<u8> = buf.drain(..=i).collect();
            line.pop();
            Some(line)
        }
        None if at_end && !buf.is_empty() => Some(std::mem::take(buf)),
        None => None,
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

fn api_error(status: u16, json: Option<Value>, raw: &[u8]) -> ApiError {
    let message = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(raw);
            let text = text.trim();
            if text.is_empty() {
                format!("the server answered HTTP {status}")
            } else {
                format!(
                    "the server answered HTTP {status}: {}",
                    text.lines().next().unwrap_or("")
                )
            }
        });
    let details = json
        .as_ref()
        .and_then(|j| j.get("details"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ApiError {
        status,
        message,
        details,
    }
}

/// Percent-encodes one URL path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/v1/objects/{plural}[/{name}]` with optional `cluster` and `labelSelector` query parameters.
pub fn objects_path(
    kind: api::Kind,
    name: Option<&str>,
    cluster: Option<&str>,
    label_selector: Option<&str>,
) -> String {
    let mut path = format!("/v1/objects/{}", kind.plural());
    if let Some(n) = name {
        path.push('/');
        path.push_str(&encode(n));
    }
    let mut query = Vec::new();
    if let Some(c) = cluster.filter(|_| kind.is_clustered()) {
        query.push(format!("cluster={}", encode(c)));
    }
    if let Some(l) = label_selector.filter(|l| !l.is_empty()) {
        query.push(format!("labelSelector={}", encode(l)));
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Kind;

    #[test]
    fn addresses_parse() {
        assert_eq!(
            ServerAddr::parse("unix:/tmp/x.sock").unwrap(),
            ServerAddr::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            ServerAddr::parse("/tmp/x.sock").unwrap(),
            ServerAddr::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            ServerAddr::parse("rel.sock").unwrap(),
            ServerAddr::Unix("rel.sock".into())
        );
        assert_eq!(
            ServerAddr::parse("tcp://127.0.0.1:7070").unwrap(),
            ServerAddr::Tcp("127.0.0.1:7070".into())
        );
        assert_eq!(
            ServerAddr::parse("tcp://[::1]:7070").unwrap(),
            ServerAddr::Tcp("[::1]:7070".into())
        );
        assert!(ServerAddr::parse("tcp://host").is_err());
        assert!(ServerAddr::parse("http://host:1").is_err());
        assert!(ServerAddr::parse("unix:").is_err());
        assert_eq!(
            ServerAddr::parse("unix:/a b").unwrap().to_string(),
            "unix:/a b"
        );
    }

    #[test]
    fn object_paths() {
        assert_eq!(
            objects_path(Kind::Service, None, Some("default"), None),
            "/v1/objects/services?cluster=default"
        );
        assert_eq!(
            objects_path(Kind::Service, Some("web"), Some("prod"), Some("a=b,c=d")),
            "/v1/objects/services/web?cluster=prod&labelSelector=a%3Db%2Cc%3Dd"
        );
        // Task definitions are account-wide: no cluster parameter.
        assert_eq!(
            objects_path(Kind::TaskDefinition, Some("web:2"), Some("x"), None),
            "/v1/objects/taskdefinitions/web:2"
        );
        assert_eq!(
            objects_path(Kind::Task, Some("a/b"), None, None),
            "/v1/objects/tasks/a%2Fb"
        );
    }

    #[test]
    fn lines_are_split_across_frames() {
        let mut buf = b"{\"a\":1}\n{\"b\"".to_vec();
        assert_eq!(take_line(&mut buf, false).unwrap(), b"{\"a\":1}");
        assert_eq!(take_line(&mut buf, false), None);
        buf.extend_from_slice(b":2}\n");
        assert_eq!(take_line(&mut buf, false).unwrap(), b"{\"b\":2}");
        assert_eq!(take_line(&mut buf, true), None);
        buf.extend_from_slice(b"tail");
        assert_eq!(take_line(&mut buf, true).unwrap(), b"tail");
        assert!(buf.is_empty());
    }

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
