//! Connections to targets: each target keeps a pool of idle HTTP/1.1 keep-alive connections
//! (hyper's `client::conn::http1`, one spawned task per connection), reused newest first.
//!
//! A connection goes back to its target's pool when the response it carried has been read to
//! the end; it is closed (its sender dropped, which ends its task) when it idled longer than
//! [`IDLE_TIMEOUT`], when the pool is full, when the target drains or when the target goes away.
//! Expired connections are dropped by the requests and health checks of their target.

use crate::proxy::ReqBody;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How long an idle connection to a target is kept.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting to a target may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections kept per target at most (more are closed when they come back).
const MAX_IDLE: usize = 512;

/// A sender on a connection to a target.
pub(crate) type Sender = SendRequest<ReqBody>;

/// The idle connections of one target, the most recently used last.
#[derive(Debug, Default)]
pub(crate) struct ConnPool {
    idle: Mutex<Vec<Idle>>,
}

#[derive(Debug)]
struct Idle {
    sender: Sender,
    since: Instant,
}

impl ConnPool {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // Nothing is left half-done under this lock: a poisoned one is still consistent.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used idle connection that is not closed or expired.
    fn take(&self) -> Option<Sender> {
        let mut idle = self.idle();
        while let Some(conn) = idle.pop() {
            if conn.since.elapsed() >= IDLE_TIMEOUT {
                // The newest one expired, so all the older ones did too.
                idle.clear();
                return None;
            }
            if !conn.sender.is_closed() {
                return Some(conn.sender);
            }
        }
        None
    }

    /// A connection whose response was read to the end, ready for another request.
    pub fn put(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle();
        if idle
            .first()
            .is_some_and(|oldest| now.duration_since(oldest.since) >= IDLE_TIMEOUT)
        {
            idle.retain(|c| now.duration_since(c.since) < IDLE_TIMEOUT);
        }
        if idle.len() < MAX_IDLE {
            idle.push(Idle { sender, since: now });
        }
    }

    /// Closes the connections that idled past the timeout.
    pub fn sweep(&self) {
        let mut idle = self.idle();
        idle.retain(|c| c.since.elapsed() < IDLE_TIMEOUT && !c.sender.is_closed());
    }

    /// Closes every idle connection (the target drains).
    pub fn clear(&self) {
        self.idle().clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.idle().len()
    }
}

/// Why a request did not get a response from a target.
#[derive(Debug)]
pub(crate) enum SendError {
    /// Nothing reached the target: it refused or did not answer the connection, or the
    /// connection closed before the request was written.
    NotSent(Box<dyn std::error::Error + Send + Sync>),
    /// The request was (maybe partly) written, then the connection failed or closed.
    Failed(hyper::Error),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotSent(e) => write!(f, "request not sent: {e}"),
            SendError::Failed(e) => write!(f, "request failed: {e}"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::NotSent(e) => Some(&**e),
            SendError::Failed(e) => Some(e),
        }
    }
}

/// Sends `req` to the target at `addr` over an idle connection of `pool`, or a new one when
/// none is usable. A pooled connection that turns out closed before the request was written is
/// dropped and the request goes over the next one. Returns the response and the connection,
/// which goes back to the pool once the response is read ([`ConnPool::put`]).
pub(crate) async fn send(
    pool: &ConnPool,
    addr: SocketAddr,
    mut req: Request<ReqBody>,
) -> Result<(Response<Incoming>, Sender), SendError> {
    loop {
        let (mut sender, reused) = match pool.take() {
            Some(sender) => (sender, true),
            None => (connect(addr).await?, false),
        };
        if let Err(e) = sender.ready().await {
            if reused {
                continue;
            }
            return Err(SendError::NotSent(Box::new(e)));
        }
        match sender.try_send_request(req).await {
            Ok(response) => return Ok((response, sender)),
            Err(mut e) => match e.take_message() {
                Some(back) if reused => req = back,
                Some(_) => return Err(SendError::NotSent(Box::new(e.into_error()))),
                None => return Err(SendError::Failed(e.into_error())),
            },
        }
    }
}

/// A new connection to `addr`, its task spawned.
async fn connect(addr: SocketAddr) -> Result<Sender, SendError> {
    let not_sent = |e: Box<dyn std::error::Error + Send + Sync>| SendError::NotSent(e);
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| not_sent(format!("connect timed out after {CONNECT_TIMEOUT:?}").into()))?
        .map_err(|e| not_sent(Box::new(e)))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| not_sent(Box::new(e)))?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(%addr, error = %e, "target connection ended with an error");
        }
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::service::service_fn;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A backend answering `ok`, counting the connections it accepted; with `keep_alive`
    /// false it closes each connection after one response.
    async fn backend_with(keep_alive: bool) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .keep_alive(keep_alive)
                        .serve_connection(
                            TokioIo::new(stream),
                            service_fn(|_req| async {
                                Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                                    Bytes::from_static(b"ok"),
                                )))
                            }),
                        ),
                );
            }
        });
        (addr, accepted)
    }

    async fn backend() -> (SocketAddr, Arc<AtomicUsize>) {
        backend_with(true).await
    }

    fn get() -> Request<ReqBody> {
        let mut req = Request::new(ReqBody::Full(Full::new(Bytes::new())));
        req.headers_mut()
            .insert(hyper::header::HOST, "t".parse().expect("host"));
        req
    }

    async fn round_trip(pool: &ConnPool, addr: SocketAddr) {
        use http_body_util::BodyExt;
        let (response, sender) = send(pool, addr, get()).await.expect("response");
        let body = response.into_body().collect().await.expect("body");
        assert_eq!(body.to_bytes(), "ok");
        pool.put(sender);
    }

    #[tokio::test]
    async fn connections_are_reused_and_closed_ones_replaced() {
        let (addr, accepted) = backend().await;
        let pool = ConnPool::default();
        for _ in 0..5 {
            round_trip(&pool, addr).await;
        }
        assert_eq!(
            accepted.load(Ordering::Relaxed),
            1,
            "one connection for all"
        );
        assert_eq!(pool.len(), 1);
        pool.clear();
        round_trip(&pool, addr).await;
        assert_eq!(accepted.load(Ordering::Relaxed), 2, "cleared: a new one");
    }

    #[tokio::test]
    async fn connections_the_target_closed_are_not_used_again() {
        let (addr, accepted) = backend_with(false).await;
        let pool = ConnPool::default();
        for _ in 0..3 {
            round_trip(&pool, addr).await;
            // Whether or not it saw the close yet, the next request gets a fresh connection.
        }
        assert_eq!(accepted.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_refused_connection_is_not_sent() {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        let err = send(&ConnPool::default(), addr, get())
            .await
            .expect_err("refused");
        assert!(matches!(err, SendError::NotSent(_)), "{err}");
    }
}
