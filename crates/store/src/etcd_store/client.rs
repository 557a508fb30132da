//! The transport to etcd: its v3 API through the JSON gateway every etcd member serves on its
//! client port (`POST /v3/...`), over HTTP/1.1 with kept-alive connections, TLS when asked.
//!
//! Why not the `etcd-client` crate: it speaks gRPC, and building it needs `protoc` on every
//! machine that builds ecsctl, the default single-machine build included; the gateway is
//! etcd's own documented JSON mapping of the same API, and ecsctl needs a handful of calls.
//!
//! Several endpoints: requests go to the member last reached; when it cannot be reached, or
//! answers that it cannot serve right now (no leader, an election under way), the request
//! moves to the next member, and so on until the request's deadline.

use super::wire;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long to wait for a TCP connection (and a TLS handshake) to one member.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause before trying the members again once each has failed.
const ROUND_PAUSE: Duration = Duration::from_millis(100);

/// Files for TLS to etcd (`--etcd-ca`, `--etcd-cert`, `--etcd-key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdTls {
    /// CA certificates (PEM) that sign the members' certificates.
    pub ca: Option<PathBuf>,
    /// A client certificate (PEM), for members started with `--client-cert-auth`.
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key: Option<PathBuf>,
}

impl EtcdTls {
    /// Whether any TLS file was given (etcd is then spoken to over `https`).
    pub fn is_enabled(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }

    /// Reads the files as a connection will, so that a bad one is refused before anything
    /// starts ([`crate::StoreError::Config`], naming the flag and the file).
    pub fn check(&self) -> Result<(), crate::StoreError> {
        if !self.is_enabled() {
            return Ok(());
        }
        tls_config(self)
            .map(|_| ())
            .map_err(|e| crate::StoreError::Config(e.to_string()))
    }
}

/// What a call to etcd failed with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EtcdError {
    /// No member could be reached, or none could serve, before the deadline.
    #[error("etcd is unavailable ({tried}): {last}")]
    Unavailable { tried: String, last: String },
    /// A member refused the request (a gRPC status other than "unavailable").
    #[error("etcd refused the request: {0}")]
    Refused(String),
    /// A member answered something that does not decode.
    #[error("etcd answered what ecsctl cannot read: {0}")]
    Protocol(String),
    /// TLS files that cannot be used.
    #[error("{0}")]
    Config(String),
}

/// One attempt's failure: whether another member (or a later try) may succeed.
enum Attempt {
    Retry(String),
    Fatal(EtcdError),
}

struct Member {
    addr: String,
    /// Idle kept-alive connections.
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

/// A connection to an etcd cluster through any of its members.
pub(crate) struct Gateway {
    members: Vec<Member>,
    /// The member requests go to first.
    current: AtomicUsize,
    tls: Option<(tokio_rustls::TlsConnector, Arc<rustls::ClientConfig>)>,
    /// How long one call may take, retries included.
    deadline: Duration,
}

impl Gateway {
    /// A gateway to the members at `endpoints` (`HOST:PORT`).
    pub(crate) fn new(
        endpoints: &[String],
        tls: &EtcdTls,
        deadline: Duration,
    ) -> Result<Self, EtcdError> {
        if endpoints.is_empty() {
            return Err(EtcdError::Config(
                "no etcd endpoint given (etcd://HOST:PORT[,HOST:PORT...])".to_string(),
            ));
        }
        let tls = if tls.is_enabled() {
            let config = Arc::new(tls_config(tls)?);
            Some((tokio_rustls::TlsConnector::from(config.clone()), config))
        } else {
            None
        };
        Ok(Gateway {
            members: endpoints
                .iter()
                .map(|addr| Member {
                    addr: addr.clone(),
                    idle: Mutex::new(Vec::new()),
                })
                .collect(),
            current: AtomicUsize::new(0),
            tls,
            deadline,
        })
    }

