//! The channel's core, generic over its connector (layer: channel).
//!
//! [`Core`] is what a [`Channel`](crate::Channel) shares among its clones,
//! tasks and calls: the target, the runtime, the [`Connector`], the state
//! under its lock, and the count of calls in use. It picks where each new
//! call goes: onto the ready connection, into the pending calls, or a
//! [`FailedCall`] decided at once. It owns the state transitions that need
//! the channel (starting to connect spawns the connect loop and the idle
//! timer, `connect`'s and `idle`'s `Core` functions; a ready connection
//! serves the pending calls), and is what a call in use ([`Used`]) and a
//! connection ([`ChannelEvents`]) see of the channel. The public channel is
//! a `Core<H2Connector>`; the unit tests run the same core on a fake.
//!
//! Must not: start, fail or replay a call while holding the lock (rule 7).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::call::h2::CallSpec;
use crate::call::{DelayedClientCall, FailedCall, SharedCall};
use crate::channel::ConnectivityState;
use crate::channel::backoff::Backoff;
use crate::channel::call::ChannelCall;
use crate::channel::connection::{ChannelEvents, Connection, Connector, NextReady};
use crate::channel::pending::Pending;
use crate::channel::state::{Locked, State, lock_state};
use crate::channel::usage::{InUse, Usage, Used};
use crate::codec::Codec;
use crate::compression::Encoding;
use crate::executor::ThreadlessExecutor;
use crate::method::{MethodDescriptor, MethodKind};
use crate::options::CallOptions;
use crate::status::Status;
use crate::sync::Mutex;
use crate::transport::Address;

/// A channel's shared insides, generic over how it connects.
pub(crate) struct Core<K: Connector> {
    /// Where the channel connects.
    pub(crate) target: Address,
    /// The runtime the user named, if any (else the shared default one).
    runtime: Option<tokio::runtime::Handle>,
    /// Opens the channel's connections (shared with the connect loop).
    pub(crate) connector: Arc<K>,
    /// How long without a call in use before the channel goes IDLE.
    pub(crate) idle_timeout: Duration,
    /// The state machine and what waits on it.
    pub(crate) state: Mutex<Locked<K::Connection>>,
    /// Calls in use, for idle mode.
    pub(crate) usage: Usage,
}

impl<K: Connector> Core<K> {
    /// An IDLE channel to `target`.
    pub(crate) fn new(
        target: Address,
        runtime: Option<tokio::runtime::Handle>,
        connector: K,
        idle_timeout: Duration,
        backoff: Backoff,
    ) -> Self {
        Core {
            target,
            runtime,
            connector: Arc::new(connector),
            idle_timeout,
            state: Mutex::new(Locked::new(backoff)),
            usage: Usage::new(),
        }
    }

    /// The runtime the channel's tasks run on.
    pub(crate) fn runtime(&self) -> Result<tokio::runtime::Handle, Status> {
        match &self.runtime {
            Some(handle) => Ok(handle.clone()),
            None => crate::rt::default_handle(),
        }
    }

    /// The state users see; with `try_to_connect`, an IDLE channel starts
    /// connecting.
    pub(crate) fn connectivity(self: &Arc<Self>, try_to_connect: bool) -> ConnectivityState {
        let mut locked = lock_state(&self.state);
        if try_to_connect && matches!(locked.state, State::Idle) {
            self.start_connecting(&mut locked);
        }
        locked.state.reported()
    }

    /// A call that fails with `status` as soon as it starts, counted as in
    /// use like any other.
    pub(crate) fn failed_call<Req: Send + 'static, Resp: Send + 'static>(
        self: &Arc<Self>,
        status: Status,
        executor: ThreadlessExecutor,
    ) -> ChannelCall<Req, Resp> {
        let failed = Arc::new(FailedCall::new(status, executor));
        ChannelCall::new(failed, None, None, None, InUse::new(self.clone()))
    }

    /// A call for `method`, on the ready connection, pending, or failed at
    /// once (see `Channel::new_call`).
    pub(crate) fn new_call<Req, Resp, C>(
        self: &Arc<Self>,
        method: &MethodDescriptor<Req, Resp, C>,
        options: &CallOptions,
        executor: ThreadlessExecutor,
    ) -> ChannelCall<Req, Resp>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
        C: Codec<Req, Resp> + Clone,
    {
        let runtime = match self.runtime() {
            Ok(runtime) => runtime,
            Err(status) => return self.failed_call(status, executor),
        };
        let send_encoding = match options.compression().map(Encoding::from_name).transpose() {
            Ok(encoding) => encoding.flatten(),
            Err(status) => return self.failed_call(status, executor),
        };
        let deadline = options.effective_deadline();
        let wait_for_ready = options.wait_for_ready();
        let spec = CallSpec {
            path: method.full_path(),
            codec: Box::new(method.codec().clone()),
            executor: executor.clone(),
            deadline,
            max_inbound: options.max_inbound_message_size(),
            max_outbound: options.max_outbound_message_size(),
            send_encoding,
            single_response: matches!(
                method.kind(),
                MethodKind::Unary | MethodKind::ClientStreaming
            ),
            wait_for_ready,
        };
        let mut locked = lock_state(&self.state);
        // Counted under the state lock, so the idle timer (which decides
        // under it too) never drops a connection a call is picking.
        let in_use = InUse::new(self.clone());
        locked.drop_broken_connection();
        let (call, delayed): (SharedCall<Req, Resp>, _) = match &locked.state {
            State::Ready { connection, .. } => {
                let connection = connection.clone();
                drop(locked);
                (connection.new_call(spec), None)
            }
            State::Shutdown => {
                let status = Status::unavailable("channel was shut down");
                (Arc::new(FailedCall::new(status, executor)), None)
            }
            // Sticky TRANSIENT_FAILURE: fail-fast calls fail at once with
            // the last error until a connection is READY again.
            State::TransientFailure { error }
            | State::Connecting {
                after_failure: Some(error),
            } if !wait_for_ready => {
                let status = error.clone();
                drop(locked);
                (Arc::new(FailedCall::new(status, executor)), None)
            }
            State::Idle | State::Connecting { .. } | State::TransientFailure { .. } => {
                let delayed = Arc::new(DelayedClientCall::new(executor));
                locked.pending.retain(|p| p.is_waiting());
                locked.pending.push(Box::new(Pending {
                    delayed: delayed.clone(),
                    spec,
                    wait_for_ready,
                }));
                if matches!(locked.state, State::Idle) {
                    self.start_connecting(&mut locked);
                }
                (delayed.clone() as SharedCall<Req, Resp>, Some(delayed))
            }
        };
        ChannelCall::new(call, delayed, deadline, Some(runtime), in_use)
    }
}

