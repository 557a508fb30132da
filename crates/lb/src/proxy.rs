//! The HTTP proxy: one request from a listener to a target of the service its rules choose.

use crate::listener::Route;
use crate::target::{InFlight, State, TargetState};
use crate::upstream::{self, SendError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::{Authority, PathAndQuery};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

/// Attempts per request: the first target and up to two others after a connection failure.
const MAX_ATTEMPTS: usize = 3;
/// Request bodies up to this size (with a known length) are buffered so that the request can
/// be sent again to another target; larger or chunked ones are streamed and not retried.
const MAX_BUFFERED_BODY: u64 = 64 * 1024;

/// What a connection's requests need: where it came from and where its listener routes.
#[derive(Debug)]
pub(crate) struct ConnCtx {
    pub route: Arc<crate::listener::RouteCell>,
    /// Its X-Forwarded-For, -Proto and -Port values.
    pub forwarded: Forwarded,
    /// Turns true when the listener stops: upgraded connections (WebSocket) end then too.
    pub stopped: tokio::sync::watch::Receiver<bool>,
    /// What the connection's idle watchdog reads.
    pub activity: Activity,
}

/// Requests begun and ended on one client connection, for its idle watchdog
/// ([`crate::listener`]): one relaxed atomic add each, where a timer re-armed per request
/// would cost an allocation and a timer wheel insertion.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    begun: AtomicU64,
    ended: AtomicU64,
}

impl Activity {
    /// Requests begun and ended so far, and whether one is in flight.
    pub fn snapshot(&self) -> (u64, bool) {
        let ended = self.ended.load(Ordering::Relaxed);
        let begun = self.begun.load(Ordering::Relaxed);
        (begun.wrapping_add(ended), begun != ended)
    }
}

/// One request in progress on a client connection, from its head until its response body
/// is done (or dropped).
#[derive(Debug)]
struct Active(Arc<ConnCtx>);

impl Active {
    fn begin(ctx: Arc<ConnCtx>) -> Active {
        ctx.activity.begun.fetch_add(1, Ordering::Relaxed);
        Active(ctx)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.activity.ended.fetch_add(1, Ordering::Relaxed);
    }
}

/// Serves one request; never fails (errors become 502/503/404 responses with a text body).
pub(crate) async fn handle(
    req: Request<Incoming>,
    ctx: Arc<ConnCtx>,
) -> Result<Response<ProxyBody>, Infallible> {
    // Counts as activity for the connection's idle watchdog until the response body is done.
    let active = Active::begin(ctx);
    let response = route_and_forward(req, &active.0).await;
    Ok(response.map(|mut body| {
        body.active = Some(active);
        body
    }))
}

async fn route_and_forward(req: Request<Incoming>, ctx: &ConnCtx) -> Response<ProxyBody> {
    let route = ctx.route.load();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(Authority::as_str));
    let Some(service) = route.router.route(host, req.uri().path()) else {
        let text = format!(
            "no rule of listener {} matched host {:?} and path {:?}, and the listener has no defaultService\n",
            route.port,
            host.unwrap_or(""),
            req.uri().path()
        );
        return text_response(StatusCode::NOT_FOUND, text);
    };
    forward(req, ctx, &route, service).await
}