    /// The members' addresses, in the order given.
    pub(crate) fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.addr.clone()).collect()
    }

    /// `POST path` with `request`, decoded from JSON; moves to other members as the module's
    /// comment says.
    pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        request: &Req,
    ) -> Result<Resp, EtcdError> {
        let body = Bytes::from(
            serde_json::to_vec(request).map_err(|e| EtcdError::Protocol(e.to_string()))?,
        );
        let started = std::time::Instant::now();
        let bytes = self
            .with_members(|member| self.post(member, path, body.clone()))
            .await?;
        tracing::trace!(path, micros = started.elapsed().as_micros(), "etcd call");
        serde_json::from_slice(&bytes).map_err(|e| {
            EtcdError::Protocol(format!(
                "{path}: {e}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ))
        })
    }

    /// `POST path` with `request`, answered by a stream (a watch, lease keep-alives): the
    /// body as it arrives, on a connection of its own, and the member that serves it.
    pub(crate) async fn stream<Req: Serialize>(
        &self,
        path: &str,
        request: &Req,
    ) -> Result<(String, hyper::body::Incoming), EtcdError> {
        let body = Bytes::from(
            serde_json::to_vec(request).map_err(|e| EtcdError::Protocol(e.to_string()))?,
        );
        self.with_members(|member| {
            let body = body.clone();
            async move {
                let mut sender = self.connect(member).await?;
                let response = sender
                    .send_request(self.request(member, path, body))
                    .await
                    .map_err(|e| {
                        Attempt::Retry(format!("{}: {}", member.addr, exchange_error(&e)))
                    })?;
                if !response.status().is_success() {
                    let status = response.status();
                    let bytes = response
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    return Err(refusal(member, status, &bytes));
                }
                Ok((member.addr.clone(), response.into_body()))
            }
        })
        .await
    }

    /// Runs `attempt` on the current member, then on the next ones, in rounds, until one
    /// succeeds, one fails for good, or the deadline passes.
    async fn with_members<'a, T, F, Fut>(&'a self, attempt: F) -> Result<T, EtcdError>
    where
        F: Fn(&'a Member) -> Fut,
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
        let deadline = tokio::time::Instant::now() + self.deadline;
        let n = self.members.len();
        let mut last = String::new();
        loop {
            let start = self.current.load(Ordering::Relaxed);
            for i in 0..n {
                let index = (start + i) % n;
                let member = &self.members[index];
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                match tokio::time::timeout(left, attempt(member)).await {
                    Ok(Ok(v)) => {
                        if index != start {
                            self.current.store(index, Ordering::Relaxed);
                            tracing::info!(member = %member.addr, "etcd: now using this member");
                        }
                        return Ok(v);
                    }
                    Ok(Err(Attempt::Fatal(e))) => return Err(e),
                    Ok(Err(Attempt::Retry(why))) => {
                        tracing::debug!(member = %member.addr, why, "etcd member could not serve");
                        last = why;
                    }
                    Err(_) => last = format!("{}: no answer in time", member.addr),
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(self.unavailable(last));
                }
            }
            tokio::time::sleep(ROUND_PAUSE).await;
            if tokio::time::Instant::now() >= deadline {
                return Err(self.unavailable(last));
            }
        }
    }

    fn unavailable(&self, last: String) -> EtcdError {
        EtcdError::Unavailable {
            tried: format!(
                "tried {} for {:?}",
                self.endpoints().join(", "),
                self.deadline
            ),
            last,
        }
    }

    /// One request and its whole answer, on a kept-alive connection to `member`.
    async fn post(&self, member: &Member, path: &str, body: Bytes) -> Result<Bytes, Attempt> {
        let idle = member
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut sender = match idle {
            Some(s) if !s.is_closed() => s,
            _ => self.connect(member).await?,
        };
        // A kept-alive connection the member closed meanwhile fails here: retried (on a new
        // connection, as the next attempt takes none of the closed ones).
        let response = sender
            .send_request(self.request(member, path, body))
            .await
            .map_err(|e| Attempt::Retry(format!("{}: {}", member.addr, exchange_error(&e))))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| Attempt::Retry(format!("{}: {}", member.addr, exchange_error(&e))))?
            .to_bytes();
        if !sender.is_closed() {
            member
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(sender);
        }
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(refusal(member, status, &bytes))
        }
    }

    fn request(&self, member: &Member, path: &str, body: Bytes) -> hyper::Request<Full<Bytes>> {
        let mut request = hyper::Request::new(Full::new(body));
        *request.method_mut() = hyper::Method::POST;
        *request.uri_mut() = path.parse().unwrap_or_default();
        let headers = request.headers_mut();
        if let Ok(host) = member.addr.parse() {
            headers.insert(hyper::header::HOST, host);
        }
        headers.insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        request
    }

    /// A new HTTP/1.1 connection to `member` (TLS when configured).
    async fn connect(&self, member: &Member) -> Result<SendRequest<Full<Bytes>>, Attempt> {
        let retry = |e: String| Attempt::Retry(format!("{}: {e}", member.addr));
        let tcp = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect(&member.addr),
        )
        .await
        .map_err(|_| retry("connect timed out".to_string()))?
        .map_err(|e| retry(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => handshake(tcp).await.map_err(retry),
            Some((connector, _)) => {
                let name = server_name(&member.addr).map_err(Attempt::Fatal)?;
                let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
                    .await
                    .map_err(|_| retry("TLS handshake timed out".to_string()))?
                    .map_err(|e| retry(handshake_error(&e, &member.addr)))?;
                handshake(tls).await.map_err(retry)
            }
        }
    }
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| exchange_error(&e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "etcd connection closed");
        }
    });
    Ok(sender)
}

