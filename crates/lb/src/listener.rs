//! Listeners: a bound socket and its accept loop, whose routing can be swapped in place (so a
//! changed rule or target set never rebinds) and which stops when told or when dropped.

use crate::balance::BalancerCell;
use crate::proxy::{self, ConnCtx, Forwarded};
use crate::router::Router;
use crate::swap::SwapCell;
use crate::tcp;
use api::kinds::LbProtocol;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where a listener sends what it accepts: its LB's targets and its own rules.
#[derive(Debug)]
pub(crate) struct Route {
    pub lb: String,
    pub balancer: Arc<BalancerCell>,
    pub router: Router,
    pub port: u16,
}

/// The current route of a listener, read once per request (HTTP) or connection (TCP).
pub(crate) type RouteCell = SwapCell<Route>;

/// The TLS configuration of an HTTPS listener, read once per connection and swapped in place
/// when its certificates change.
type TlsCell = SwapCell<rustls::ServerConfig>;

/// A bound listener. Dropping it stops the accept loop and its connections.
#[derive(Debug)]
pub(crate) struct ListenerHandle {
    pub protocol: LbProtocol,
    pub lb: (String, String),
    pub local_addr: SocketAddr,
    route: Arc<RouteCell>,
    /// HTTPS only.
    tls: Option<Arc<TlsCell>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ListenerHandle {
    /// Binds `addr`; `tls` is the configuration of an HTTPS listener (`None` otherwise).
    pub async fn bind(
        addr: SocketAddr,
        protocol: LbProtocol,
        lb: (String, String),
        route: Route,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let route = Arc::new(RouteCell::new(route));
        let tls = tls.map(|config| Arc::new(TlsCell::new(config)));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            protocol,
            Shared {
                route: route.clone(),
                tls: tls.clone(),
            },
            stopped,
        ));
        tracing::info!(%addr, ?protocol, lb = %lb.1, cluster = %lb.0, "listener bound");
        Ok(ListenerHandle {
            protocol,
            lb,
            local_addr,
            route,
            tls,
            stop,
            task,
        })
    }

    /// New rules or targets for the same socket.
    pub fn set_route(&mut self, lb: (String, String), route: Route) {
        self.lb = lb;
        self.route.store(route);
    }

    /// New certificates for an HTTPS listener: connections accepted from now on use them.
    pub fn set_tls(&self, config: Arc<rustls::ServerConfig>) {
        if let Some(cell) = &self.tls {
            cell.store(config);
        }
    }

    /// Stops accepting and waits until the socket is closed (so its port can be bound again);
    /// open HTTP connections finish their current request, TCP ones are closed.
    pub async fn close(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        tracing::info!(addr = %self.local_addr, lb = %self.lb.1, "listener closed");
    }
}

/// What the accept loop hands every connection.
struct Shared {
    route: Arc<RouteCell>,
    tls: Option<Arc<TlsCell>>,
}

/// A client connection with no request for this long (and none in flight) is closed: checked
/// every period, so an idle connection or one that trickles a request head that never ends
/// (slowloris) is closed 30-60 s after its last request, or 30 s after it was accepted.
const IDLE_PERIOD: Duration = Duration::from_secs(30);

