//! The slot an h2 call's response reader lives in between polls (layer:
//! call, below `h2`). Internal: public only so the loom models in
//! `tests/loom.rs` can drive it; not part of the API.
//!
//! Owns one future and who may poll it. The future is polled by whichever
//! thread gets there first: the caller's pump, or the I/O thread after a
//! batched wake-up (see `crate::wake_batch`). It keeps three invariants:
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
//! Every primitive comes from `crate::sync`, so loom model-checks this.
//! The states are the variants of `State`; the diagram is on
//! [`ReaderSlot`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};

use crate::sync::{Mutex, lock};

/// Where one future lives between polls, with the rules for who polls it.
///
/// Internal (see the module docs): `F` is the h2 call's response reader.
///
/// Its states (the variants of `State`), and what moves it between them:
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

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Weak};
    use std::task::Poll;

    /// What the probe saw.
    #[derive(Default)]
    struct Log {
        polls: AtomicUsize,
        drops: AtomicUsize,
    }

    /// A future that counts its polls and drops and, on its `n`th poll
    /// (from 1), does what its `on_poll` says.
    struct Probe {
        log: Arc<Log>,
        on_poll: Box<dyn FnMut(usize) -> Poll<()> + Send>,
    }

    impl Future for Probe {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            let n = self.log.polls.fetch_add(1, Ordering::SeqCst) + 1;
            (self.on_poll)(n)
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.log.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn probe(log: &Arc<Log>, on_poll: impl FnMut(usize) -> Poll<()> + Send + 'static) -> Probe {
        Probe {
            log: log.clone(),
            on_poll: Box::new(on_poll),
        }
    }

    fn poll(slot: &ReaderSlot<Probe>) {
        slot.poll(|| Waker::noop().clone());
    }

    /// A slot whose probe runs `during(slot, n)` on its `n`th poll and
    /// stays pending.
    fn slot_with(
        log: &Arc<Log>,
        during: impl Fn(&ReaderSlot<Probe>, usize) + Send + Sync + 'static,
    ) -> Arc<ReaderSlot<Probe>> {
        Arc::new_cyclic(|weak: &Weak<ReaderSlot<Probe>>| {
            let slot = ReaderSlot::new();
            let weak = weak.clone();
            assert!(slot.install(probe(log, move |n| {
                if let Some(slot) = weak.upgrade() {
                    during(&slot, n);
                }
                Poll::Pending
            })));
            slot
        })
    }

    #[test]
    fn a_noted_wake_up_asks_for_one_poll_until_cleared() {
        let empty: ReaderSlot<Probe> = ReaderSlot::new();
        assert!(!empty.note_wake(), "no future, nothing to poll");
        let log = Arc::new(Log::default());
        let slot = ReaderSlot::new();
        assert!(slot.install(probe(&log, |_| Poll::Pending)));
        assert!(slot.note_wake());
        assert!(!slot.note_wake(), "a poll is arranged already");
        poll(&slot);
        assert!(!slot.note_wake(), "still noted until cleared");
        slot.clear_wake_note();
        assert!(slot.note_wake());
        assert_eq!(log.polls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_wake_up_or_poll_during_a_poll_polls_once_more() {
        let log = Arc::new(Log::default());
        let slot = slot_with(&log, |slot, n| {
            if n == 1 {
                assert!(!slot.note_wake(), "the poller polls again instead");
                poll(slot);
            }
        });
        poll(&slot);
        assert_eq!(log.polls.load(Ordering::SeqCst), 2);
        poll(&slot);
        assert_eq!(
            log.polls.load(Ordering::SeqCst),
            3,
            "put back: polled again"
        );
        assert_eq!(log.drops.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_finished_future_is_dropped_and_leaves_the_slot_empty() {
        let log = Arc::new(Log::default());
        let slot = ReaderSlot::new();
        assert!(slot.install(probe(&log, |_| Poll::Ready(()))));
        assert!(
            !slot.install(probe(&log, |_| Poll::Ready(()))),
            "one at a time"
        );
        assert_eq!(log.drops.load(Ordering::SeqCst), 1, "the refused one");
        poll(&slot);
        assert_eq!(log.drops.load(Ordering::SeqCst), 2);
        poll(&slot);
        assert!(!slot.note_wake());
        assert_eq!(log.polls.load(Ordering::SeqCst), 1);
        assert!(slot.install(probe(&log, |_| Poll::Pending)), "empty again");
    }

    #[test]
    fn stop_is_final() {
        let log = Arc::new(Log::default());
        let slot = ReaderSlot::new();
        assert!(slot.install(probe(&log, |_| Poll::Pending)));
        slot.stop();
        assert_eq!(log.drops.load(Ordering::SeqCst), 1);
        poll(&slot);
        assert!(!slot.note_wake());
        assert!(!slot.install(probe(&log, |_| Poll::Pending)));
        assert_eq!(log.polls.load(Ordering::SeqCst), 0);
        assert_eq!(log.drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_stop_during_a_poll_drops_the_future_once_that_poll_returns() {
        let log = Arc::new(Log::default());
        let seen = log.clone();
        let slot = slot_with(&log, move |slot, _| {
            slot.stop();
            assert_eq!(seen.drops.load(Ordering::SeqCst), 0, "the poller has it");
            // A wake-up after the stop asks for nothing and polls nothing.
            assert!(!slot.note_wake());
        });
        poll(&slot);
        assert_eq!(log.polls.load(Ordering::SeqCst), 1);
        assert_eq!(log.drops.load(Ordering::SeqCst), 1);
        poll(&slot);
        assert_eq!(log.polls.load(Ordering::SeqCst), 1);
    }
}
