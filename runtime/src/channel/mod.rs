//! `Channel`: a virtual connection to one target (layer: channel, above
//! `resolver`, `transport` and `call`).
//!
//! A channel resolves its target into addresses (its resolver), groups
//! them into subchannels (its load-balancing policy), keeps those connected,
//! and hands each call what its picker gives: a real call on a ready
//! connection, a [`DelayedClientCall`](crate::call::DelayedClientCall) that
//! waits for one (picked again whenever that may change), or a
//! [`FailedCall`](crate::call::FailedCall). Its files, by job, bottom
//! up: each uses only files listed before it (and this one), so that they
//! form no cycle (`tests/layers.rs` checks):
//!
//! - `backoff`: the reconnect backoff ([`BackoffConfig`]);
//! - `target`: parsing targets;
//! - `usage`: the count of calls in use, and when the channel was last used;
//! - `call`: [`ChannelCall`], the deadline timer around every call, and
//!   the call's count in use;
//! - `connection`: the seam, the `Connector` / `Connection` traits the
//!   state machine talks to, and the `ChannelLink` a connection talks back
//!   through (to the channel as `ChannelEvents`);
//! - `pending`: calls waiting for a connection, and retried calls waiting
//!   for the next one; where a pick sends a call (`Pick`);
//! - `policy`: [`LoadBalancing`], the `Policy` trait (pick_first,
//!   round_robin) and the aggregate of subchannel states;
//! - `subchannel`: a subchannel, its state (diagram on the module), its
//!   connections, and what a call gets from it;
//! - `watch`: who waits for the reported state to change (the one place
//!   they are notified), and the future they wait on;
//! - `state`: what the lock holds (`Mode`, the resolver, the subchannels,
//!   the pending calls) and the reported state computed from it;
//! - `core`: the shared insides, generic over the connector: new calls,
//!   shutdown, what connections see;
//! - `picker`: the pick, and re-processing the pending calls;
//! - `resolution`: leaving IDLE, starting the resolver, its updates;
//! - `connect`: subchannels' connect loops and extra connections;
//! - `idle`: the idle timer, and closing idle extra connections;
//! - `goaway`: a connection closing or going away;
//! - `wait`: waiting for a state change or for READY (`Core::watch`,
//!   `Core::ready`), with a deadline timer on the channel's runtime;
//! - `h2`: the HTTP/2 `Connector` / `Connection`;
//! - `builder`: [`ChannelBuilder`], the settings and their checks;
//! - this file: [`Channel`], the public handle on a `Core<H2Connector>`.
//!
//! The states as users see them ([`ConnectivityState`]: under pick_first,
//! its one subchannel's; under round_robin, the best of its subchannels';
//! the subchannel states, with the data each carries, are on
//! `subchannel::SubState`):
//!
//! ```text
//!            call / state(true)          handshake done
//!   IDLE ──────────────────────► CONNECTING ──────────────► READY
//!    ▲                              │   ▲                     │
//!    │ idle timeout                 │   │ backoff elapsed     │ connection lost
//!    │                              ▼   │                     ▼
//!    └──────────────────────── TRANSIENT_FAILURE            IDLE
//!                 any state ──shutdown()──► SHUTDOWN
//! ```
//!
//! - A call on an IDLE channel starts connecting and waits as a pending call.
//! - When a connection attempt fails, pending calls without wait-for-ready
//!   fail with UNAVAILABLE; wait-for-ready calls keep waiting (until their
//!   deadline). The failure is sticky, as in grpc-java's pick_first: until
//!   a connection is READY again, new fail-fast calls fail at once with the
//!   last error, also while a reconnect attempt is under way (the channel
//!   then still reports TRANSIENT_FAILURE).
//! - The channel retries with exponential backoff ([`BackoffConfig`]) until it
//!   connects, shuts down, or the idle timeout passes with no call in use.
//! - A channel that is not connecting, with no call in use for the idle
//!   timeout, drops its resolver and connections and returns to IDLE.
//! - Every change of the reported state wakes the waiters of
//!   [`Channel::wait_for_state_change`] / [`Channel::state_changed`]; each
//!   hears the first state reported after it began to wait.
//!   [`Channel::wait_for_ready`] / [`Channel::ready`] connect and wait for
//!   READY.
//!
//! Its connections, timers and response readers run on a tokio runtime: its
//! own shared one (see `rt`) or a `Handle` the user passes. Callers never need
//! a tokio context. No lock is held while a call is started or failed.