async fn forward(
    mut req: Request<Incoming>,
    ctx: &ConnCtx,
    route: &Route,
    service: &str,
) -> Response<ProxyBody> {
    let balancer = route.balancer.load();
    // A protocol switch (WebSocket): the client's side of the connection, once hyper hands it
    // over after our 101 answer.
    let upgrade = requested_upgrade(req.headers()).map(|protocol| Upgrade {
        protocol,
        client: hyper::upgrade::on(&mut req),
    });
    let (parts, body) = req.into_parts();
    let idempotent = matches!(
        parts.method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    );
    let mut headers = parts.headers;
    // HTTP/2 carries the host as the :authority of the URI; targets speak HTTP/1.1 and read
    // Host (else hyper would name the target's own address).
    if !headers.contains_key(header::HOST)
        && let Some(authority) = parts.uri.authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        headers.insert(header::HOST, host);
    }
    forwarded_headers(&mut headers, &ctx.forwarded);
    if let Some(upgrade) = &upgrade {
        // Hop-by-hop, so stripped above; asked again of the target.
        headers.insert(header::UPGRADE, upgrade.protocol.clone());
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));

    let mut body = match body.size_hint().upper() {
        // No body (a GET): nothing to read.
        _ if body.is_end_stream() => Pending::Buffered(Bytes::new()),
        Some(n) if n <= MAX_BUFFERED_BODY => {
            match Limited::new(body, MAX_BUFFERED_BODY as usize)
                .collect()
                .await
            {
                Ok(collected) => Pending::Buffered(collected.to_bytes()),
                Err(e) => {
                    let text = format!("could not read the request body: {e}\n");
                    return text_response(StatusCode::BAD_REQUEST, text);
                }
            }
        }
        _ => Pending::Stream(Some(body)),
    };

    let mut tried: Vec<Arc<TargetState>> = Vec::new();
    let mut last_error = None;
    while tried.len() < MAX_ATTEMPTS {
        let Some(target) = balancer.pick(service, &tried) else {
            break;
        };
        let Some(req_body) = body.take() else { break };
        let mut upstream = Request::new(req_body);
        *upstream.method_mut() = parts.method.clone();
        *upstream.uri_mut() = Uri::from(path.clone());
        *upstream.headers_mut() = headers.clone();
        if !upstream.headers().contains_key(header::HOST) {
            // An HTTP/1.0 client may send none; HTTP/1.1 targets need one.
            upstream
                .headers_mut()
                .insert(header::HOST, target_host(&target));
        }
        let in_flight = InFlight::start(target.clone());
        match upstream::send(&target.conns, target.addr, upstream).await {
            Ok((mut response, conn)) => {
                if response.status() == StatusCode::SWITCHING_PROTOCOLS
                    && let Some(upgrade) = upgrade
                {
                    return switch_protocols(&mut response, upgrade, in_flight, ctx);
                }
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                let body = ProxyBody::new(Kind::Upstream(UpstreamBody {
                    body,
                    conn: Some(conn),
                    in_flight: Some(in_flight),
                }));
                return Response::from_parts(parts, body);
            }
            Err(e) => {
                drop(in_flight);
                // Nothing reached the target when the connection failed, so any buffered
                // request may go elsewhere; after that only idempotent ones may.
                let not_sent = matches!(e, SendError::NotSent(_));
                let again = body.can_retry() && (not_sent || idempotent);
                tracing::debug!(
                    service,
                    task = %target.task_id,
                    addr = %target.addr,
                    retry = again,
                    error = %describe(&e),
                    "target failed before responding"
                );
                last_error = Some((target.clone(), describe(&e)));
                tried.push(target);
                if !again {
                    break;
                }
            }
        }
    }
    match last_error {
        Some((target, error)) => text_response(
            StatusCode::BAD_GATEWAY,
            format!(
                "bad gateway: target {} ({}) of service {service} failed before responding: {error}\n",
                target.task_id, target.addr
            ),
        ),
        None => text_response(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no healthy target for service {service}\n"),
        ),
    }
}

/// A client's request to switch protocols: what it asked for, and its side of the connection.
struct Upgrade {
    protocol: HeaderValue,
    client: hyper::upgrade::OnUpgrade,
}

/// The protocol a client asks to switch to: `Upgrade: X` with `upgrade` among the
/// `Connection` options (RFC 9110 7.8), as a WebSocket handshake sends.
fn requested_upgrade(headers: &HeaderMap) -> Option<HeaderValue> {
    let protocol = headers.get(header::UPGRADE)?;
    let asked = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|option| option.trim().eq_ignore_ascii_case("upgrade"));
    asked.then(|| protocol.clone())
}

