//! Call deadlines and the `grpc-timeout` wire form.
//!
//! Layer: plain data, at the bottom of the runtime; it imports nothing from the
//! rest of the crate. It owns [`Deadline`], an absolute point on the monotonic
//! clock by which one call must finish, and the conversion of the time left
//! into and out of the `grpc-timeout` header.
//!
//! Invariants: a deadline is absolute, so it is fixed when a call starts and
//! never stretched by retries or queueing (a relative timeout becomes a
//! `Deadline` per call, in `options`). Encoding never tells the server less
//! time than the client will wait: values are rounded up. Nothing here panics,
//! whatever duration or header value it is given.
//!
//! Spec: PROTOCOL-HTTP2, `Timeout → "grpc-timeout" TimeoutValue TimeoutUnit`,
//! where `TimeoutValue` is a positive integer of at most 8 ASCII digits and
//! `TimeoutUnit` is one of `H M S m u n`.

use std::fmt;
use std::time::{Duration, Instant};

/// The largest value `grpc-timeout` can carry: 8 decimal digits.
const MAX_TIMEOUT_VALUE: u64 = 99_999_999;

/// The `grpc-timeout` units, finest first, with their length in nanoseconds.
const UNITS: [(char, u64); 6] = [
    ('n', 1),
    ('u', 1_000),
    ('m', 1_000_000),
    ('S', 1_000_000_000),
    ('M', 60 * 1_000_000_000),
    ('H', 3_600 * 1_000_000_000),
];

/// An absolute point in time by which a call must finish.
///
/// Measured on the monotonic clock ([`Instant`]), so changes to the wall clock
/// do not move it. Deadlines order by time: the earlier one is the smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline(Instant);

impl Deadline {
    /// The deadline `timeout` from now.
    ///
    /// A timeout too large for the platform's clock is shortened to the
    /// farthest instant the clock can represent (at most about 11,000 years,
    /// the most `grpc-timeout` can express), rather than panicking.
    pub fn after(timeout: Duration) -> Deadline {
        let now = Instant::now();
        let max = Duration::from_secs(MAX_TIMEOUT_VALUE * 3_600);
        let mut timeout = timeout.min(max);
        loop {
            if let Some(at) = now.checked_add(timeout) {
                return Deadline(at);
            }
            // Halving converges: `now + 0` always succeeds.
            timeout /= 2;
        }
    }

    /// The deadline at `instant`.
    pub fn at(instant: Instant) -> Deadline {
        Deadline(instant)
    }

    /// The instant this deadline falls at.
    pub fn instant(self) -> Instant {
        self.0
    }

    /// The time left until the deadline; zero once it has passed.
    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed (no time is left).
    pub fn is_expired(self) -> bool {
        self.remaining().is_zero()
    }
}

/// Encodes `timeout` as a `grpc-timeout` header value: at most 8 ASCII digits
/// followed by a unit (`n` ns, `u` µs, `m` ms, `S` s, `M` min, `H` h).
///
/// The finest unit whose value fits in 8 digits is chosen, and the value is
/// rounded *up* in that unit, so the server never sees a shorter timeout than
/// the client will wait. A zero timeout encodes as `"1n"`, because the spec
/// asks for a positive value (such a call is already expired locally and
/// normally never reaches the wire). A timeout over 99,999,999 hours clamps to
/// `"99999999H"`.
///
/// ```
/// # use std::time::Duration;
/// # use switchboard::deadline::encode_grpc_timeout;
/// assert_eq!(encode_grpc_timeout(Duration::from_millis(1500)), "1500000u");
/// assert_eq!(encode_grpc_timeout(Duration::from_secs(3_000_000_000)), "50000000M");
/// ```
pub fn encode_grpc_timeout(timeout: Duration) -> String {
    let nanos = timeout.as_nanos().max(1);
    for (unit, unit_nanos) in UNITS {
        let value = nanos.div_ceil(u128::from(unit_nanos));
        if value <= u128::from(MAX_TIMEOUT_VALUE) {
            return format!("{value}{unit}");
        }
    }
    format!("{MAX_TIMEOUT_VALUE}H")
}

