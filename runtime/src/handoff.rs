//! The poller role's hand-off between the I/O thread and waiting callers
//! (layer: data; pure synchronisation, model-checked in `tests/loom.rs`).
//!
//! The default runtime (`rt`) is a current-thread tokio runtime: whoever is
//! inside its `block_on` holding its core drives every connection and timer
//! on it. Normally that is the I/O thread. A blocking caller that waits for
//! its call asks for the role ([`Handoff::arrive`]): the I/O thread steps
//! aside at its next turn ([`Handoff::poll_step_aside`]) and waits
//! ([`Handoff::wait_until_free`]) while any caller drives; the callers hand
//! the core among themselves (tokio gives a released core to a waiting
//! `block_on`). When the last caller leaves ([`Handoff::leave`]), the I/O
//! thread takes the role back (after a short grace, so a caller making call
//! after call keeps it).
//!
//! The guarantee: whenever no caller is inside (`callers == 0`), the I/O
//! thread is, or is about to be, driving. A connection never waits for a
//! poller for longer than the grace. `tests/loom.rs` model-checks the two
//! wake-ups this rests on: a caller's arrival always reaches an I/O thread
//! about to wait for one, and the last caller's leaving always reaches an
//! I/O thread waiting for that.
//!
//! Public only for those models (`#[doc(hidden)]`); not part of the API.

use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::sync::{Condvar, Mutex, lock, wait};

/// Who drives the default runtime: see the module docs.
pub struct Handoff {
    state: Mutex<State>,
    /// Signalled when the last caller leaves.
    free: Condvar,
}

struct State {
    /// Callers inside, driving or waiting for the core.
    callers: usize,
    /// The I/O thread's step-aside future's waker.
    io: Option<Waker>,
    /// When a caller last left.
    last_left: Instant,
    /// The I/O thread waits, untimed, for the last caller to leave.
    io_waiting: bool,
}

impl Handoff {
    /// Nobody but the I/O thread.
    #[allow(clippy::new_without_default)] // internal, built once
    pub fn new() -> Self {
        Handoff {
            state: Mutex::new(State {
                callers: 0,
                io: None,
                last_left: Instant::now(),
                io_waiting: false,
            }),
            free: Condvar::new(),
        }
    }

    /// A caller is about to drive: the I/O thread steps aside at its next
    /// turn.
    pub fn arrive(&self) {
        let waker = {
            let mut state = lock(&self.state);
            state.callers += 1;
            state.io.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A caller is done driving. The last one wakes the I/O thread if it
    /// waits for that (not while it waits out its grace: a caller making
    /// call after call costs it no wake-up per call).
    pub fn leave(&self) {
        let wake = {
            let mut state = lock(&self.state);
            state.callers = state.callers.saturating_sub(1);
            state.last_left = Instant::now();
            state.callers == 0 && state.io_waiting
        };
        if wake {
            self.free.notify_all();
        }
    }

    /// The I/O thread's turn: `Ready` once a caller wants the role.
    pub fn poll_step_aside(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = lock(&self.state);
        if state.callers > 0 {
            return Poll::Ready(());
        }
        match &state.io {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.io = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The I/O thread, having stepped aside, waits until no caller has
    /// been inside for `grace`.
    pub fn wait_until_free(&self, grace: Duration) {
        let mut state = lock(&self.state);
        loop {
            if state.callers > 0 {
                state.io_waiting = true;
                state = wait(&self.free, state);
                state.io_waiting = false;
                continue;
            }
            let idle = idle_for(&state);
            if idle >= grace {
                return;
            }
            state = wait_timeout(&self.free, state, grace - idle);
        }
    }
}

/// How long no caller has been inside (under loom: forever, so that the
/// grace has always passed and the model needs no clock).
#[cfg(not(switchboard_loom))]
fn idle_for(state: &State) -> Duration {
    state.last_left.elapsed()
}

#[cfg(switchboard_loom)]
fn idle_for(_: &State) -> Duration {
    Duration::MAX
}

#[cfg(not(switchboard_loom))]
fn wait_timeout<'a, T>(
    condvar: &Condvar,
    guard: crate::sync::MutexGuard<'a, T>,
    timeout: Duration,
) -> crate::sync::MutexGuard<'a, T> {
    match condvar.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

/// Under loom, a timed wait is a yield: the model explores both orders.
#[cfg(switchboard_loom)]
fn wait_timeout<'a, T>(
    _: &Condvar,
    guard: crate::sync::MutexGuard<'a, T>,
    _: Duration,
) -> crate::sync::MutexGuard<'a, T> {
    guard
}
