//! Connectivity watchers (layer: channel).
//!
//! Owns who waits for a channel's reported state to change: the
//! [`Watchers`] list kept under the channel's state lock (in
//! `state::Locked`), each waiter's [`Watcher`] slot, the [`Watch`] future a
//! waiter polls, and [`block_on`], which parks a thread on such a future.
//!
//! One place notifies: [`Watchers::observe`], which `state` calls with the
//! reported state after every transition (`Locked::set_state`) and again
//! when the state lock is released (`state::StateLock`), so that no change
//! of the reported state goes unseen. A watcher is resolved with the first
//! state the channel reports after it registered, and the error that state
//! carries, even if the channel moves on before the waiter runs.
//!
//! Must not: wake a waiter under the channel's lock (rule 7: a waker is the
//! user's executor's code). `observe` collects the wakers; the state lock's
//! guard wakes them after it unlocks. Knows nothing of the states' data:
//! it sees only [`ConnectivityState`] and an error.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use tokio::task::AbortHandle;

use crate::channel::ConnectivityState;
use crate::status::Status;
use crate::sync::{Mutex, lock, thread};

/// How a watch ended.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// The channel reported `to` (the first change after the watch
    /// registered), with the error that state carries, if any.
    Changed {
        /// The new reported state.
        to: ConnectivityState,
        /// The connection error behind a TRANSIENT_FAILURE.
        error: Option<Status>,
    },
    /// The deadline passed first.
    TimedOut,
    /// The waiter gave up (its future was dropped).
    Abandoned,
}

/// One waiter's slot, shared by the channel's list, the waiter, and its
/// deadline timer: the first outcome set wins.
pub(crate) struct Watcher {
    slot: Mutex<Slot>,
}

/// What a [`Watcher`] holds.
struct Slot {
    outcome: Option<Outcome>,
    waker: Option<Waker>,
}

impl Watcher {
    /// A watcher whose outcome is not decided yet.
    pub(crate) fn new() -> Arc<Watcher> {
        Arc::new(Watcher {
            slot: Mutex::new(Slot {
                outcome: None,
                waker: None,
            }),
        })
    }

    /// A watcher decided at once (the state already differs).
    pub(crate) fn decided(outcome: Outcome) -> Arc<Watcher> {
        Arc::new(Watcher {
            slot: Mutex::new(Slot {
                outcome: Some(outcome),
                waker: None,
            }),
        })
    }

    /// Sets the outcome unless one is set; returns the waker to wake (after
    /// every lock is released).
    pub(crate) fn resolve(&self, outcome: Outcome) -> Option<Waker> {
        let mut slot = lock(&self.slot);
        if slot.outcome.is_some() {
            return None;
        }
        slot.outcome = Some(outcome);
        slot.waker.take()
    }

    /// Whether the outcome is decided (the channel may forget it).
    fn is_decided(&self) -> bool {
        lock(&self.slot).outcome.is_some()
    }

    /// The outcome, or `Pending` with `cx`'s waker stored.
    fn poll(&self, cx: &mut Context<'_>) -> Poll<Outcome> {
        let mut slot = lock(&self.slot);
        match &slot.outcome {
            Some(outcome) => Poll::Ready(outcome.clone()),
            None => {
                match &mut slot.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    waker => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

/// The waiters for a change of one channel's reported state (under the
/// channel's state lock).
pub(crate) struct Watchers {
    /// The reported state the waiters last heard of: they wait for another.
    reported: ConnectivityState,
    /// Registered and undecided (decided ones are dropped on the next
    /// registration or change).
    waiting: Vec<Arc<Watcher>>,
    /// Wakers of resolved watchers, woken once the lock is released.
    to_wake: Vec<Waker>,
}

impl Watchers {
    /// No waiter; the channel reports IDLE.
    pub(crate) fn new() -> Watchers {
        Watchers {
            reported: ConnectivityState::Idle,
            waiting: Vec::new(),
            to_wake: Vec::new(),
        }
    }

    /// The one place waiters hear of a change: called with the reported
    /// state (and its error) after every transition. Does nothing unless
    /// the reported state changed; then resolves every waiter with it.
    pub(crate) fn observe(&mut self, now: ConnectivityState, error: Option<&Status>) {
        if now == self.reported {
            return;
        }
        tracing::trace!(from = ?self.reported, to = ?now, "channel state changed");
        self.reported = now;
        for watcher in self.waiting.drain(..) {
            let outcome = Outcome::Changed {
                to: now,
                error: error.cloned(),
            };
            if let Some(waker) = watcher.resolve(outcome) {
                self.to_wake.push(waker);
            }
        }
    }

    /// A watcher for the first change away from `from`, given the state
    /// the channel reports `now` (and its error): decided at once if `now`
    /// is already another state, else registered.
    pub(crate) fn watch(
        &mut self,
        from: ConnectivityState,
        now: ConnectivityState,
        error: Option<&Status>,
    ) -> Arc<Watcher> {
        self.observe(now, error);
        if now != from {
            return Watcher::decided(Outcome::Changed {
                to: now,
                error: error.cloned(),
            });
        }
        self.waiting.retain(|watcher| !watcher.is_decided());
        let watcher = Watcher::new();
        self.waiting.push(watcher.clone());
        watcher
    }

    /// The wakers to wake once the lock is released (none, without
    /// allocating, when nothing changed).
    pub(crate) fn take_wakers(&mut self) -> Vec<Waker> {
        if self.to_wake.is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut self.to_wake)
    }
}

/// A channel that is dropped (every handle gone) is as good as shut down:
/// its waiters hear SHUTDOWN rather than wait forever. No lock is held
/// here: the channel's state is being dropped.
impl Drop for Watchers {
    fn drop(&mut self) {
        self.observe(ConnectivityState::Shutdown, None);
        for waker in self.to_wake.drain(..) {
            waker.wake();
        }
    }
}

/// A future for one watcher's outcome; dropping it gives up the watch and
/// stops its deadline timer.
pub(crate) struct Watch {
    watcher: Arc<Watcher>,
    /// The deadline timer on the channel's runtime, if there is a deadline.
    timer: Option<AbortHandle>,
}

impl Watch {
    /// Waits on `watcher`; `timer` resolves it at the deadline.
    pub(crate) fn new(watcher: Arc<Watcher>, timer: Option<AbortHandle>) -> Watch {
        Watch { watcher, timer }
    }
}

impl Future for Watch {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        self.watcher.poll(cx)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
        // Lets the channel forget the watcher before the next change.
        let _ = self.watcher.resolve(Outcome::Abandoned);
    }
}

/// Runs `future` to completion on this thread, parking between polls.
///
/// No lost wake-up: the future stores the waker before it says `Pending`,
/// and an unpark that comes before the `park` makes `park` return at once.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = thread::waker(thread::current());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}