/// What a failed exchange with a member says: hyper's error with its causes (alone it says
/// only "connection error"), and "TLS" before a TLS failure. In TLS 1.3 a member that
/// refuses the client's certificate (or its lack of one) says so after the handshake, in an
/// alert that arrives when the first answer is read: that one also says what to check.
fn exchange_error(e: &hyper::Error) -> String {
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(error) = cause {
        let tls = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        match tls {
            Some(tls) => {
                message.push_str(&format!(": TLS: {tls}"));
                if refused_client_certificate(tls) {
                    message.push_str(
                        " (etcd did not accept the client certificate: with --client-cert-auth \
                         it needs --etcd-cert and --etcd-key signed by its --trusted-ca-file)",
                    );
                }
            }
            None => message.push_str(&format!(": {error}")),
        }
        cause = error.source();
    }
    message
}

/// A failed TLS handshake, and when the member's certificate is what failed, what to check.
fn handshake_error(e: &std::io::Error, addr: &str) -> String {
    let bad_certificate = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|tls| matches!(tls, rustls::Error::InvalidCertificate(_)));
    if bad_certificate {
        let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
        format!(
            "TLS handshake: {e} (etcd's certificate must be signed by a CA of --etcd-ca \
             and name {host})"
        )
    } else {
        format!("TLS handshake: {e}")
    }
}

/// Whether a TLS error is the member's alert about the client's certificate.
fn refused_client_certificate(e: &rustls::Error) -> bool {
    use rustls::AlertDescription as Alert;
    matches!(
        e,
        rustls::Error::AlertReceived(
            Alert::BadCertificate
                | Alert::CertificateRequired
                | Alert::UnknownCA
                | Alert::CertificateUnknown
                | Alert::CertificateExpired
                | Alert::CertificateRevoked
                | Alert::UnsupportedCertificate
        )
    )
}

/// What a member's error answer means: gRPC "unavailable" and "deadline exceeded" (no
/// leader, leader changed, a request that timed out in raft) are worth another member or a
/// later try; anything else is the request's fault.
fn refusal(member: &Member, status: hyper::StatusCode, body: &[u8]) -> Attempt {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct GatewayError {
        code: i64,
        message: String,
    }
    let e: GatewayError = serde_json::from_slice(body).unwrap_or_default();
    let message = if e.message.is_empty() {
        format!("HTTP {status}: {}", String::from_utf8_lossy(body).trim())
    } else {
        e.message
    };
    const UNAVAILABLE: i64 = 14;
    const DEADLINE_EXCEEDED: i64 = 4;
    if matches!(e.code, UNAVAILABLE | DEADLINE_EXCEEDED) || status.is_server_error() && e.code == 0
    {
        Attempt::Retry(format!("{}: {message}", member.addr))
    } else {
        Attempt::Fatal(EtcdError::Refused(message))
    }
}

