//! One target's shared state: its health (read by every request, written by its health checker)
//! and its traffic counters.

use crate::config::HealthSettings;
use crate::metrics::TargetStats;
use crate::types::TargetHealth;
use crate::upstream::ConnPool;
use hyper::http::uri::Authority;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Routing-relevant health, readable without a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum State {
    Initial = 0,
    Healthy = 1,
    Unhealthy = 2,
    Draining = 3,
}

impl State {
    fn from_u8(v: u8) -> State {
        match v {
            0 => State::Initial,
            1 => State::Healthy,
            2 => State::Unhealthy,
            _ => State::Draining,
        }
    }
}

/// What the atomic state does not hold; changed only by health checks and `sync`.
#[derive(Debug, Default)]
struct Detail {
    reason: String,
    successes: u32,
    failures: u32,
    healthy_since: Option<Instant>,
    draining_since: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct TargetState {
    pub task_id: String,
    pub addr: SocketAddr,
    /// The service it was registered for ("" when first seen draining).
    pub service: String,
    /// `addr` as a URI authority, made once rather than per request.
    pub authority: Authority,
    pub stats: TargetStats,
    /// Idle keep-alive connections to it, closed when it drains or goes away.
    pub conns: ConnPool,
    state: AtomicU8,
    detail: Mutex<Detail>,
}

impl TargetState {
    pub fn new(task_id: &str, addr: SocketAddr, service: &str) -> Arc<Self> {
        Arc::new(TargetState {
            task_id: task_id.to_string(),
            addr,
            service: service.to_string(),
            authority: Authority::try_from(addr.to_string().as_str())
                .unwrap_or_else(|_| Authority::from_static("invalid.target")),
            stats: TargetStats::default(),
            conns: ConnPool::default(),
            state: AtomicU8::new(State::Initial as u8),
            detail: Mutex::new(Detail::default()),
        })
    }

    pub fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    fn detail(&self) -> MutexGuard<'_, Detail> {
        // A panic while holding this lock leaves plain counters behind: still usable.
        self.detail.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn health(&self) -> TargetHealth {
        let d = self.detail();
        match self.state() {
            State::Initial => TargetHealth::Initial,
            State::Healthy => TargetHealth::Healthy,
            State::Unhealthy => TargetHealth::Unhealthy(d.reason.clone()),
            State::Draining => TargetHealth::Draining,
        }
    }

    /// Applies one health check result (ALB thresholds: consecutive successes or failures).
    /// Returns the new health when it changed.
    pub fn record_check(
        &self,
        result: Result<(), String>,
        settings: &HealthSettings,
    ) -> Option<TargetHealth> {
        let mut d = self.detail();
        let state = self.state();
        if state == State::Draining {
            return None;
        }
        let next = match result {
            Ok(()) => {
                d.failures = 0;
                d.successes = d.successes.saturating_add(1);
                (state != State::Healthy && d.successes >= settings.healthy_threshold)
                    .then_some(State::Healthy)
            }
            Err(reason) => {
                d.successes = 0;
                d.failures = d.failures.saturating_add(1);
                let changed = d.reason != reason;
                d.reason = reason;
                (d.failures >= settings.unhealthy_threshold
                    && (state != State::Unhealthy || changed))
                    .then_some(State::Unhealthy)
            }
        }?;
        if next == State::Healthy {
            d.healthy_since = Some(Instant::now());
        }
        self.state.store(next as u8, Ordering::Release);
        drop(d);
        Some(self.health())
    }

    /// Deregistered: no new requests from now on. Keeps the first deregistration time.
    pub fn drain(&self) {
        let mut d = self.detail();
        if d.draining_since.is_none() {
            d.draining_since = Some(Instant::now());
        }
        self.state.store(State::Draining as u8, Ordering::Release);
        self.conns.clear();
    }

    /// Registered again after a deregistration: health checks start over, as on ALB.
    pub fn reregister(&self) {
        let mut d = self.detail();
        *d = Detail::default();
        self.state.store(State::Initial as u8, Ordering::Release);
    }

    /// Draining, and either idle or draining for longer than `delay`.
    pub fn drained(&self, delay: Duration) -> bool {
        let d = self.detail();
        self.state() == State::Draining
            && (self.stats.in_flight() == 0
                || d.draining_since
                    .is_some_and(|since| since.elapsed() >= delay))
    }

    /// Share of traffic during slow start: 0..1 over `window` after it became healthy.
    pub fn slow_start_share(&self, window: Duration) -> f64 {
        if window.is_zero() {
            return 1.0;
        }
        let d = self.detail();
        d.healthy_since.map_or(1.0, |since| {
            (since.elapsed().as_secs_f64() / window.as_secs_f64()).clamp(0.05, 1.0)
        })
    }
}

#[cfg(test)]
impl TargetState {
    /// Test hook: pretend the target became healthy `ago` earlier.
    pub fn backdate_healthy(&self, ago: Duration) {
        let mut d = self.detail();
        d.healthy_since = d.healthy_since.and_then(|t| t.checked_sub(ago));
    }
}

/// Holds one request (or connection) in flight on a target until dropped.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<TargetState>);

impl InFlight {
    pub fn start(target: Arc<TargetState>) -> Self {
        target.stats.start();
        InFlight(target)
    }

    pub fn target(&self) -> &TargetState {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.stats.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Matcher;

    fn settings() -> HealthSettings {
        HealthSettings {
            path: "/".into(),
            port: None,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            healthy_threshold: 3,
            unhealthy_threshold: 2,
            matcher: Matcher::parse("200").expect("matcher"),
        }
    }

    #[test]
    fn thresholds_are_consecutive() {
        let s = settings();
        let t = TargetState::new("t", "127.0.0.1:1".parse().expect("addr"), "web");
        assert_eq!(t.health(), TargetHealth::Initial);
        assert_eq!(t.record_check(Ok(()), &s), None);
        assert_eq!(t.record_check(Err("Request timed out".into()), &s), None);
        assert_eq!(t.record_check(Ok(()), &s), None);
        assert_eq!(t.record_check(Ok(()), &s), None);
        assert_eq!(t.record_check(Ok(()), &s), Some(TargetHealth::Healthy));
        assert_eq!(t.record_check(Err("Connection refused".into()), &s), None);
        assert_eq!(
            t.record_check(Err("Connection refused".into()), &s),
            Some(TargetHealth::Unhealthy("Connection refused".into()))
        );
        assert_eq!(t.record_check(Err("Connection refused".into()), &s), None);
        assert_eq!(t.state(), State::Unhealthy);
    }

    #[test]
    fn draining_ignores_checks_and_is_drained_when_idle() {
        let s = settings();
        let t = TargetState::new("t", "127.0.0.1:1".parse().expect("addr"), "web");
        let held = InFlight::start(t.clone());
        t.drain();
        assert_eq!(t.record_check(Ok(()), &s), None);
        assert_eq!(t.health(), TargetHealth::Draining);
        assert!(!t.drained(Duration::from_secs(300)));
        assert!(t.drained(Duration::ZERO), "past the delay");
        drop(held);
        assert!(t.drained(Duration::from_secs(300)));
        t.reregister();
        assert_eq!(t.health(), TargetHealth::Initial);
        assert!(!t.drained(Duration::ZERO));
    }
}