/// The target agreed to switch (101): answers the client likewise and joins the two
/// connections in a tunnel that counts as one request in flight on the target (so draining
/// waits for it up to the deregistration delay) and ends when either side closes or the
/// listener stops.
fn switch_protocols(
    response: &mut Response<Incoming>,
    upgrade: Upgrade,
    in_flight: InFlight,
    ctx: &ConnCtx,
) -> Response<ProxyBody> {
    let target = hyper::upgrade::on(&mut *response);
    let mut headers = response.headers().clone();
    let protocol = headers
        .get(header::UPGRADE)
        .cloned()
        .unwrap_or(upgrade.protocol);
    strip_hop_by_hop(&mut headers);
    headers.insert(header::UPGRADE, protocol);
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    let mut stopped = ctx.stopped.clone();
    tokio::spawn(async move {
        let joined = async {
            let (client, target) = tokio::try_join!(upgrade.client, target)?;
            let (mut client, mut target) = (TokioIo::new(client), TokioIo::new(target));
            tokio::io::copy_bidirectional(&mut client, &mut target)
                .await
                .map_err(|e| Box::new(e) as Box<dyn StdError + Send + Sync>)?;
            Ok::<_, Box<dyn StdError + Send + Sync>>(())
        };
        tokio::select! {
            result = joined => if let Err(e) = result {
                tracing::debug!(error = %e, "upgraded connection ended with an error");
            },
            _ = stopped.wait_for(|stop| *stop) => {}
        }
        drop(in_flight);
    });
    let mut answer = Response::new(ProxyBody::new(Kind::Full(Full::new(Bytes::new()))));
    *answer.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *answer.headers_mut() = headers;
    answer
}

/// The request body, once per attempt: a buffered one can be sent again, a stream once.
enum Pending {
    Buffered(Bytes),
    Stream(Option<Incoming>),
}

impl Pending {
    fn take(&mut self) -> Option<ReqBody> {
        match self {
            Pending::Buffered(b) => Some(ReqBody::Full(Full::new(b.clone()))),
            Pending::Stream(s) => s.take().map(ReqBody::Stream),
        }
    }

    fn can_retry(&self) -> bool {
        matches!(self, Pending::Buffered(_))
    }
}

/// The target's address as a Host header, for requests that came without one.
fn target_host(target: &TargetState) -> HeaderValue {
    HeaderValue::from_str(target.authority.as_str())
        .unwrap_or_else(|_| HeaderValue::from_static("invalid.target"))
}

/// The headers that describe one hop (RFC 9110 7.6.1), beside those `Connection` names.
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes the hop-by-hop headers and those the `Connection` header names. One pass over the
/// names when there are none, as in most HTTP/1.1 and HTTP/2 requests and responses.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");

/// The X-Forwarded-* values of a client connection: the port and protocol made once per
/// listener, the client's address once per connection; each request clones them (a reference
/// count, no copy).
#[derive(Debug, Clone)]
pub(crate) struct Forwarded {
    client: HeaderValue,
    proto: HeaderValue,
    port: HeaderValue,
}

impl Forwarded {
    /// A listener's values (no client yet).
    pub fn listener(port: u16, https: bool) -> Forwarded {
        Forwarded {
            client: HeaderValue::from_static(""),
            proto: HeaderValue::from_static(if https { "https" } else { "http" }),
            port: HeaderValue::from(port),
        }
    }