pub(crate) mod backoff;
mod builder;
pub(crate) mod call;
mod connect;
mod connection;
mod core;
mod goaway;
mod h2;
mod idle;
mod pending;
mod picker;
mod policy;
mod resolution;
mod state;
mod subchannel;
pub(crate) mod target;
#[cfg(all(test, not(switchboard_loom)))]
mod tests;
mod usage;
mod wait;
mod watch;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::codec::Codec;
use crate::deadline::Deadline;
use crate::executor::ThreadlessExecutor;
use crate::method::MethodDescriptor;
use crate::options::CallOptions;
use crate::status::Status;
use crate::sync::lock;

use self::core::Core;
use self::h2::H2Connector;
use self::watch::{Outcome, Watch, block_on};

pub use backoff::BackoffConfig;
pub use builder::ChannelBuilder;
pub use call::ChannelCall;
pub use policy::LoadBalancing;
pub use target::InvalidTarget;

/// The connectivity state of a channel, as gRPC defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectivityState {
    /// No connection and no attempt under way.
    Idle,
    /// A connection attempt is under way.
    Connecting,
    /// A connection is ready for calls.
    Ready,
    /// The last attempt failed; the channel waits out its backoff.
    TransientFailure,
    /// The channel was shut down; every call fails.
    Shutdown,
}

impl fmt::Display for ConnectivityState {
    /// gRPC's name for the state: `IDLE`, `CONNECTING`, `READY`,
    /// `TRANSIENT_FAILURE` or `SHUTDOWN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectivityState::Idle => "IDLE",
            ConnectivityState::Connecting => "CONNECTING",
            ConnectivityState::Ready => "READY",
            ConnectivityState::TransientFailure => "TRANSIENT_FAILURE",
            ConnectivityState::Shutdown => "SHUTDOWN",
        })
    }
}

/// A virtual connection to one gRPC target. Cheap to clone; one channel
/// serves any number of threads and calls at once.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Core<H2Connector>>,
}

