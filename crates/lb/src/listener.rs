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
            })
        };
        match (protocol, &shared.tls) {
            (LbProtocol::Http, _) => {
                tokio::spawn(serve_http(stream, ctx(), stopped));
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
                        Ok(Ok(stream)) => serve_http(stream, ctx, stopped).await,
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

async fn serve_http<S>(stream: S, ctx: Arc<ConnCtx>, mut stopped: watch::Receiver<bool>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| proxy::handle(req, ctx.clone()));
    // HTTP/1.1, or HTTP/2 when the client says so (ALPN `h2` on HTTPS, the HTTP/2 preface
    // on HTTP); targets get HTTP/1.1 either way, as from an ALB.
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "client connection ended with an error");
    }
}
