//! `Channel`: a virtual connection to one target (layer: channel, above
//! `transport` and `call`).
//!
//! A channel hands each call a real call on its ready connection, a
//! [`DelayedClientCall`](crate::call::DelayedClientCall) that waits for one,
//! or a [`FailedCall`](crate::call::FailedCall). Its files, by job, bottom
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
//!   for the next one;
//! - `state`: the connectivity state machine's states and what the lock
//!   holds (the diagram is on `State`);
//! - `core`: the shared insides, generic over the connector: where a new
//!   call goes, and the state transitions;
//! - `connect`: the connect loop (`Core::connect_loop`);
//! - `idle`: the idle timer (`Core::idle_timer`);
//! - `h2`: the HTTP/2 `Connector` / `Connection`;
//! - `builder`: [`ChannelBuilder`], the settings and their checks;
//! - this file: [`Channel`], the public handle on a `Core<H2Connector>`.
//!
//! The states as users see them ([`ConnectivityState`]; the internal
//! states, with the data each carries, are on `state::State`):
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
//! - A READY channel with no call in use for the idle timeout closes its
//!   connection and returns to IDLE.
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
mod state;
pub(crate) mod target;
#[cfg(all(test, not(switchboard_loom)))]
mod tests;
mod usage;

use std::fmt;
use std::sync::Arc;

use crate::codec::Codec;
use crate::executor::ThreadlessExecutor;
use crate::method::MethodDescriptor;
use crate::options::CallOptions;
use crate::status::Status;
use crate::sync::lock;

use self::core::Core;
use self::h2::H2Connector;

pub use backoff::BackoffConfig;
pub use builder::ChannelBuilder;
pub use call::ChannelCall;
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

/// A virtual connection to one gRPC target. Cheap to clone; one channel
/// serves any number of threads and calls at once.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Core<H2Connector>>,
}

impl Channel {
    /// Starts building a channel to `target`: `http://host:port`,
    /// `dns:///host:port` or `unix:/path`.
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

    /// Shuts the channel down: pending calls fail with UNAVAILABLE, new calls
    /// fail at once, and the connection closes once its calls finish.
    pub fn shutdown(&self) {
        self.inner.shutdown();
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

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("target", &self.inner.target.to_string())
            .field("state", &lock(&self.inner.state).state.reported())
            .finish()
    }
}