/// Parses a `grpc-timeout` header value such as `"250m"` or `"1S"`.
///
/// Fails with [`TimeoutParseError`] when the value is empty, has no digits or
/// more than 8, has a character other than an ASCII digit before the unit, or
/// ends in something other than `H M S m u n`. A value of zero (`"0S"`) is
/// accepted and gives a zero duration.
pub fn parse_grpc_timeout(value: &str) -> Result<Duration, TimeoutParseError> {
    let Some(unit) = value.chars().next_back() else {
        return Err(TimeoutParseError::Empty);
    };
    let digits = &value[..value.len() - unit.len_utf8()];
    let Some(&(_, unit_nanos)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(TimeoutParseError::UnknownUnit {
            value: value.to_owned(),
            unit,
        });
    };
    if digits.is_empty() {
        return Err(TimeoutParseError::NoDigits {
            value: value.to_owned(),
        });
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TimeoutParseError::NotADigit {
            value: value.to_owned(),
        });
    }
    if digits.len() > 8 {
        return Err(TimeoutParseError::TooManyDigits {
            value: value.to_owned(),
        });
    }
    // 1 to 8 ASCII digits: at most 99,999,999, so the product with the
    // longest unit (3.6e12 ns) stays below 3.6e20 ns, well inside u128, and
    // its whole seconds (below 3.6e11) fit in a u64.
    let amount = digits
        .bytes()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
    let nanos = u128::from(amount) * u128::from(unit_nanos);
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    let sub_nanos = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    Ok(Duration::new(secs, sub_nanos))
}

/// Why a `grpc-timeout` value could not be parsed.
///
/// A malformed value is the peer's (or a proxy's) mistake, never the caller's;
/// the `value` fields hold it as received, for logs.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeoutParseError {
    /// The value was empty.
    Empty,
    /// The last character is not one of `H M S m u n`.
    UnknownUnit {
        /// The value as received.
        value: String,
        /// Its last character.
        unit: char,
    },
    /// There is a unit but no digits before it.
    NoDigits {
        /// The value as received.
        value: String,
    },
    /// Something other than an ASCII digit comes before the unit.
    NotADigit {
        /// The value as received.
        value: String,
    },
    /// There are more than 8 digits.
    TooManyDigits {
        /// The value as received.
        value: String,
    },
}

impl fmt::Display for TimeoutParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeoutParseError::Empty => f.write_str("grpc-timeout value is empty"),
            TimeoutParseError::UnknownUnit { value, unit } => write!(
                f,
                "grpc-timeout value {value:?} is invalid: unit {unit:?} is not one of H, M, S, m, u, n"
            ),
            TimeoutParseError::NoDigits { value } => write!(
                f,
                "grpc-timeout value {value:?} is invalid: it has no digits before the unit"
            ),
            TimeoutParseError::NotADigit { value } => write!(
                f,
                "grpc-timeout value {value:?} is invalid: only ASCII digits may come before the unit"
            ),
            TimeoutParseError::TooManyDigits { value } => write!(
                f,
                "grpc-timeout value {value:?} is invalid: it has more than 8 digits"
            ),
        }
    }
}

impl std::error::Error for TimeoutParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_after_and_remaining() {
        let d = Deadline::after(Duration::from_secs(3600));
        assert!(!d.is_expired());
        let left = d.remaining();
        assert!(left <= Duration::from_secs(3600) && left > Duration::from_secs(3500));

        let past = Deadline::at(Instant::now());
        std::thread::sleep(Duration::from_millis(2));
        assert!(past.is_expired());
        assert_eq!(past.remaining(), Duration::ZERO);
        assert!(Deadline::after(Duration::ZERO).is_expired());

