//! Target health checks: one task per registered target probes it every interval (no jitter)
//! and feeds the result to the target's thresholds.
//!
//! HTTP checks open a new connection each time (as ALB does), so a target that stopped
//! listening is seen at the next check rather than hidden behind a pooled connection.

use crate::config::{CheckKind, HealthSettings};
use crate::target::TargetState;
use bytes::Bytes;
use http_body_util::Empty;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, timeout};

/// A running health checker; dropping it stops the checks.
#[derive(Debug)]
pub(crate) struct Checker(JoinHandle<()>);

impl Drop for Checker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Checker {
    pub fn start(
        lb: String,
        target: Arc<TargetState>,
        settings: HealthSettings,
        kind: CheckKind,
    ) -> Checker {
        Checker(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(settings.interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let addr = SocketAddr::new(
                target.addr.ip(),
                settings.port.unwrap_or(target.addr.port()),
            );
            loop {
                ticks.tick().await;
                target.conns.sweep();
                let result = match timeout(settings.timeout, probe(kind, addr, &settings)).await {
                    Ok(result) => result,
                    Err(_) => Err("Request timed out".to_string()),
                };
                if let Some(health) = target.record_check(result, &settings) {
                    tracing::info!(
                        lb = %lb,
                        service = %target.service,
                        task = %target.task_id,
                        addr = %target.addr,
                        %health,
                        "target health changed"
                    );
                }
            }
        }))
    }
}

async fn probe(kind: CheckKind, addr: SocketAddr, settings: &HealthSettings) -> Result<(), String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| io_reason(&e))?;
    if kind == CheckKind::Tcp {
        return Ok(());
    }
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("Health check failed: {e}"))?;
    let conn = tokio::spawn(conn);
    let request = Request::get(settings.path.as_str())
        .header(hyper::header::HOST, addr.to_string())
        .header(hyper::header::USER_AGENT, "ecsctl-lb-healthcheck")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("Invalid health check request: {e}"))?;
    let result = sender.send_request(request).await;
    conn.abort();
    let response = result.map_err(|e| hyper_reason(&e))?;
    let code = response.status().as_u16();
    if settings.matcher.matches(code) {
        Ok(())
    } else {
        Err(format!("Health checks failed with these codes: [{code}]"))
    }
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "Connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "Connection reset by target".to_string(),
        io::ErrorKind::TimedOut => "Request timed out".to_string(),
        _ => format!("Health check failed: {e}"),
    }
}

fn hyper_reason(e: &hyper::Error) -> String {
    let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<io::Error>());
    match io {
        Some(io) => io_reason(io),
        None if e.is_incomplete_message() => "Connection closed before a response".to_string(),
        None => format!("Health check failed: {e}"),
    }
}
