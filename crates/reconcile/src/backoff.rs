//! Per-key exponential backoff: `base * 2^(failures - 1)`, capped.
//!
//! The default is 5 ms .. 60 s. The base is controller-runtime's
//! (`ItemExponentialFailureRateLimiter(5ms, 1000s)`): a transient conflict retries almost at once.
//! The cap is shorter than controller-runtime's 1000 s because ecsctl is a local orchestrator
//! whose failures are mostly "the Docker engine is restarting" or "the image is not built yet":
//! a user who fixes the cause should see the task recover within a minute, not a quarter hour.
//! Reaching the cap takes 14 consecutive failures (5 ms * 2^13 ≈ 41 s, then 60 s).
//!
//! There is no jitter: keys fail independently on a single machine, so there is no thundering
//! herd to spread, and deterministic delays keep paused-time tests exact.

use std::time::Duration;

use crate::error::ConfigError;

/// Exponential backoff bounds. Copy it freely; it holds no per-key state (the queue does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Backoff {
    /// The default first delay: controller-runtime's 5 ms.
    pub const DEFAULT_BASE: Duration = Duration::from_millis(5);
    /// The default longest delay: 60 s (see the module docs for why not 1000 s).
    pub const DEFAULT_CAP: Duration = Duration::from_secs(60);

    /// Bounds with `base` after the first failure, doubling up to `cap`.
    ///
    /// # Errors
    /// [`ConfigError::ZeroBackoffBase`] for a zero base, and
    /// [`ConfigError::BackoffBaseExceedsCap`] when `base > cap`.
    pub fn new(base: Duration, cap: Duration) -> Result<Self, ConfigError> {
        if base.is_zero() {
            return Err(ConfigError::ZeroBackoffBase);
        }
        if base > cap {
            return Err(ConfigError::BackoffBaseExceedsCap { base, cap });
        }
        Ok(Self { base, cap })
    }

    /// The delay after the first failure.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The longest delay.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The delay before retrying a key that has failed `failures` times in a row:
    /// `base * 2^(failures - 1)`, at most `cap`. Zero failures is treated as one.
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1);
        // Saturate instead of overflowing: 2^32 and beyond, or a product past Duration::MAX,
        // are all "the cap".
        1u32.checked_shl(exponent)
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.cap, |delay| delay.min(self.cap))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Self::DEFAULT_BASE,
            cap: Self::DEFAULT_CAP,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_from_base_up_to_cap() {
        let backoff = Backoff::new(ms(100), ms(1000)).expect("valid");
        let delays: Vec<_> = (1..=6).map(|n| backoff.delay(n)).collect();
        assert_eq!(
            delays,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
    }

    #[test]
    fn zero_failures_waits_the_base() {
        assert_eq!(Backoff::default().delay(0), ms(5));
    }

    #[test]
    fn huge_failure_counts_saturate_at_cap() {
        let backoff = Backoff::default();
        for failures in [31, 32, 33, 64, u32::MAX] {
            assert_eq!(
                backoff.delay(failures),
                Duration::from_secs(60),
                "{failures}"
            );
        }
        let wide = Backoff::new(Duration::from_secs(u64::MAX / 4), Duration::MAX).expect("valid");
        assert_eq!(wide.delay(10), Duration::MAX);
    }

    #[test]
    fn default_reaches_cap_after_fourteen_failures() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(14), ms(5 * (1 << 13)));
        assert_eq!(backoff.delay(15), Duration::from_secs(60));
    }

    #[test]
    fn rejects_unworkable_bounds() {
        assert_eq!(
            Backoff::new(Duration::ZERO, ms(1)),
            Err(ConfigError::ZeroBackoffBase)
        );
        assert_eq!(
            Backoff::new(ms(2), ms(1)),
            Err(ConfigError::BackoffBaseExceedsCap {
                base: ms(2),
                cap: ms(1)
            })
        );
        assert!(Backoff::new(ms(1), ms(1)).is_ok());
    }
}