        let t = Instant::now();
        assert_eq!(Deadline::at(t).instant(), t);
        assert!(past < d);
    }

    #[test]
    fn deadline_after_huge_timeout_does_not_panic() {
        let d = Deadline::after(Duration::MAX);
        assert!(!d.is_expired());
        assert!(d.remaining() > Duration::from_secs(3600 * 24 * 365));
    }

    #[test]
    fn encode_picks_finest_unit_that_fits() {
        let cases = [
            (Duration::ZERO, "1n"),
            (Duration::from_nanos(1), "1n"),
            (Duration::from_nanos(99_999_999), "99999999n"),
            (Duration::from_nanos(100_000_000), "100000u"),
            (Duration::from_millis(1500), "1500000u"),
            (Duration::from_secs(1), "1000000u"),
            (Duration::from_secs(100), "100000m"),
            (Duration::from_secs(100_000), "100000S"),
            (Duration::from_secs(3600 * 24 * 365), "31536000S"),
            (Duration::from_secs(3600 * 24 * 365 * 10), "5256000M"),
            (Duration::from_secs(6_000_000_000), "1666667H"),
            (Duration::MAX, "99999999H"),
        ];
        for (timeout, want) in cases {
            assert_eq!(encode_grpc_timeout(timeout), want, "{timeout:?}");
        }
    }

    #[test]
    fn encode_rounds_up() {
        // 100_000_001 ns does not fit as ns; in µs it is 100000.001 -> 100001.
        assert_eq!(
            encode_grpc_timeout(Duration::from_nanos(100_000_001)),
            "100001u"
        );
        // 100000 s + 1 ns, in ms: 100000000.000001 -> too many digits; in S: 100001.
        assert_eq!(encode_grpc_timeout(Duration::new(100_000, 1)), "100001S");
    }

    #[test]
    fn encoded_values_are_wire_valid_and_never_shorter() {
        let mut nanos: u64 = 1;
        while nanos < u64::MAX / 7 {
            let timeout = Duration::from_nanos(nanos);
            let wire = encode_grpc_timeout(timeout);
            let digits = &wire[..wire.len() - 1];
            assert!(digits.len() <= 8, "{wire}");
            let back = parse_grpc_timeout(&wire).unwrap();
            assert!(back >= timeout, "{timeout:?} -> {wire} -> {back:?}");
            nanos = nanos * 7 + 3;
        }
    }

    #[test]
    fn parse_each_unit() {
        let cases = [
            ("0n", Duration::ZERO),
            ("5n", Duration::from_nanos(5)),
            ("7u", Duration::from_micros(7)),
            ("250m", Duration::from_millis(250)),
            ("1S", Duration::from_secs(1)),
            ("2M", Duration::from_secs(120)),
            ("3H", Duration::from_secs(3 * 3600)),
            ("99999999H", Duration::from_secs(99_999_999 * 3600)),
            ("00000001S", Duration::from_secs(1)),
        ];
        for (wire, want) in cases {
            assert_eq!(parse_grpc_timeout(wire), Ok(want), "{wire}");
        }
    }

    #[test]
    fn parse_errors() {
        use TimeoutParseError as E;
        let v = |s: &str| s.to_owned();
        assert_eq!(parse_grpc_timeout(""), Err(E::Empty));
        assert_eq!(parse_grpc_timeout("S"), Err(E::NoDigits { value: v("S") }));
        assert_eq!(
            parse_grpc_timeout("123456789S"),
            Err(E::TooManyDigits {
                value: v("123456789S")
            })
        );
        for bad in ["1.5S", "-1S", " 1S", "+1S", "1 S", "\u{663}S"] {
            assert_eq!(
                parse_grpc_timeout(bad),
                Err(E::NotADigit { value: v(bad) }),
                "{bad:?}"
            );
        }
        for (bad, unit) in [
            ("10s", 's'),
            ("10", '0'),
            ("10\u{b5}", '\u{b5}'),
            ("1h", 'h'),
        ] {
            assert_eq!(
                parse_grpc_timeout(bad),
                Err(E::UnknownUnit {
                    value: v(bad),
                    unit
                }),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_grpc_timeout("10x").unwrap_err().to_string(),
            "grpc-timeout value \"10x\" is invalid: unit 'x' is not one of H, M, S, m, u, n"
        );
        assert_eq!(
            parse_grpc_timeout("123456789m").unwrap_err().to_string(),
            "grpc-timeout value \"123456789m\" is invalid: it has more than 8 digits"
        );
        assert_eq!(
            parse_grpc_timeout("").unwrap_err().to_string(),
            "grpc-timeout value is empty"
        );
    }
}
