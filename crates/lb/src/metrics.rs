//! Per-target traffic counters: requests, requests in flight, and the request rate over the last
//! minute. Everything is atomic and O(1) per request: the proxy's hot path takes no lock here.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Seconds the rate is averaged over.
const WINDOW: u64 = 60;

/// Seconds since a process-wide origin (monotonic).
fn now_secs() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs()
}

#[derive(Debug)]
pub(crate) struct TargetStats {
    requests: AtomicU64,
    in_flight: AtomicU64,
    rate: RateRing,
    since: u64,
}

impl Default for TargetStats {
    fn default() -> Self {
        TargetStats {
            requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            rate: RateRing::default(),
            since: now_secs(),
        }
    }
}

impl TargetStats {
    /// Counts one request (or connection) sent to the target; in flight until `finish`.
    pub fn start(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.rate.record(now_secs());
    }

    pub fn finish(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Requests per second over the last 60 s, or over the target's lifetime when shorter.
    pub fn rate_per_sec(&self) -> f64 {
        let now = now_secs();
        let span = (now - self.since + 1).min(WINDOW);
        self.rate.sum(now) as f64 / span as f64
    }
}

/// Request counts for the last 60 seconds, one slot per second. Each slot packs the second it
/// counts (high 32 bits) with its count (low 32 bits), so a slot from a minute ago is recognised
/// and restarted with one compare-and-swap instead of a sweep.
#[derive(Debug)]
struct RateRing {
    slots: [AtomicU64; WINDOW as usize],
}

impl Default for RateRing {
    fn default() -> Self {
        RateRing {
            // u32::MAX as a second never matches a real one: every slot starts empty.
            slots: std::array::from_fn(|_| AtomicU64::new(u64::from(u32::MAX) << 32)),
        }
    }
}

impl RateRing {
    fn record(&self, now: u64) {
        let second = now & 0xffff_ffff;
        let slot = &self.slots[(now % WINDOW) as usize];
        let mut current = slot.load(Ordering::Relaxed);
        loop {
            let next = if current >> 32 == second {
                current.saturating_add(1)
            } else {
                (second << 32) | 1
            };
            match slot.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(seen) => current = seen,
            }
        }
    }

    fn sum(&self, now: u64) -> u64 {
        self.slots
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|v| {
                let second = v >> 32;
                second != u64::from(u32::MAX) && second <= now && now - second < WINDOW
            })
            .map(|v| v & 0xffff_ffff)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_counts_the_last_minute_only() {
        let ring = RateRing::default();
        for _ in 0..5 {
            ring.record(100);
        }
        ring.record(101);
        ring.record(130);
        assert_eq!(ring.sum(130), 7);
        assert_eq!(ring.sum(159), 7);
        assert_eq!(ring.sum(160), 2, "second 100 left the window");
        // Second 160 reuses second 100's slot and restarts it.
        ring.record(160);
        assert_eq!(ring.sum(160), 3);
        assert_eq!(ring.sum(300), 0);
    }

    #[test]
    fn stats_count_and_in_flight() {
        let s = TargetStats::default();
        s.start();
        s.start();
        s.finish();
        assert_eq!((s.requests(), s.in_flight()), (2, 1));
        assert!(s.rate_per_sec() > 0.0);
    }
}
