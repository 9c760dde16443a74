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
//!
//! ```text
//!   empty ──install──► idle ◄──── put back ────┐
//!                       │ poll                  │ (pending, not stopped,
//!                       ▼                       │  no `again`)
//!                     busy ──── wake / poll ───► busy + again ──► poll once more
//!                       │ ready, or stopped
//!                       ▼
//!                     gone (dropped with no lock held; stays gone)
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

use crate::sync::{Mutex, lock};

/// Where one future lives between polls, with the rules for who polls it.
///
/// Internal (see the module docs): `F` is the h2 call's response reader.
pub struct ReaderSlot<F> {
    state: Mutex<State<F>>,
}

struct State<F> {
    future: Option<F>,
    /// A poll is running; the future is out of its slot.
    busy: bool,
    /// Woken while `busy`: poll again before putting the future back.
    again: bool,
    /// Stopped: the future is dropped and never polled again.
    stopped: bool,
    /// A wake-up was noted (see [`ReaderSlot::note_wake`]) and a poll will
    /// follow; further wake-ups until then need nothing more.
    wake_noted: bool,
}

impl<F> Default for ReaderSlot<F> {
    fn default() -> Self {
        ReaderSlot {
            state: Mutex::new(State {
                future: None,
                busy: false,
                again: false,
                stopped: false,
                wake_noted: false,
            }),
        }
    }
}

impl<F: Future + Unpin> ReaderSlot<F> {
    /// An empty slot.
    pub fn new() -> Self {
        ReaderSlot::default()
    }

    /// Puts `future` in the slot. Returns `false` if the slot was stopped
    /// already: the future is then dropped, after the lock.
    pub fn install(&self, future: F) -> bool {
        let mut state = lock(&self.state);
        if state.stopped {
            drop(state);
            drop(future);
            return false;
        }
        state.future = Some(future);
        true
    }

    /// Polls the future, unless it finished, was stopped or is not
    /// installed. If it is being polled elsewhere, that poll runs again
    /// instead, so no wake-up is lost. `waker` makes the poll's waker; it
    /// is called only when this thread polls.
    pub fn poll(&self, waker: impl FnOnce() -> Waker) {
        let mut future = {
            let mut state = lock(&self.state);
            if state.busy {
                state.again = true;
                return;
            }
            let Some(future) = state.future.take() else {
                return;
            };
            state.busy = true;
            future
        };
        let waker = waker();
        let mut cx = Context::from_waker(&waker);
        loop {
            let finished = Pin::new(&mut future).poll(&mut cx).is_ready();
            let mut state = lock(&self.state);
            if !finished && !state.stopped && std::mem::take(&mut state.again) {
                continue;
            }
            state.busy = false;
            state.again = false;
            if !finished && !state.stopped {
                state.future = Some(future);
            }
            // Otherwise the guard goes first, then the future: no lock is
            // held while it drops.
            return;
        }
    }

    /// Notes a wake-up of the future. Returns `true` if the caller must
    /// arrange a poll (and call [`clear_wake_note`](Self::clear_wake_note)
    /// before it polls); `false` if nothing is needed: a poll under way
    /// will run again, a poll is already arranged, or there is no future.
    pub fn note_wake(&self) -> bool {
        let mut state = lock(&self.state);
        if state.busy {
            state.again = true;
            return false;
        }
        if state.future.is_none() || state.wake_noted {
            return false;
        }
        state.wake_noted = true;
        true
    }

    /// Forgets a noted wake-up: the poll it arranged is about to run (or
    /// will be arranged another way), so the next wake-up arranges its own.
    pub fn clear_wake_note(&self) {
        lock(&self.state).wake_noted = false;
    }

    /// Stops the slot: the future is dropped (here, after the lock, unless
    /// a poll has it: then by that poller once its poll returns) and never
    /// polled again.
    pub fn stop(&self) {
        let future = {
            let mut state = lock(&self.state);
            state.stopped = true;
            state.future.take()
        };
        drop(future);
    }
}
