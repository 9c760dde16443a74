//! The connectivity state machine (layer: channel).
//!
//! Owns [`State`], the channel's state with the data each state carries
//! (the diagram is on it), and everything else kept under the same lock
//! ([`Locked`]), as data: the transitions that need the channel (to spawn
//! its tasks, to serve or fail its calls) are `core`'s; the one that needs
//! only the lock, dropping a broken connection, is here. The pending calls
//! and ready waiters are `pending`'s types; the connect loop, `connect`'s.
//!
//! Every transition goes through [`Locked::set_state`], and the lock is
//! taken with [`lock_state`]: both tell `watch`'s [`Watchers`] the reported
//! state, and the guard wakes the waiters it resolved once it unlocks.
//!
//! Must not: call user code or start a call while holding the lock (rule
//! 7): the transitions (here and in `core`) collect what to activate or
//! fail and do it after.

use std::task::Waker;

use crate::channel::ConnectivityState;
use crate::channel::backoff::Backoff;
use crate::channel::connection::Connection;
use crate::channel::pending::{PendingCall, ReadyWaiter};
use crate::channel::watch::Watchers;
use crate::status::Status;
use crate::sync::{Mutex, MutexGuard, lock};

/// A channel's connectivity state and what it holds in it.
///
/// ```text
///              call / state(true)             attempt connected
///   Idle ─────────────────────────► Connecting ──────────────────► Ready { id, connection }
///    ▲ ▲                             │     ▲                         │
///    │ │              attempt failed │     │ backoff elapsed         │
///    │ │                             ▼     │ (after_failure: error)  │
///    │ └──── idle timeout ──── TransientFailure { error }            │
///    │                                                               │
///    └───── connection closed, found broken, or idle timeout ────────┘
///
///   any state ──shutdown()──► Shutdown (final)
/// ```
///
/// A GOAWAY on the ready connection (`goaway`) takes the channel from
/// `Ready` to `Connecting` at once if calls are in use, else to `Idle`.
///
/// TRANSIENT_FAILURE is sticky, as in grpc-java's pick_first: a reconnect
/// attempt after a failure is `Connecting { after_failure: Some(error) }`,
/// which users see as TRANSIENT_FAILURE and in which fail-fast calls fail at
/// once with `error`; only `Ready` clears it. `Idle` and a first
/// `Connecting` carry no error.
pub(crate) enum State<C> {
    /// No connection and no attempt under way. The next call connects.
    Idle,
    /// An attempt is under way; `after_failure` is the error of the failed
    /// attempt before it, if any (the channel then still reports
    /// TRANSIENT_FAILURE).
    Connecting {
        /// The last failed attempt's error (sticky TRANSIENT_FAILURE).
        after_failure: Option<Status>,
    },
    /// A connection is ready for calls.
    Ready {
        /// Which attempt made it (a late close of an older one is ignored).
        id: u64,
        /// The connection calls are opened on.
        connection: C,
    },
    /// The last attempt failed; the connect loop waits out its backoff.
    TransientFailure {
        /// Why the attempt failed: fail-fast calls fail with it.
        error: Status,
    },
    /// Shut down: every new call fails. Final.
    Shutdown,
}

impl<C> State<C> {
    /// The state as users see it: a reconnect attempt after a failure is
    /// still TRANSIENT_FAILURE (sticky, until READY).
    pub(crate) fn reported(&self) -> ConnectivityState {
        match self {
            State::Idle => ConnectivityState::Idle,
            State::Connecting {
                after_failure: Some(_),
            }
            | State::TransientFailure { .. } => ConnectivityState::TransientFailure,
            State::Connecting {
                after_failure: None,
            } => ConnectivityState::Connecting,
            State::Ready { .. } => ConnectivityState::Ready,
            State::Shutdown => ConnectivityState::Shutdown,
        }
    }

