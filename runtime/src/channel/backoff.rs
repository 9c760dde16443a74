//! Reconnect backoff (layer: channel).
//!
//! Implements gRPC's connection-backoff spec: the first retry waits
//! `initial_backoff`, each later one `multiplier` times longer up to
//! `max_backoff`, each wait spread by ±`jitter`; every attempt gets at least
//! `min_connect_timeout` to connect. Jitter comes from a small xorshift
//! generator seeded per channel, which is plenty for spreading reconnects.

use std::time::Duration;

/// Backoff settings. `Default` is the spec's: 1 s, ×1.6, ±20 %, 120 s max,
/// 20 s minimum connect timeout.
#[derive(Clone, Debug, PartialEq)]
pub struct BackoffConfig {
    /// Wait before the first retry.
    pub initial_backoff: Duration,
    /// Growth factor between retries.
    pub multiplier: f64,
    /// Random spread, as a fraction of the wait (0.2 = ±20 %).
    pub jitter: f64,
    /// Upper bound of the wait (before jitter).
    pub max_backoff: Duration,
    /// Least time one connection attempt is given.
    pub min_connect_timeout: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial_backoff: Duration::from_secs(1),
            multiplier: 1.6,
            jitter: 0.2,
            max_backoff: Duration::from_secs(120),
            min_connect_timeout: Duration::from_secs(20),
        }
    }
}

/// The backoff state of one channel.
#[derive(Debug)]
pub(crate) struct Backoff {
    config: BackoffConfig,
    /// The un-jittered next wait.
    current: Duration,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(config: BackoffConfig, seed: u64) -> Backoff {
        Backoff {
            current: config.initial_backoff,
            config,
            rng: seed | 1,
        }
    }

    /// Forgets past failures (after a successful connection).
    pub(crate) fn reset(&mut self) {
        self.current = self.config.initial_backoff;
    }

    /// How long the next connection attempt may take.
    pub(crate) fn connect_timeout(&self) -> Duration {
        self.config.min_connect_timeout.max(self.current)
    }

    /// The wait before the next attempt, and advances the schedule.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.current.as_secs_f64();
        let spread = self.config.jitter * (2.0 * self.uniform() - 1.0);
        let delay = Duration::from_secs_f64((base * (1.0 + spread)).max(0.0));
        let next = (base * self.config.multiplier).min(self.config.max_backoff.as_secs_f64());
        self.current = Duration::from_secs_f64(next);
        delay
    }

    /// A uniform sample in [0, 1).
    fn uniform(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_the_multiplier_within_jitter_and_caps() {
        let mut b = Backoff::new(BackoffConfig::default(), 42);
        let mut expected = 1.0f64;
        for _ in 0..20 {
            let d = b.next_delay().as_secs_f64();
            assert!(
                d >= expected * 0.8 - 1e-9 && d <= expected * 1.2 + 1e-9,
                "{d} vs {expected}"
            );
            expected = (expected * 1.6).min(120.0);
        }
        b.reset();
        let d = b.next_delay().as_secs_f64();
        assert!((0.8..=1.2).contains(&d));
    }

    #[test]
    fn jitter_actually_varies() {
        let mut b = Backoff::new(BackoffConfig::default(), 7);
        let a = b.next_delay();
        b.reset();
        let c = b.next_delay();
        assert_ne!(a, c);
        assert_eq!(b.connect_timeout(), Duration::from_secs(20));
    }
}
