//! The accept loop of every API listener (unix socket, TCP, TLS), with the limits that keep a
//! client without a token from holding the server's file descriptors:
//!
//! - **At most [`ConnectionLimits::max_connections`] open connections per listener.** At the
//!   cap the loop stops accepting until one closes: new connections wait in the kernel's
//!   backlog instead of being refused, so an authenticated client that arrives while the
//!   server is full is served as soon as a slot frees (at the latest when the header timeout
//!   below closes an idle one) rather than failing, and the server never holds more
//!   descriptors than the cap.
//! - **Request headers within [`ConnectionLimits::header_read_timeout`]**, for the first
//!   request and for every next one on a kept-alive connection (hyper's header read timeout):
//!   a connection that says nothing is closed.
//! - **A TLS handshake within the same timeout**, run in the connection's own task (holding
//!   its slot), so a client that connects and says nothing delays nobody else.
//! - A 401 answers with `Connection: close` (see `http::auth`), so a client without a token
//!   cannot keep the connection for another try.
//!
//! Shutdown: the loop stops accepting when the stop flag flips, every connection is asked to
//! finish the request it is serving and close (open watches and log streams end on the same
//! flag), and [`serve`] returns once every connection is gone (or after 30 s, abandoning what
//! is left after [`ConnectionLimits::shutdown_grace`]: a client sending a body slowly cannot
//! hold shutdown).

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// How long a client may take to send a request's headers (or to finish its TLS handshake)
/// by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections per listener by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// How long shutdown waits for the requests in flight to finish by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Limits on the connections of one API listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Longest a client may take to send the headers of a request (the first one, and each
    /// next one on a kept-alive connection) and to complete a TLS handshake; then the
    /// connection is closed.
    pub header_read_timeout: Duration,
    /// Open connections at most; beyond it new connections wait in the kernel's backlog
    /// until one closes.
    pub max_connections: usize,
    /// How long shutdown waits for the requests in flight; then their connections are
    /// abandoned (a client sending a body slowly cannot hold the server's exit).
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// A bound listener, and how its connections become byte streams.
pub(crate) enum Acceptor {
    Unix(UnixListener),
    Tcp(TcpListener),
    Tls(TcpListener, TlsAcceptor),
}

/// Serves `app` on `acceptor` until `stop` becomes `true`, then waits for every connection to
/// finish (see the module's documentation).
pub(crate) async fn serve(
    acceptor: Acceptor,
    app: Router,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
) {
    let max = limits.max_connections.max(1);
    // One permit per open connection; taking every permit back means every one has closed.
    let slots = Arc::new(Semaphore::new(max));
    let service = TowerToHyperService::new(app);
    loop {
        let Some(permit) = until_stopped(&stop, slots.clone().acquire_owned()).await else {
            break;
        };
        let Ok(permit) = permit else { break };
        let accepted = match until_stopped(&stop, accept(&acceptor)).await {
            None => break,
            Some(a) => a,
        };
        let conn = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment (as axum::serve does)
                // rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (service, stop) = (service.clone(), stop.clone());
        tokio::spawn(async move {
            let _slot = permit;
            match conn {
                Conn::Unix(s) => serve_connection(s, service, limits, stop).await,
                Conn::Tcp(s) => serve_connection(s, service, limits, stop).await,
                Conn::TlsPending(s, tls) => {
                    let handshake = tokio::time::timeout(limits.header_read_timeout, tls.accept(s));
                    match until_stopped(&stop, handshake).await {
                        Some(Ok(Ok(s))) => serve_connection(s, service, limits, stop).await,
                        Some(Ok(Err(e))) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Some(Err(_)) => tracing::debug!("TLS handshake timed out; closed"),
                        None => {}
                    }
                }
            }
        });
    }
    // Every connection holds a permit until it closes. A client in the middle of sending a
    // body slowly would keep shutdown waiting forever: past the grace period its connection is
    // abandoned (the process is about to exit; every acknowledged write is on disk already).
    let all = slots.acquire_many(u32::try_from(max).unwrap_or(u32::MAX));
    if tokio::time::timeout(limits.shutdown_grace, all)
        .await
        .is_err()
    {
        tracing::warn!(
            open = max - slots.available_permits(),
            grace = ?limits.shutdown_grace,
            "connections still open after the shutdown grace period; abandoned"
        );
    }
}

/// An accepted connection, before TLS if the listener has it.
enum Conn {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
    TlsPending(tokio::net::TcpStream, TlsAcceptor),
}

async fn accept(acceptor: &Acceptor) -> std::io::Result<Conn> {
    match acceptor {
        Acceptor::Unix(l) => l.accept().await.map(|(s, _)| Conn::Unix(s)),
        Acceptor::Tcp(l) => {
            let (s, _) = l.accept().await?;
            let _ = s.set_nodelay(true);
            Ok(Conn::Tcp(s))
        }
        Acceptor::Tls(l, tls) => {
            let (s, _) = l.accept().await?;
            let _ = s.set_nodelay(true);
            Ok(Conn::TlsPending(s, tls.clone()))
        }
    }
}

/// HTTP/1.1 on one connection, with the header read timeout; on shutdown the request being
/// served finishes and the connection closes.
async fn serve_connection<I>(
    io: I,
    service: TowerToHyperService<Router>,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(io), service)
        // `ecsctl exec` upgrades its connection (POST /v1/tasks/{id}/exec).
        .with_upgrades();
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Timeouts, resets and malformed requests: the client's problem, not the server's.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// `fut`'s output, or `None` once `stop` becomes `true` first.
async fn until_stopped<T>(
    stop: &watch::Receiver<bool>,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    let mut stop = stop.clone();
    tokio::select! {
        v = fut => Some(v),
        () = stopped(&mut stop) => None,
    }
}

/// Completes once `stop` is `true` (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send: drop it here, not across the caller's awaits.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}
