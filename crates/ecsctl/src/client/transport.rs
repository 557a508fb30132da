//! One request to one server, and what its failure means: the server could not be reached
//! (try the next one), or something answered that a retry elsewhere would not change.

use super::ServerAddr;
use super::tls::server_name;
use crate::error::io_reason;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long connecting (and the TLS handshake) may take: a host that is gone often drops
/// the packets instead of refusing, and the next server should not wait for the kernel's
/// two minutes.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a server that accepted the connection may take to answer. Running out is not a
/// reason to try another server: one that accepted and says nothing is busy (every server
/// waits on the same store), and retrying elsewhere would only add load.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Why one attempt failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// Nothing answered: the connection was refused, timed out or reset before an answer;
    /// no socket file; a TLS handshake that broke off. The reason, in words.
    Unreachable(String),
    /// Something did answer, or the request itself is wrong (a certificate refused, an
    /// answer that is not HTTP, no answer in time): another server would not change that.
    Other(anyhow::Error),
}

/// Sends `req` to `addr` (TLS with `tls` for `https://`) and returns the answer with its
/// body unread.
pub(super) async fn exchange(
    addr: &ServerAddr,
    tls: Option<&Arc<rustls::ClientConfig>>,
    req: Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, Failure> {
    match addr {
        ServerAddr::Unix(p) => {
            let s = connect(tokio::net::UnixStream::connect(p)).await?;
            send(addr, s, req).await
        }
        ServerAddr::Tcp(a) => {
            let s = connect(tokio::net::TcpStream::connect(a.as_str())).await?;
            send(addr, s, req).await
        }
        ServerAddr::Https(a) => {
            let s = connect(tokio::net::TcpStream::connect(a.as_str())).await?;
            let config = tls
                .cloned()
                .ok_or_else(|| Failure::Other(anyhow::anyhow!("no TLS configuration")))?;
            let name = server_name(a).map_err(Failure::Other)?;
            let handshake = tokio_rustls::TlsConnector::from(config).connect(name, s);
            let s = match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
                Err(_) => {
                    return Err(Failure::Unreachable(format!(
                        "no TLS handshake within {}s",
                        CONNECT_TIMEOUT.as_secs()
                    )));
                }
                Ok(Err(e)) if is_tls_refusal(&e) => {
                    return Err(Failure::Other(anyhow::anyhow!(
                        "TLS handshake with the ecsctl server at {addr} failed: {} (is it serving TLS? does --ca-file hold its certificate or CA?)",
                        io_reason(&e)
                    )));
                }
                Ok(Err(e)) => {
                    return Err(Failure::Unreachable(format!(
                        "TLS handshake broke off: {}",
                        io_reason(&e)
                    )));
                }
                Ok(Ok(s)) => s,
            };
            send(addr, s, req).await
        }
    }
}

/// Connects within [`CONNECT_TIMEOUT`]; every failure means the server cannot be reached.
async fn connect<S>(fut: impl Future<Output = std::io::Result<S>>) -> Result<S, Failure> {
    match tokio::time::timeout(CONNECT_TIMEOUT, fut).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(Failure::Unreachable(match e.kind() {
            std::io::ErrorKind::NotFound => "no socket file there".to_string(),
            _ => io_reason(&e),
        })),
        Err(_) => Err(Failure::Unreachable(format!(
            "connection timed out after {}s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// Whether a failed handshake is TLS itself saying no (a certificate not trusted, a peer
/// that does not speak TLS): something answered. tokio-rustls hands rustls' own errors over
/// inside the I/O error; a reset or an early end of the connection is a plain I/O error.
fn is_tls_refusal(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
}

/// HTTP/1.1 over a connected stream, until the answer's head has arrived.
async fn send<S>(
    addr: &ServerAddr,
    stream: S,
    req: Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let exchange = async {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task drives the socket; it ends when the answer is read and
        // `sender` is dropped, or hands the socket over after a 101 (`ecsctl exec`).
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        sender.send_request(req).await
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(e)) if answered(&e) => Err(Failure::Other(
            anyhow::Error::new(e).context(format!("request to the ecsctl server at {addr} failed")),
        )),
        Ok(Err(e)) => Err(Failure::Unreachable(hyper_reason(&e))),
        Err(_) => Err(Failure::Other(anyhow::anyhow!(
            "the ecsctl server at {addr} did not answer within {}s",
            REQUEST_TIMEOUT.as_secs()
        ))),
    }
}

/// Whether a failed exchange got something back (an answer that is not HTTP) or never left
/// (a request hyper refused to send): not a server that is gone.
fn answered(e: &hyper::Error) -> bool {
    e.is_parse() || e.is_parse_status() || e.is_user()
}

/// A failed exchange in words: the I/O error under it (`connection reset by peer`) when
/// there is one.
pub(super) fn hyper_reason(e: &hyper::Error) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io_reason(io);
        }
        source = s.source();
    }
    e.to_string()
}
