//! Picking a target of a service: the healthy ones if any, else those still in their initial
//! checks; then round robin or least outstanding requests over them.

use crate::target::{State, TargetState};
use api::kinds::LbAlgorithm;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The registered (not draining) targets of each service of one LB, rebuilt by `sync` when
/// they change and read by every request through an `Arc` (no lock held while proxying).
#[derive(Debug, Default)]
pub(crate) struct Balancer {
    pub algorithm: Option<LbAlgorithm>,
    pub slow_start: Duration,
    pub pools: HashMap<String, Pool>,
}

/// The current balancer of one LB; `sync` swaps it, requests clone the `Arc`.
pub(crate) type BalancerCell = crate::swap::SwapCell<Balancer>;

#[derive(Debug, Default)]
pub(crate) struct Pool {
    pub targets: Vec<Arc<TargetState>>,
    next: AtomicUsize,
}

impl Pool {
    pub fn new(targets: Vec<Arc<TargetState>>) -> Self {
        Pool {
            targets,
            next: AtomicUsize::new(0),
        }
    }
}

impl Balancer {
    /// A target of `service` for a new request, none of `tried`; `None` when no target is
    /// healthy (or initial).
    pub fn pick(&self, service: &str, tried: &[Arc<TargetState>]) -> Option<Arc<TargetState>> {
        let pool = self.pools.get(service)?;
        let fresh = |t: &&Arc<TargetState>| !tried.iter().any(|x| Arc::ptr_eq(x, t));
        // ALB routes to healthy targets; while none of a service is healthy yet, to the
        // targets still in their initial checks (a new service is reachable at once).
        let tier = if pool
            .targets
            .iter()
            .filter(fresh)
            .any(|t| t.state() == State::Healthy)
        {
            State::Healthy
        } else {
            State::Initial
        };
        let eligible = |t: &&Arc<TargetState>| t.state() == tier && fresh(t);
        let count = pool.targets.iter().filter(eligible).count();
        if count == 0 {
            return None;
        }
        let turn = pool.next.fetch_add(1, Ordering::Relaxed);
        let chosen = match self.algorithm.unwrap_or(LbAlgorithm::RoundRobin) {
            LbAlgorithm::RoundRobin => {
                let mut it = pool
                    .targets
                    .iter()
                    .filter(eligible)
                    .cycle()
                    .skip(turn % count);
                let first = it.next()?;
                if self.slow_start.is_zero() {
                    first
                } else {
                    // A target in slow start takes its share of turns; a turn it skips goes to
                    // the next eligible target. The golden-ratio sequence spreads the skips.
                    let x = (turn as f64 * 0.618_033_988_749_895).fract();
                    std::iter::once(first)
                        .chain(it.take(count - 1))
                        .find(|t| x < t.slow_start_share(self.slow_start))
                        .unwrap_or(first)
                }
            }
            LbAlgorithm::LeastOutstandingRequests => {
                // Ties go round robin, so equal loads still spread.
                let start = turn % count;
                pool.targets
                    .iter()
                    .filter(eligible)
                    .enumerate()
                    .min_by_key(|(i, t)| (t.stats.in_flight(), (i + count - start) % count))
                    .map(|(_, t)| t)?
            }
        };
        Some(chosen.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::InFlight;

    fn balancer(n: usize, algorithm: LbAlgorithm) -> (Balancer, Vec<Arc<TargetState>>) {
        let targets: Vec<_> = (0..n)
            .map(|i| {
                TargetState::new(
                    &format!("t{i}"),
                    format!("127.0.0.1:{}", 1000 + i).parse().expect("addr"),
                    "web",
                )
            })
            .collect();
        let b = Balancer {
            algorithm: Some(algorithm),
            slow_start: Duration::ZERO,
            pools: [("web".to_string(), Pool::new(targets.clone()))].into(),
        };
        (b, targets)
    }

    fn counts(b: &Balancer, targets: &[Arc<TargetState>], n: usize) -> Vec<usize> {
        let mut c = vec![0; targets.len()];
        for _ in 0..n {
            let t = b.pick("web", &[]).expect("target");
            let i = targets
                .iter()
                .position(|x| Arc::ptr_eq(x, &t))
                .expect("known");
            c[i] += 1;
        }
        c
    }

    #[test]
    fn round_robin_initial_then_healthy_only() {
        let (b, t) = balancer(3, LbAlgorithm::RoundRobin);
        assert_eq!(counts(&b, &t, 300), vec![100, 100, 100]);
        let s = crate::config::Settings::from_spec(
            "x",
            "y",
            &serde_json::from_value(
                serde_json::json!({"listeners": [{"port": 1, "protocol": "HTTP"}],
                "healthCheck": {"healthyThresholdCount": 1, "unhealthyThresholdCount": 1}}),
            )
            .expect("spec"),
        )
        .0
        .health;
        t[0].record_check(Ok(()), &s);
        t[1].record_check(Ok(()), &s);
        assert_eq!(
            counts(&b, &t, 100),
            vec![50, 50, 0],
            "initial one out while others healthy"
        );
        t[2].record_check(Err("x".into()), &s);
        t[0].record_check(Err("x".into()), &s);
        assert_eq!(counts(&b, &t, 10), vec![0, 10, 0]);
        // Retries skip what was tried: nothing else healthy.
        assert!(b.pick("web", &[t[1].clone()]).is_none());
        t[1].drain();
        assert!(b.pick("web", &[]).is_none());
        assert!(b.pick("api", &[]).is_none());
    }

    #[test]
    fn least_outstanding_prefers_idle_targets() {
        let (b, t) = balancer(3, LbAlgorithm::LeastOutstandingRequests);
        let _busy = [InFlight::start(t[0].clone()), InFlight::start(t[1].clone())];
        assert_eq!(counts(&b, &t, 10), vec![0, 0, 10]);
        let _more = InFlight::start(t[2].clone());
        assert_eq!(counts(&b, &t, 30), vec![10, 10, 10], "ties spread");
    }

    #[test]
    fn slow_start_ramps_a_new_target_up() {
        let (mut b, t) = balancer(2, LbAlgorithm::RoundRobin);
        b.slow_start = Duration::from_secs(100);
        let s = crate::config::Settings::from_spec(
            "x",
            "y",
            &serde_json::from_value(
                serde_json::json!({"listeners": [{"port": 1, "protocol": "HTTP"}],
                "healthCheck": {"healthyThresholdCount": 1}}),
            )
            .expect("spec"),
        )
        .0
        .health;
        t[0].record_check(Ok(()), &s);
        t[1].record_check(Ok(()), &s);
        t[0].backdate_healthy(Duration::from_secs(1000));
        t[1].backdate_healthy(Duration::from_secs(25));
        let c = counts(&b, &t, 1000);
        // A quarter into its slow start, t1 gets about a quarter of its even share (500).
        assert!((80..=170).contains(&c[1]), "{c:?}");
        t[1].backdate_healthy(Duration::from_secs(100));
        let c = counts(&b, &t, 1000);
        assert!((480..=520).contains(&c[1]), "{c:?}");
    }
}
