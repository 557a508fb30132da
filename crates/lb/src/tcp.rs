//! TCP listeners: L4 pass-through of each connection to a target of the default service.

use crate::listener::Route;
use crate::target::{InFlight, TargetState};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Targets tried per connection before it is closed.
const MAX_ATTEMPTS: usize = 3;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects `inbound` to a healthy target (round robin, another one when a connect fails) and
/// copies bytes both ways until either side closes or the listener stops.
pub(crate) async fn serve(
    mut inbound: TcpStream,
    route: Arc<Route>,
    mut stopped: watch::Receiver<bool>,
) {
    let Some(service) = route.router.default_service() else {
        tracing::debug!(lb = %route.lb, port = route.port, "TCP listener has no defaultService");
        return;
    };
    let balancer = route.balancer.load();
    let mut tried: Vec<Arc<TargetState>> = Vec::new();
    while tried.len() < MAX_ATTEMPTS {
        let Some(target) = balancer.pick(service, &tried) else {
            break;
        };
        let in_flight = InFlight::start(target.clone());
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target.addr)).await {
            Ok(Ok(mut outbound)) => {
                let _ = outbound.set_nodelay(true);
                tokio::select! {
                    result = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {
                        if let Err(e) = result {
                            tracing::debug!(task = %target.task_id, error = %e, "TCP connection ended with an error");
                        }
                    }
                    _ = stopped.changed() => {}
                }
                drop(in_flight);
                return;
            }
            Ok(Err(e)) => {
                tracing::debug!(task = %target.task_id, addr = %target.addr, error = %e, "TCP target refused");
            }
            Err(_) => {
                tracing::debug!(task = %target.task_id, addr = %target.addr, "TCP connect timed out");
            }
        }
        drop(in_flight);
        tried.push(target);
    }
    tracing::debug!(lb = %route.lb, port = route.port, service, "no healthy TCP target; connection closed");
}
