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

/// The longest wait or connect timeout a backoff may name: a day. Longer
/// values are refused by [`BackoffConfig::validate`], so that no arithmetic
/// on them can overflow.
const MAX_BACKOFF_DURATION: Duration = Duration::from_secs(24 * 3600);

impl BackoffConfig {
    /// Checks the settings, as [`ChannelBuilder::build`](crate::ChannelBuilder::build)
    /// does: the multiplier is a finite number of at least 1, the jitter
    /// is in `0..=1`, and every duration is at most a day, with
    /// `initial_backoff <= max_backoff`. The error names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return Err(format!(
                "backoff multiplier {} must be a finite number of at least 1",
                self.multiplier
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(format!(
                "backoff jitter {} must be between 0 and 1",
                self.jitter
            ));
        }
        for (name, value) in [
            ("initial_backoff", self.initial_backoff),
            ("max_backoff", self.max_backoff),
            ("min_connect_timeout", self.min_connect_timeout),
        ] {
            if value > MAX_BACKOFF_DURATION {
                return Err(format!(
                    "backoff {name} {value:?} is longer than the limit of {MAX_BACKOFF_DURATION:?}"
                ));
            }
        }
        if self.initial_backoff > self.max_backoff {
            return Err(format!(
                "backoff initial_backoff {:?} is longer than max_backoff {:?}",
                self.initial_backoff, self.max_backoff
            ));
        }
        Ok(())
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
        // Validated settings keep these finite and small; `try_` keeps a
        // bad value from ever panicking here all the same.
        let delay = Duration::try_from_secs_f64((base * (1.0 + spread)).max(0.0))
            .unwrap_or(self.config.max_backoff);
        let next = (base * self.config.multiplier).min(self.config.max_backoff.as_secs_f64());
        self.current = Duration::try_from_secs_f64(next).unwrap_or(self.config.max_backoff);
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
    fn validation_names_the_bad_setting() {
        assert_eq!(BackoffConfig::default().validate(), Ok(()));
        let bad = |config: BackoffConfig, setting: &str| {
            let error = config.validate().expect_err(setting);
            assert!(error.contains(setting), "{error}");
        };
        let default = BackoffConfig::default;
        bad(
            BackoffConfig {
                multiplier: -1.0,
                ..default()
            },
            "multiplier",
        );
        bad(
            BackoffConfig {
                multiplier: f64::INFINITY,
                ..default()
            },
            "multiplier",
        );
        bad(
            BackoffConfig {
                jitter: -0.1,
                ..default()
            },
            "jitter",
        );
        bad(
            BackoffConfig {
                jitter: f64::NAN,
                ..default()
            },
            "jitter",
        );
        bad(
            BackoffConfig {
                max_backoff: Duration::MAX,
                ..default()
            },
            "max_backoff",
        );
        bad(
            BackoffConfig {
                initial_backoff: Duration::from_secs(200),
                ..default()
            },
            "initial_backoff",
        );
    }

    #[test]
    fn a_bad_config_never_panics_the_schedule() {
        let config = BackoffConfig {
            multiplier: f64::MAX,
            initial_backoff: Duration::MAX,
            jitter: 1.0,
            ..BackoffConfig::default()
        };
        let mut b = Backoff::new(config, 3);
        for _ in 0..5 {
            let _ = b.next_delay();
        }
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
