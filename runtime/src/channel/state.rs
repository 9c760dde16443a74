//! The connectivity state machine (layer: channel).
//!
//! Owns [`State`], the channel's state with the data each state carries
//! (the diagram is on it), and everything else kept under the same lock
//! ([`Locked`]), as data: the transitions that need the channel (to spawn
//! its tasks, to serve or fail its calls) are `core`'s; the one that needs
//! only the lock, dropping a broken connection, is here. The pending calls
//! and ready waiters are `pending`'s types; the connect loop, `connect`'s.
//!
//! Must not: call user code or start a call while holding the lock (rule
//! 7): the transitions (here and in `core`) collect what to activate or
//! fail and do it after.

use crate::channel::ConnectivityState;
use crate::channel::backoff::Backoff;
use crate::channel::connection::Connection;
use crate::channel::pending::{PendingCall, ReadyWaiter};
use crate::status::Status;

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
    /// Whether an idle timer task is running.
    pub(crate) idle_timer_running: bool,
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
            idle_timer_running: false,
        }
    }
}

impl<C: Connection> Locked<C> {
    /// A READY channel whose connection can take no new calls goes IDLE,
    /// so that the caller reconnects.
    pub(crate) fn drop_broken_connection(&mut self) {
        if let State::Ready { connection, .. } = &self.state
            && connection.is_broken()
        {
            self.state = State::Idle;
        }
    }
}
