//! The slot an h2 call's response reader lives in between polls (layer:
//! call, below `h2`). Internal: public only so the loom models in
//! `tests/loom.rs` can drive it; not part of the API.
//!
//! Owns one future and who may poll it. The future is polled by whichever
//! thread gets there first: the caller's pump, or the I/O thread after a
//! batched wake-up (see [`crate::wake_batch`]). It keeps three invariants:
//!
//! - One poller at a time: a poll takes the future out of the slot (`busy`)
//!   and puts it back afterwards.
//! - No lost wake-up: a poll or a wake-up that arrives while the future is
//!   out sets `again`, and the poller polls once more before putting the
//!   future back.
//! - Stopped is final: after [`stop`](ReaderSlot::stop) the future is never
//!   polled again (a poll already under way finishes) and is dropped exactly
//!   once, by `stop` or by that poller, with no lock held: dropping it drops
//!   h2 stream handles, which may wake the slot again.
//!
//! The lock is never held while the future is polled or dropped (rule 7).
//! Every primitive comes from [`crate::sync`], so loom model-checks this.
//! The states are the variants of [`State`]; the diagram is on
//! [`ReaderSlot`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

use crate::sync::{Mutex, lock};

/// Where one future lives between polls, with the rules for who polls it.
///
/// Internal (see the module docs): `F` is the h2 call's response reader.
///
/// Its states (see [`State`]), and what moves it between them:
///
/// ```text
///   Empty ──install──► Idle ◄──────── put back ─────────┐
///     ▲                 │ poll                           │ (pending, no `again`)
///     │                 ▼                                │
///     │               Busy{again: false} ──wake / poll──► Busy{again: true}
///     │                 │          ▲                      │
///     │ ready           │          └─── poll once more ───┘
///     └─────────────────┤
///                       │ stop (from any state; a poller that finds
///                       ▼  it stopped drops its future, lock released)
///                    Stopped (final: never polled, install refused)
/// ```
///
/// `wake_noted` rides along in `Idle` and `Busy`: a wake-up noted by
/// [`note_wake`](Self::note_wake) whose poll has not started yet (see
/// [`clear_wake_note`](Self::clear_wake_note)).
pub struct ReaderSlot<F> {
    state: Mutex<State<F>>,
}

/// The state of a [`ReaderSlot`] (diagram on the type).
enum State<F> {
    /// No future: none installed yet, or it finished.
    Empty,
    /// The future waits in the slot for its next poll.
    Idle {
        /// The future.
        future: F,
        /// A wake-up was noted and a poll will follow; further wake-ups
        /// until then need nothing more.
        wake_noted: bool,
    },
    /// A poll is running; the future is out of its slot, with the poller.
    Busy {
        /// Woken (or asked to poll) meanwhile: poll again before putting
        /// the future back.
        again: bool,
        /// As in `Idle`: carried over to the `Idle` the poll ends in.
        wake_noted: bool,
    },
    /// Stopped: the future is dropped (or is being dropped by the poller
    /// that had it) and never polled again. Final.
    Stopped,
}

impl<F> Default for ReaderSlot<F> {
    fn default() -> Self {
        ReaderSlot {
            state: Mutex::new(State::Empty),
        }
    }
}

impl<F: Future + Unpin> ReaderSlot<F> {
    /// An empty slot.
    pub fn new() -> Self {
        ReaderSlot::default()
    }

    /// Puts `future` in an empty slot. Returns `false` if the slot was
    /// stopped already, or already holds a future (a slot holds one): the
    /// future is then dropped, after the lock.
    pub fn install(&self, future: F) -> bool {
        let mut state = lock(&self.state);
        if !matches!(*state, State::Empty) {
            drop(state);
            drop(future);
            return false;
        }
        *state = State::Idle {
            future,
            wake_noted: false,
        };
        true
    }

    /// Polls the future, unless it finished, was stopped or is not
    /// installed. If it is being polled elsewhere, that poll runs again
    /// instead, so no wake-up is lost. `waker` makes the poll's waker; it
    /// is called only when this thread polls.
    pub fn poll(&self, waker: impl FnOnce() -> Waker) {
        let mut future = {
            let mut state = lock(&self.state);
            match std::mem::replace(&mut *state, State::Empty) {
                State::Idle { future, wake_noted } => {
                    *state = State::Busy {
                        again: false,
                        wake_noted,
                    };
                    future
                }
                State::Busy { wake_noted, .. } => {
                    *state = State::Busy {
                        again: true,
                        wake_noted,
                    };
                    return;
                }
                // Empty or Stopped: nothing to poll (no future to drop).
                other => {
                    *state = other;
                    return;
                }
            }
        };
        let waker = waker();
        let mut cx = Context::from_waker(&waker);
        loop {
            let finished = Pin::new(&mut future).poll(&mut cx).is_ready();
            let mut state = lock(&self.state);
            // Only this poller leaves `Busy`; `stop` may have moved it to
            // `Stopped` meanwhile.
            let State::Busy { again, wake_noted } = &mut *state else {
                // Stopped: the guard goes first, then the future, so no
                // lock is held while it drops.
                return;
            };
            if finished {
                *state = State::Empty;
                // The guard goes first, then the future.
                return;
            }
            if std::mem::take(again) {
                continue;
            }
            *state = State::Idle {
                future,
                wake_noted: *wake_noted,
            };
            return;
        }
    }

    /// Notes a wake-up of the future. Returns `true` if the caller must
    /// arrange a poll (and call [`clear_wake_note`](Self::clear_wake_note)
    /// before it polls); `false` if nothing is needed: a poll under way
    /// will run again, a poll is already arranged, or there is no future.
    pub fn note_wake(&self) -> bool {
        let mut state = lock(&self.state);
        match &mut *state {
            State::Busy { again, .. } => {
                *again = true;
                false
            }
            State::Idle { wake_noted, .. } => !std::mem::replace(wake_noted, true),
            State::Empty | State::Stopped => false,
        }
    }

    /// Forgets a noted wake-up: the poll it arranged is about to run (or
    /// will be arranged another way), so the next wake-up arranges its own.
    pub fn clear_wake_note(&self) {
        let mut state = lock(&self.state);
        if let State::Idle { wake_noted, .. } | State::Busy { wake_noted, .. } = &mut *state {
            *wake_noted = false;
        }
    }

    /// Stops the slot: the future is dropped (here, after the lock, unless
    /// a poll has it: then by that poller once its poll returns) and never
    /// polled again.
    pub fn stop(&self) {
        let previous = std::mem::replace(&mut *lock(&self.state), State::Stopped);
        // The guard is gone (a temporary of the statement above): a future
        // in `previous` drops with no lock held.
        drop(previous);
    }
}