impl Channel {
    /// Starts building a channel to `target`, named as in gRPC's naming
    /// doc: `http://host:port`, `https://host:port`, `dns:///host:port`
    /// (every A and AAAA address), `ipv4:1.2.3.4:50051,5.6.7.8:50051`,
    /// `ipv6:[::1]:50051`, `unix:/path`, `unix-abstract:name`, or a scheme
    /// of your own resolver ([`ChannelBuilder::resolver`]).
    ///
    /// Building does no I/O: the channel connects on its first call (or on
    /// [`state(true)`](Channel::state)), and a bad setting is refused by
    /// [`build`](ChannelBuilder::build), naming the setting.
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchboard::channel::BackoffConfig;
    /// use switchboard::{Channel, ConnectivityState};
    ///
    /// // Connections and timers run on a runtime of your own, or (without
    /// // `.runtime(..)`) on a small one switchboard shares among channels.
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// let channel = Channel::builder("dns:///localhost:50051")
    ///     .runtime(runtime.handle().clone())
    ///     .authority("greeter.example.com")
    ///     .user_agent("my-app/1.0")
    ///     .idle_timeout(Duration::from_secs(5 * 60))
    ///     .backoff(BackoffConfig {
    ///         initial_backoff: Duration::from_millis(200),
    ///         max_backoff: Duration::from_secs(10),
    ///         ..BackoffConfig::default()
    ///     })
    ///     .flow_control_windows(2 * 1024 * 1024, 8 * 1024 * 1024)
    ///     .build()?;
    /// assert_eq!(channel.state(false), ConnectivityState::Idle);
    ///
    /// // Settings the channel cannot use are refused here, not later.
    /// let refused = Channel::builder("http://localhost:50051")
    ///     .flow_control_windows(1 << 31, 1 << 31)
    ///     .build();
    /// assert!(refused.is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(target: impl Into<String>) -> ChannelBuilder {
        ChannelBuilder::new(target.into())
    }

    /// The channel around `core` (for the builder).
    fn from_core(inner: Arc<Core<H2Connector>>) -> Channel {
        Channel { inner }
    }

    /// The current state. With `try_to_connect`, an IDLE channel starts
    /// connecting (the returned state is then CONNECTING).
    pub fn state(&self, try_to_connect: bool) -> ConnectivityState {
        self.inner.connectivity(try_to_connect)
    }

    /// Starts connecting if the channel is IDLE, as
    /// [`state(true)`](Channel::state) does; otherwise does nothing. Returns
    /// at once: see [`wait_for_ready`](Channel::wait_for_ready) to wait.
    pub fn connect(&self) {
        self.inner.connectivity(true);
    }

    /// Waits until the channel reports a state other than `from`, or until
    /// `deadline`: `Some(state)` with the first state reported after the
    /// wait began (at once if the channel already reports another state),
    /// or `None` if the deadline came first. Blocks this thread; needs no
    /// async runtime. grpc-go's `WaitForStateChange`, with the new state.
    ///
    /// Every change of the reported state is seen by a waiter registered
    /// when it happens, even if the channel moves on before the waiter
    /// runs: to follow each transition, pass the state returned as the next
    /// `from`. States are reported as [`state`](Channel::state) reports
    /// them: a reconnect attempt after a failure is still
    /// TRANSIENT_FAILURE.
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchboard::{Channel, ConnectivityState, Deadline};
    ///
    /// // Nothing listens on port 1: the attempt fails.
    /// let channel = Channel::builder("http://127.0.0.1:1").build()?;
    /// let deadline = Deadline::after(Duration::from_secs(30));
    /// channel.connect();
    /// let mut state = channel.state(false);
    /// while state != ConnectivityState::TransientFailure {
    ///     // CONNECTING, then TRANSIENT_FAILURE.
    ///     state = channel
    ///         .wait_for_state_change(state, deadline)
    ///         .expect("a change before the deadline");
    /// }
    ///
    /// // No change before the deadline: `None`.
    /// let soon = Deadline::after(Duration::from_millis(10));
    /// channel.shutdown();
    /// assert_eq!(channel.wait_for_state_change(ConnectivityState::Shutdown, soon), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for_state_change(
        &self,
        from: ConnectivityState,
        deadline: Deadline,
    ) -> Option<ConnectivityState> {
        match block_on(self.inner.watch(from, Some(deadline))) {
            Outcome::Changed { to, .. } => Some(to),
            Outcome::TimedOut | Outcome::Abandoned => None,
        }
    }

    /// A future for the first state the channel reports other than `from`
    /// (ready at once if it already reports another state): the async form
    /// of [`wait_for_state_change`](Channel::wait_for_state_change), without
    /// a deadline (race it against a timer of your executor for one).
    ///
    /// The wait begins when this is called, not when the future is first
    /// polled: a change in between is not lost. It runs on any executor;
    /// no tokio context is needed. If every handle on the channel is
    /// dropped, it resolves to SHUTDOWN.
    ///
    /// ```
    /// use switchboard::{Channel, ConnectivityState};
    ///
    /// let channel = Channel::builder("http://127.0.0.1:1").build()?;
    /// let changed = channel.state_changed(ConnectivityState::Idle);
    /// channel.connect();
    /// // Any executor: here, `futures`' `block_on`.
    /// let state = futures::executor::block_on(changed);
    /// assert_eq!(state, ConnectivityState::Connecting);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn state_changed(&self, from: ConnectivityState) -> StateChanged {
        StateChanged {
            from,
            watch: self.inner.watch(from, None),
        }
    }

    /// Connects (if IDLE) and waits until the channel is READY or
    /// `deadline` passes, blocking this thread: for programs that should
    /// fail at start-up when the server is down.
    ///
    /// `Ok(())` once READY (at once if it is). Otherwise a DEADLINE_EXCEEDED
    /// status whose message names the last connection error seen during
    /// the wait (also its [`source`](std::error::Error::source)), or
    /// UNAVAILABLE if the channel is shut down. A channel that goes IDLE
    /// meanwhile is asked to connect again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchboard::{Channel, Code, Deadline};
    ///
    /// // Nothing listens on port 1: the wait ends at the deadline. Its
    /// // message names why the channel could not connect ("... last
    /// // connection error: UNAVAILABLE: ... Connection refused ...").
    /// let channel = Channel::builder("http://127.0.0.1:1").build()?;
    /// let status = channel
    ///     .wait_for_ready(Deadline::after(Duration::from_millis(300)))
    ///     .unwrap_err();
    /// assert_eq!(status.code(), Code::DeadlineExceeded);
    ///
    /// channel.shutdown();
    /// let status = channel
    ///     .wait_for_ready(Deadline::after(Duration::from_secs(5)))
    ///     .unwrap_err();
    /// assert_eq!(status.code(), Code::Unavailable);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for_ready(&self, deadline: Deadline) -> Result<(), Status> {
        block_on(self.inner.ready(deadline))
    }

    /// The async form of [`wait_for_ready`](Channel::wait_for_ready): a
    /// future that connects (if IDLE) and resolves once the channel is
    /// READY, or with the same errors. Runs on any executor; no tokio
    /// context is needed. It does nothing until polled.
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchboard::{Channel, Code, Deadline};
    ///
    /// let channel = Channel::builder("http://127.0.0.1:1").build()?;
    /// let ready = channel.ready(Deadline::after(Duration::from_millis(300)));
    /// let status = futures::executor::block_on(ready).unwrap_err();
    /// assert_eq!(status.code(), Code::DeadlineExceeded);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ready(&self, deadline: Deadline) -> WaitForReady {
        WaitForReady {
            future: Box::pin(self.inner.ready(deadline)),
        }
    }

    /// Shuts the channel down: pending calls fail with UNAVAILABLE, new calls
    /// fail at once, and the connection closes once its calls finish.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// Whether the channel runs on the shared default runtime (whose
    /// waiting callers may drive it: `rt::drive`).
    pub(crate) fn on_default_runtime(&self) -> bool {
        self.inner.runtime.is_none()
    }

    /// A call that fails with `status` as soon as it starts, counted as in
    /// use like any other (for calls refused before reaching the channel).
    pub(crate) fn failed_call<Req: Send + 'static, Resp: Send + 'static>(
        &self,
        status: Status,
        executor: ThreadlessExecutor,
    ) -> ChannelCall<Req, Resp> {
        self.inner.failed_call(status, executor)
    }

    /// Creates a call for `method`. Its listener callbacks will run on
    /// `executor`. Nothing is sent until the call is started.
    pub fn new_call<Req, Resp, C>(
        &self,
        method: &MethodDescriptor<Req, Resp, C>,
        options: &CallOptions,
        executor: ThreadlessExecutor,
    ) -> ChannelCall<Req, Resp>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
        C: Codec<Req, Resp> + Clone,
    {
        self.inner.new_call(method, options, executor)
    }
}

/// The future of [`Channel::state_changed`]: the first state the channel
/// reports other than the one it was given.
pub struct StateChanged {
    from: ConnectivityState,
    watch: Watch,
}

impl Future for StateChanged {
    type Output = ConnectivityState;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ConnectivityState> {
        match Pin::new(&mut self.watch).poll(cx) {
            Poll::Ready(Outcome::Changed { to, .. }) => Poll::Ready(to),
            // Without a deadline only the waiter itself gives up, and it is
            // this future; no other outcome can come.
            Poll::Ready(Outcome::TimedOut | Outcome::Abandoned) => Poll::Ready(self.from),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for StateChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateChanged")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// The future of [`Channel::ready`]: `Ok(())` once the channel is READY.
pub struct WaitForReady {
    future: Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>,
}

impl Future for WaitForReady {
    type Output = Result<(), Status>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.future.as_mut().poll(cx)
    }
}

impl fmt::Debug for WaitForReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForReady").finish_non_exhaustive()
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("target", &self.inner.naming.target.original())
            .field("state", &lock(&self.inner.state).reported())
            .finish()
    }
}