    /// The connection error this state carries: the last failed attempt's,
    /// in TRANSIENT_FAILURE (also while reconnecting after it).
    pub(crate) fn error(&self) -> Option<&Status> {
        match self {
            State::TransientFailure { error }
            | State::Connecting {
                after_failure: Some(error),
            } => Some(error),
            _ => None,
        }
    }
}

/// Everything under a channel's state lock.
pub(crate) struct Locked<C> {
    /// The connectivity state.
    pub(crate) state: State<C>,
    /// Calls waiting for a connection (only while connecting or in
    /// transient failure; `pending` owns them).
    pub(crate) pending: Vec<Box<dyn PendingCall<C>>>,
    /// Retried calls waiting for the next ready connection; a fail-fast
    /// one also hears of a failed attempt.
    pub(crate) ready_waiters: Vec<ReadyWaiter<C>>,
    /// The reconnect schedule.
    pub(crate) backoff: Backoff,
    /// The id of the last connection attempt.
    pub(crate) next_connection_id: u64,
    /// Which connect loop owns the reconnect schedule: each loop started
    /// from IDLE gets the next number, and a loop left from before (asleep
    /// in its backoff when the channel went IDLE) ends at its next retry
    /// instead of making the new loop's.
    pub(crate) connect_loop: u64,
    /// Whether an idle timer task is running.
    pub(crate) idle_timer_running: bool,
    /// Who waits for the reported state to change.
    pub(crate) watchers: Watchers,
}

impl<C> Locked<C> {
    /// A channel's starting point: IDLE, nothing pending.
    pub(crate) fn new(backoff: Backoff) -> Self {
        Locked {
            state: State::Idle,
            pending: Vec::new(),
            ready_waiters: Vec::new(),
            backoff,
            next_connection_id: 0,
            connect_loop: 0,
            idle_timer_running: false,
            watchers: Watchers::new(),
        }
    }

    /// A transition: the state becomes `state`, and its watchers hear of
    /// it if the reported state changed (woken when the lock is released).
    pub(crate) fn set_state(&mut self, state: State<C>) {
        self.state = state;
        self.observe();
    }

    /// Tells the watchers the reported state (nothing happens unless it
    /// changed since they last heard).
    fn observe(&mut self) {
        self.watchers
            .observe(self.state.reported(), self.state.error());
    }
}

/// The channel's state lock, held: on release it tells the watchers the
/// reported state (a transition that bypassed [`Locked::set_state`] is
/// still seen) and wakes those it resolved, after unlocking (rule 7).
pub(crate) struct StateLock<'a, C> {
    // Fields drop in order after `drop`: the lock first, then the wakers.
    guard: MutexGuard<'a, Locked<C>>,
    wake: WakeOnDrop,
}

/// Wakers to wake when dropped (after the lock is released).
struct WakeOnDrop(Vec<Waker>);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        for waker in self.0.drain(..) {
            waker.wake();
        }
    }
}

/// Locks a channel's state (see [`StateLock`]).
pub(crate) fn lock_state<C>(mutex: &Mutex<Locked<C>>) -> StateLock<'_, C> {
    StateLock {
        guard: lock(mutex),
        wake: WakeOnDrop(Vec::new()),
    }
}

impl<C> std::ops::Deref for StateLock<'_, C> {
    type Target = Locked<C>;

    fn deref(&self) -> &Locked<C> {
        &self.guard
    }
}

impl<C> std::ops::DerefMut for StateLock<'_, C> {
    fn deref_mut(&mut self) -> &mut Locked<C> {
        &mut self.guard
    }
}

impl<C> Drop for StateLock<'_, C> {
    fn drop(&mut self) {
        self.guard.observe();
        self.wake.0 = self.guard.watchers.take_wakers();
    }
}

impl<C: Connection> Locked<C> {
    /// A READY channel whose connection can take no new calls goes IDLE,
    /// so that the caller reconnects.
    pub(crate) fn drop_broken_connection(&mut self) {
        if let State::Ready { connection, .. } = &self.state
            && connection.is_broken()
        {
            self.set_state(State::Idle);
        }
    }
}
