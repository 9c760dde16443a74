//! Waiting in tests, without sleeping for a fixed time: the one poll-until
//! helper ([`poll_until`], for state that sends no signal, such as a
//! runtime's task count), the watchdog that turns a hang into a test
//! failure ([`within`], [`watchdog`]), and [`wait_for_state`], woken by the
//! channel's own state changes.
//!
//! Server-side state sends signals: wait on the Echo peer's counters
//! ([`crate::Counters::wait_for`]) or the mock's log
//! ([`crate::mock::MockServer::wait_for_reset`]) instead.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use switchboard::{Channel, ConnectivityState, Deadline};

/// The bound of [`poll_until`] and [`watchdog`]: a fail-safe against a
/// hang, never a timing a test relies on.
pub const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// Polls `check` until it returns `true` (then returns `true`), or until
/// `limit` has passed (then returns `false`). Between polls it yields the
/// thread for about a millisecond.
///
/// The one poll-until helper of the test kit: for state that sends no
/// signal. Prefer a signal where there is one.
pub fn poll_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits (for at most [`WAIT_LIMIT`]) until `channel` reports `want`,
/// woken by each state change ([`Channel::wait_for_state_change`]), and
/// returns the last state seen.
pub fn wait_for_state(channel: &Channel, want: ConnectivityState) -> ConnectivityState {
    let deadline = Deadline::after(WAIT_LIMIT);
    let mut state = channel.state(false);
    while state != want {
        match channel.wait_for_state_change(state, deadline) {
            Some(next) => state = next,
            None => return channel.state(false),
        }
    }
    state
}

/// Runs `f` on its own thread; `Err` if it has not returned within `limit`
/// (the thread is then left behind), or the panic message if it panicked.
pub fn within<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = done.send(outcome);
    });
    match result.recv_timeout(limit) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
        Err(_) => Err(format!("still running after {limit:?}")),
    }
}

/// Runs `f` on another thread and returns its result; fails the test if it
/// takes over twice [`WAIT_LIMIT`] or panics. For calls that carry no
/// deadline of their own.
///
/// # Panics
/// If `f` hangs or panics.
pub fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    within(2 * WAIT_LIMIT, f).unwrap_or_else(|error| panic!("the call did not end: {error}"))
}