async fn accept_loop(
    listener: TcpListener,
    protocol: LbProtocol,
    shared: Shared,
    mut stopped: watch::Receiver<bool>,
) {
    let forwarded = Forwarded::listener(shared.route.load().port, protocol == LbProtocol::Https);
    loop {
        let accepted = tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let stopped = stopped.clone();
        let ctx = || {
            Arc::new(ConnCtx {
                route: shared.route.clone(),
                forwarded: forwarded.connection(peer),
                stopped: stopped.clone(),
                activity: Default::default(),
            })
        };
        match (protocol, &shared.tls) {
            (LbProtocol::Http, _) => {
                tokio::spawn(serve_http(stream, ctx(), stopped, IDLE_PERIOD));
            }
            (LbProtocol::Https, Some(tls)) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.load());
                let ctx = ctx();
                tokio::spawn(async move {
                    // In its own task with a deadline: a silent client delays nobody else.
                    let handshake = tokio::time::timeout(
                        crate::tls::HANDSHAKE_TIMEOUT,
                        acceptor.accept(stream),
                    );
                    match handshake.await {
                        Ok(Ok(stream)) => serve_http(stream, ctx, stopped, IDLE_PERIOD).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
            (LbProtocol::Https, None) => {
                tracing::warn!(%peer, "HTTPS listener without certificates: connection dropped");
            }
            (LbProtocol::Tcp, _) => {
                tokio::spawn(tcp::serve(stream, shared.route.load(), stopped));
            }
        }
    }
}

/// Serves one client connection until it ends, the listener stops or it idles for a whole
/// `idle` period ([`idle_watchdog`]).
async fn serve_http<S>(
    stream: S,
    ctx: Arc<ConnCtx>,
    mut stopped: watch::Receiver<bool>,
    idle: Duration,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let watchdog = idle_watchdog(ctx.clone(), idle);
    let service = service_fn(move |req| proxy::handle(req, ctx.clone()));
    // HTTP/1.1, or HTTP/2 when the client says so (ALPN `h2` on HTTPS, the HTTP/2 preface
    // on HTTP); targets get HTTP/1.1 either way, as from an ALB. The idle watchdog stands in
    // for hyper's header read timeout, which takes a new timer for every request.
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().keep_alive(true).header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(conn, watchdog);
    let result = tokio::select! {
        biased;
        result = conn.as_mut() => result,
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
        () = watchdog => {
            tracing::debug!(period = ?idle, "closing a client connection idle for a whole period");
            Ok(())
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "client connection ended with an error");
    }
}

/// Returns once a whole `period` passed in which the connection began or ended no request and
/// had none in flight: it was idle, or reading a request head that never ended, all along.
async fn idle_watchdog(ctx: Arc<ConnCtx>, period: Duration) {
    let mut seen = ctx.activity.snapshot();
    loop {
        tokio::time::sleep(period).await;
        let now = ctx.activity.snapshot();
        if now == seen && !now.1 {
            return;
        }
        seen = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::{Balancer, Pool};
    use crate::target::TargetState;
    use bytes::Bytes;
    use http_body_util::Full;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const PERIOD: Duration = Duration::from_millis(300);

    /// A target that answers `ok` after `delay`.
    async fn slow_target(delay: Duration) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let svc = service_fn(move |_req| async move {
                    tokio::time::sleep(delay).await;
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"ok"),
                    )))
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc),
                );
            }
        });
        addr
    }

    /// A listener serving with the idle watchdog's `PERIOD`, to `target`.
    async fn proxy(target: SocketAddr) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let spec: api::kinds::Listener = serde_json::from_value(serde_json::json!(
            {"port": addr.port(), "protocol": "HTTP", "defaultService": "web"}))
        .expect("listener");
        let balancer = Balancer {
            pools: [(
                "web".to_string(),
                Pool::new(vec![TargetState::new("t", target, "web")]),
            )]
            .into(),
            ..Balancer::default()
        };
        let route = Arc::new(RouteCell::new(Route {
            lb: "lb".into(),
            balancer: Arc::new(BalancerCell::new(balancer)),
            router: Router::new(&spec),
            port: addr.port(),
        }));
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            let _stop = stop;
            while let Ok((stream, peer)) = listener.accept().await {
                let ctx = Arc::new(ConnCtx {
                    route: route.clone(),
                    forwarded: Forwarded::listener(addr.port(), false).connection(peer),
                    stopped: stopped.clone(),
                    activity: Default::default(),
                });
                tokio::spawn(serve_http(stream, ctx, stopped.clone(), PERIOD));
            }
        });
        addr
    }

    /// Sends a GET and reads its answer (the whole of it fits one read on loopback).
    async fn get(conn: &mut TcpStream) -> String {
        conn.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .expect("write");
        let mut buf = vec![0; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("answered within 5 s")
            .expect("read");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[tokio::test]
    async fn a_request_head_that_never_ends_is_cut_off() {
        let addr = proxy(slow_target(Duration::ZERO).await).await;
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        let started = Instant::now();
        conn.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n")
            .await
            .expect("write");
        // One more header line every 50 ms, as slowloris sends them, until the proxy closes.
        let mut buf = [0; 256];
        let closed = loop {
            if started.elapsed() > Duration::from_secs(5) {
                break false;
            }
            if conn.write_all(b"X-Slow: 1\r\n").await.is_err() {
                break true;
            }
            match tokio::time::timeout(Duration::from_millis(50), conn.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => break true,
                Ok(Ok(n)) => panic!("answered a partial head: {:?}", &buf[..n]),
                Err(_) => {}
            }
        };
        assert!(closed, "still open after 5 s");
        let took = started.elapsed();
        assert!(took >= PERIOD, "closed after {took:?}");
    }

    #[tokio::test]
    async fn busy_and_recently_used_connections_stay_open() {
        // A response that takes three periods, then another request after a third of one.
        let addr = proxy(slow_target(PERIOD * 3).await).await;
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        let first = get(&mut conn).await;
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        tokio::time::sleep(PERIOD / 3).await;
        let second = get(&mut conn).await;
        assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    }
}