/// The transitions of the state machine (see `state::State`) that need the
/// channel: to spawn its tasks, or to serve or fail its calls.
impl<K: Connector> Core<K> {
    /// IDLE → CONNECTING: spawns the connect loop, and the idle timer if it
    /// is not running (lock held by the caller, state IDLE). Without a
    /// runtime the channel goes to TRANSIENT_FAILURE with that error.
    pub(crate) fn start_connecting(self: &Arc<Self>, locked: &mut Locked<K::Connection>) {
        let runtime = match self.runtime() {
            Ok(runtime) => runtime,
            Err(error) => {
                locked.set_state(State::TransientFailure { error });
                return;
            }
        };
        locked.set_state(State::Connecting {
            after_failure: None,
        });
        if !locked.idle_timer_running {
            locked.idle_timer_running = true;
            runtime.spawn(Self::idle_timer(Arc::downgrade(self)));
        }
        locked.connect_loop += 1;
        let generation = locked.connect_loop;
        runtime.spawn(Self::connect_loop(
            Arc::downgrade(self),
            runtime.clone(),
            generation,
        ));
    }

    /// CONNECTING → READY: serves the pending calls and ready waiters on
    /// `connection`. A channel that moved on meanwhile (shut down, gone
    /// idle) drops the connection instead.
    pub(crate) fn on_connected(&self, id: u64, connection: K::Connection) {
        let (pending, waiters) = {
            let mut locked = lock_state(&self.state);
            if !matches!(locked.state, State::Connecting { .. }) {
                return;
            }
            locked.set_state(State::Ready {
                id,
                connection: connection.clone(),
            });
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
            let mut locked = lock_state(&self.state);
            if !matches!(locked.state, State::Connecting { .. }) {
                return None;
            }
            locked.set_state(State::TransientFailure {
                error: status.clone(),
            });
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
    /// `None` if the channel moved on (idle, shut down), or if connect
    /// loop `generation` no longer owns the schedule (see
    /// `Locked::connect_loop`).
    pub(crate) fn begin_retry(&self, generation: u64) -> Option<Duration> {
        let mut locked = lock_state(&self.state);
        if locked.connect_loop != generation {
            return None;
        }
        match std::mem::replace(&mut locked.state, State::Idle) {
            State::TransientFailure { error } => {
                locked.set_state(State::Connecting {
                    after_failure: Some(error),
                });
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
        let mut locked = lock_state(&self.state);
        if matches!(locked.state, State::Ready { id: current, .. } if current == id) {
            tracing::debug!(%status, "channel's connection closed; going IDLE");
            locked.set_state(State::Idle);
        }
    }

    /// Any state → SHUTDOWN: pending calls fail with UNAVAILABLE and ready
    /// waiters hear the channel is gone. Calls already on a connection go
    /// on; the connection closes once they finish and its handles drop.
    pub(crate) fn shutdown(&self) {
        let pending = {
            let mut locked = lock_state(&self.state);
            locked.set_state(State::Shutdown);
            locked.ready_waiters.clear();
            std::mem::take(&mut locked.pending)
        };
        for call in pending {
            call.fail(Status::unavailable("channel was shut down"));
        }
    }
}

/// A call in use counts itself on the core's [`Usage`].
impl<K: Connector> Used for Core<K> {
    fn usage(&self) -> &Usage {
        &self.usage
    }
}

/// What the channel's connections tell it, and ask of it, through their
/// `ChannelLink`: a close, a GOAWAY, and (for a transparent retry) the
/// next ready connection.
impl<K: Connector> ChannelEvents<K::Connection> for Core<K> {
    fn closed(&self, id: u64, status: Status) {
        self.on_connection_closed(id, status);
    }

    fn going_away(self: Arc<Self>, id: u64) {
        self.on_connection_going_away(id);
    }

    fn next_ready(self: Arc<Self>, wait_for_ready: bool) -> NextReady<K::Connection> {
        let mut locked = lock_state(&self.state);
        if let State::Ready { connection, .. } = &locked.state {
            if !connection.is_broken() {
                return Err(Ok(connection.clone()));
            }
            locked.set_state(State::Idle);
        }
        match locked.state {
            State::Shutdown => return Err(Err(Status::unavailable("channel was shut down"))),
            State::Idle => self.start_connecting(&mut locked),
            _ => {}
        }
        let (sender, receiver) = oneshot::channel();
        locked
            .ready_waiters
            .retain(|(_, waiter)| !waiter.is_closed());
        locked.ready_waiters.push((wait_for_ready, sender));
        Ok(receiver)
    }
}