    /// A connection's values: the listener's and the client's address.
    pub fn connection(&self, peer: SocketAddr) -> Forwarded {
        let client = HeaderValue::from_str(&peer.ip().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Forwarded {
            client,
            ..self.clone()
        }
    }
}

/// Strips the hop-by-hop headers and sets X-Forwarded-For (appended to any the client sent),
/// -Proto and -Port, as an ALB does.
fn forwarded_headers(headers: &mut HeaderMap, fwd: &Forwarded) {
    strip_hop_by_hop(headers);
    let xff = match headers.get(&X_FORWARDED_FOR).map(HeaderValue::as_bytes) {
        Some(earlier) if !earlier.trim_ascii().is_empty() => {
            let mut v = Vec::with_capacity(earlier.len() + 2 + fwd.client.len());
            v.extend_from_slice(earlier);
            v.extend_from_slice(b", ");
            v.extend_from_slice(fwd.client.as_bytes());
            HeaderValue::from_maybe_shared(Bytes::from(v)).unwrap_or_else(|_| fwd.client.clone())
        }
        _ => fwd.client.clone(),
    };
    headers.insert(X_FORWARDED_FOR.clone(), xff);
    headers.insert(X_FORWARDED_PROTO.clone(), fwd.proto.clone());
    headers.insert(X_FORWARDED_PORT.clone(), fwd.port.clone());
}

/// The innermost cause in words: `connection refused`, `connection reset by peer`...
fn describe(e: &(dyn StdError + 'static)) -> String {
    let mut cause: &(dyn StdError + 'static) = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        return io.to_string();
    }
    if let Some(h) = cause.downcast_ref::<hyper::Error>()
        && h.is_incomplete_message()
    {
        return "connection closed before a response".to_string();
    }
    cause.to_string()
}

fn text_response(status: StatusCode, text: String) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::new(Kind::Full(Full::new(Bytes::from(text)))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The body of a request sent to a target.
#[derive(Debug)]
pub(crate) enum ReqBody {
    Full(Full<Bytes>),
    Stream(Incoming),
}

impl Body for ReqBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            ReqBody::Full(b) => Pin::new(b).poll_frame(cx).map_err(|never| match never {}),
            ReqBody::Stream(b) => Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReqBody::Full(b) => b.is_end_stream(),
            ReqBody::Stream(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ReqBody::Full(b) => b.size_hint(),
            ReqBody::Stream(b) => b.size_hint(),
        }
    }
}

/// The body of a response to a client: our own text, or a target's body, which keeps the
/// request in flight on that target until it ends (so draining waits for it).
#[derive(Debug)]
pub(crate) struct ProxyBody {
    kind: Kind,
    /// The request it answers, active on its connection until the body is dropped.
    active: Option<Active>,
}

#[derive(Debug)]
enum Kind {
    Full(Full<Bytes>),
    Upstream(UpstreamBody),
}

impl ProxyBody {
    fn new(kind: Kind) -> ProxyBody {
        ProxyBody { kind, active: None }
    }
}

/// A target's response body, the connection it came over and the request it keeps in flight.
/// Read to the end, it gives the connection back to the target's pool.
#[derive(Debug)]
struct UpstreamBody {
    body: Incoming,
    conn: Option<upstream::Sender>,
    in_flight: Option<InFlight>,
}

impl UpstreamBody {
    /// The response is over: the connection goes back to its target's pool if the body was
    /// read to the end and the target still takes requests.
    fn finish(&mut self, complete: bool) {
        let conn = self.conn.take();
        if let Some(in_flight) = self.in_flight.take()
            && let Some(conn) = conn
            && complete
            && in_flight.target().state() != State::Draining
        {
            in_flight.target().conns.put(conn);
        }
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        // hyper stops polling a body whose end it knows (its Content-Length was sent).
        let complete = self.body.is_end_stream();
        self.finish(complete);
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match &mut self.get_mut().kind {
            Kind::Full(b) => Pin::new(b).poll_frame(cx).map_err(|never| match never {}),
            Kind::Upstream(up) => {
                let poll = Pin::new(&mut up.body).poll_frame(cx);
                match &poll {
                    Poll::Ready(None) => up.finish(true),
                    Poll::Ready(Some(Err(_))) => up.finish(false),
                    _ => {}
                }
                poll
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_end_stream(),
            Kind::Upstream(up) => up.body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(b) => b.size_hint(),
            Kind::Upstream(up) => up.body.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_needs_both_headers() {
        let mut h = HeaderMap::new();
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        assert_eq!(requested_upgrade(&h), None, "no Connection: upgrade");
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert_eq!(
            requested_upgrade(&h),
            Some(HeaderValue::from_static("websocket"))
        );
        h.remove("upgrade");
        assert_eq!(requested_upgrade(&h), None, "no Upgrade");
    }

    #[test]
    fn forwarded_headers_append_and_hop_by_hop_go() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        let fwd =
            Forwarded::listener(8080, false).connection("127.0.0.2:5000".parse().expect("addr"));
        forwarded_headers(&mut h, &fwd);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.2");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-port"], "8080");
        assert!(h.get("connection").is_none() && h.get("x-secret").is_none());
        assert!(h.get("keep-alive").is_none() && h.get("x-kept").is_some());
    }
}
