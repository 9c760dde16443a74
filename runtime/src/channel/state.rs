//! The connectivity state machine (layer: channel).
//!
//! Owns [`State`], the channel's state with the data each state carries,
//! everything else kept under the same lock ([`Locked`]), and the
//! transitions the connect loop, the connections and the idle timer drive.
//! Picking a connection for a new call is `core`'s job; the pending calls
//! and ready waiters, `pending`'s; the connect loop, `connect`'s.
//!
//! Must not: call user code or start a call while holding the lock (rule
//! 7): transitions collect what to activate or fail and do it after.

use std::sync::Arc;
use std::time::Duration;

use crate::channel::ConnectivityState;
use crate::channel::backoff::Backoff;
use crate::channel::connect::connect_loop;
use crate::channel::connection::{Connection, Connector};
use crate::channel::core::Core;
use crate::channel::idle::idle_timer;
use crate::channel::pending::{PendingCall, ReadyWaiter};
use crate::status::Status;
use crate::sync::lock;

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

impl<K: Connector> Core<K> {
    /// IDLE → CONNECTING: spawns the connect loop, and the idle timer if it
    /// is not running (lock held by the caller, state IDLE). Without a
    /// runtime the channel goes to TRANSIENT_FAILURE with that error.
    pub(crate) fn start_connecting(self: &Arc<Self>, locked: &mut Locked<K::Connection>) {
        let runtime = match self.runtime() {
            Ok(runtime) => runtime,
            Err(error) => {
                locked.state = State::TransientFailure { error };
                return;
            }
        };
        locked.state = State::Connecting {
            after_failure: None,
        };
        if !locked.idle_timer_running {
            locked.idle_timer_running = true;
            runtime.spawn(idle_timer(Arc::downgrade(self)));
        }
        runtime.spawn(connect_loop(Arc::downgrade(self), runtime.clone()));
    }

    /// CONNECTING → READY: serves the pending calls and ready waiters on
    /// `connection`. A channel that moved on meanwhile (shut down, gone
    /// idle) drops the connection instead.
    pub(crate) fn on_connected(&self, id: u64, connection: K::Connection) {
        let (pending, waiters) = {
            let mut locked = lock(&self.state);
            if !matches!(locked.state, State::Connecting { .. }) {
                return;
            }
            locked.state = State::Ready {
                id,
                connection: connection.clone(),
            };
            locked.backoff.reset();
            (
                std::mem::take(&mut locked.pending),
                std::mem::take(&mut locked.ready_waiters),
            )
        };
        for (_, waiter) in waiters {
            let _ = waiter.send(Ok(connection.clone()));
        }
        for call in pending {
            call.activate(&connection);
        }
    }

    /// CONNECTING → TRANSIENT_FAILURE: fail-fast pending calls and ready
    /// waiters fail with `status`; wait-for-ready ones wait on. Returns the
    /// backoff to wait before the next attempt, or `None` if the channel
    /// moved on and should stop trying.
    pub(crate) fn on_connect_failed(&self, status: Status) -> Option<Duration> {
        let (fail_fast, fail_waiters, delay) = {
            let mut locked = lock(&self.state);
            if !matches!(locked.state, State::Connecting { .. }) {
                return None;
            }
            locked.state = State::TransientFailure {
                error: status.clone(),
            };
            let (wait, fail): (Vec<_>, Vec<_>) = std::mem::take(&mut locked.pending)
                .into_iter()
                .partition(|p| p.wait_for_ready());
            locked.pending = wait;
            // Wait-for-ready retries wait on; fail-fast ones hear of it.
            let (waiters, fail_waiters): (Vec<_>, Vec<_>) =
                std::mem::take(&mut locked.ready_waiters)
                    .into_iter()
                    .partition(|(wait_for_ready, _)| *wait_for_ready);
            // Those whose call ended meanwhile (deadline, cancel) go.
            locked.ready_waiters = waiters
                .into_iter()
                .filter(|(_, waiter)| !waiter.is_closed())
                .collect();
            (fail, fail_waiters, locked.backoff.next_delay())
        };
        tracing::debug!(%status, ?delay, "connection attempt failed; backing off");
        for (_, waiter) in fail_waiters {
            let _ = waiter.send(Err(status.clone()));
        }
        for call in fail_fast {
            call.fail(status.clone());
        }
        Some(delay)
    }

    /// TRANSIENT_FAILURE → CONNECTING (still reported as TRANSIENT_FAILURE):
    /// the backoff elapsed. Returns the next attempt's connect timeout, or
    /// `None` if the channel moved on (idle, shut down).
    pub(crate) fn begin_retry(&self) -> Option<Duration> {
        let mut locked = lock(&self.state);
        match std::mem::replace(&mut locked.state, State::Idle) {
            State::TransientFailure { error } => {
                locked.state = State::Connecting {
                    after_failure: Some(error),
                };
                Some(locked.backoff.connect_timeout())
            }
            other => {
                locked.state = other;
                None
            }
        }
    }

    /// READY → IDLE: connection `id` ended. Ignored unless it is the
    /// channel's current connection.
    pub(crate) fn on_connection_closed(&self, id: u64, status: Status) {
        let mut locked = lock(&self.state);
        if matches!(locked.state, State::Ready { id: current, .. } if current == id) {
            tracing::debug!(%status, "channel's connection closed; going IDLE");
            locked.state = State::Idle;
        }
    }

    /// Any state → SHUTDOWN: pending calls fail with UNAVAILABLE and ready
    /// waiters hear the channel is gone. Calls already on a connection go
    /// on; the connection closes once they finish and its handles drop.
    pub(crate) fn shutdown(&self) {
        let pending = {
            let mut locked = lock(&self.state);
            locked.state = State::Shutdown;
            locked.ready_waiters.clear();
            std::mem::take(&mut locked.pending)
        };
        for call in pending {
            call.fail(Status::unavailable("channel was shut down"));
        }
    }
}