/// Whom the client trusts (`ca`, else the system's bundle) and which certificate it shows.
fn tls_config(files: &EtcdTls) -> Result<rustls::ClientConfig, EtcdError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
    let config_error = |flag: &str, path: &std::path::Path, e: String| {
        EtcdError::Config(format!("{flag} {}: {e}", path.display()))
    };
    let ca = files
        .ca
        .clone()
        .unwrap_or_else(|| PathBuf::from(SYSTEM_BUNDLE));
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&ca)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| config_error("--etcd-ca", &ca, e.to_string()))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(config_error(
            "--etcd-ca",
            &ca,
            "no usable PEM certificate in the file".to_string(),
        ));
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| EtcdError::Config(format!("TLS: {e}")))?
    .with_root_certificates(roots);
    match (&files.cert, &files.key) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| config_error("--etcd-cert", cert, e.to_string()))?;
            if chain.is_empty() {
                return Err(config_error(
                    "--etcd-cert",
                    cert,
                    "no PEM certificate in the file".to_string(),
                ));
            }
            let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                let why = match e {
                    rustls::pki_types::pem::Error::NoItemsFound => {
                        "no PEM private key in the file".to_string()
                    }
                    e => e.to_string(),
                };
                config_error("--etcd-key", key, why)
            })?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|e| match e {
                    rustls::Error::InconsistentKeys(_) => EtcdError::Config(format!(
                        "--etcd-key {} is not the key of --etcd-cert {}",
                        key.display(),
                        cert.display()
                    )),
                    e => config_error("--etcd-cert", cert, e.to_string()),
                })
        }
        _ => Err(EtcdError::Config(
            "--etcd-cert and --etcd-key go together: give both or neither".to_string(),
        )),
    }
}

/// The name a member's certificate must carry: the host of `HOST:PORT`.
fn server_name(addr: &str) -> Result<rustls::pki_types::ServerName<'static>, EtcdError> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| EtcdError::Config(format!("{host:?} is not a host name or IP address")))
}

/// Reads JSON messages off a streamed body as they complete (the gateway writes one object
/// per message).
pub(crate) struct MessageReader {
    body: hyper::body::Incoming,
    buffer: Vec<u8>,
}

impl MessageReader {
    pub(crate) fn new(body: hyper::body::Incoming) -> Self {
        MessageReader {
            body,
            buffer: Vec::new(),
        }
    }

    /// The next message; `None` when the stream ended.
    pub(crate) async fn next<T: DeserializeOwned>(&mut self) -> Option<Result<T, EtcdError>> {
        loop {
            let mut messages = serde_json::Deserializer::from_slice(&self.buffer).into_iter::<T>();
            match messages.next() {
                Some(Ok(message)) => {
                    let used = messages.byte_offset();
                    self.buffer.drain(..used);
                    return Some(Ok(message));
                }
                Some(Err(e)) if !e.is_eof() => {
                    return Some(Err(EtcdError::Protocol(format!("a streamed message: {e}"))));
                }
                // Incomplete (or only whitespace so far): read more.
                _ => {}
            }
            match self.body.frame().await? {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Err(e) => {
                    return Some(Err(EtcdError::Unavailable {
                        tried: "a stream".to_string(),
                        last: format!("the stream broke off: {e}"),
                    }));
                }
            }
        }
    }
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("endpoints", &self.endpoints())
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// The calls ecsctl makes, typed.
impl Gateway {
    pub(crate) async fn range(
        &self,
        request: &wire::RangeRequest,
    ) -> Result<wire::RangeResponse, EtcdError> {
        self.call("/v3/kv/range", request).await
    }

    pub(crate) async fn txn(
        &self,
        request: &wire::TxnRequest,
    ) -> Result<wire::TxnResponse, EtcdError> {
        self.call("/v3/kv/txn", request).await
    }

    pub(crate) async fn status(&self) -> Result<wire::StatusResponse, EtcdError> {
        self.call("/v3/maintenance/status", &serde_json::json!({}))
            .await
    }
}
