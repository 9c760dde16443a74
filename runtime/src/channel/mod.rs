//! `Channel`: a virtual connection to one target (layer: channel, above
//! `transport` and `call`).
//!
//! Owns target parsing, the connectivity state machine, the list of pending
//! calls, reconnect backoff and idle mode. It hands each call either a real
//! call on the ready transport, a [`DelayedClientCall`] that waits for one, or
//! a [`FailedCall`](crate::call::FailedCall).
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
pub(crate) mod call;
pub(crate) mod target;

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::Pin;

use http::HeaderValue;
use tokio::sync::oneshot;

use crate::call::h2::{CallSpec, H2Call};
use crate::call::{ClientCall, DelayedClientCall, FailedCall, SharedCall};
use crate::codec::Codec;
use crate::compression::Encoding;
use crate::executor::ThreadlessExecutor;
use crate::method::{MethodDescriptor, MethodKind};
use crate::options::CallOptions;
use crate::status::Status;
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::sync::{Mutex, lock};
use crate::transport::{self, Address, ConnectSettings, ConnectionSource, H2Connection};

use backoff::Backoff;
pub use backoff::BackoffConfig;
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

/// The largest HTTP/2 flow-control window (RFC 9113, section 6.9.1).
const MAX_WINDOW: u32 = (1 << 31) - 1;

/// A virtual connection to one gRPC target. Cheap to clone; one channel
/// serves any number of threads and calls at once.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

/// Builds a [`Channel`]. See [`Channel::builder`].
#[derive(Debug, Clone)]
pub struct ChannelBuilder {
    target: String,
    runtime: Option<tokio::runtime::Handle>,
    backoff: BackoffConfig,
    idle_timeout: Duration,
    user_agent: Option<String>,
    authority: Option<String>,
    stream_window: u32,
    connection_window: u32,
}

struct Inner {
    target: Address,
    runtime: Option<tokio::runtime::Handle>,
    settings: ConnectSettings,
    idle_timeout: Duration,
    state: Mutex<State>,
    calls_in_use: AtomicUsize,
    created: Instant,
    /// Nanoseconds after `created` when a call last started or ended.
    last_used: AtomicU64,
}

struct State {
    connectivity: ConnectivityState,
    transport: Option<(u64, H2Connection)>,
    pending: Vec<Box<dyn PendingCall>>,
    last_error: Option<Status>,
    backoff: Backoff,
    next_connection_id: u64,
    idle_timer_running: bool,
    /// Retried calls waiting for the next ready connection; a fail-fast
    /// one (`false`) also hears of a failed attempt.
    ready_waiters: Vec<(bool, oneshot::Sender<Result<H2Connection, Status>>)>,
}

impl State {
    /// The state as users see it: a reconnect attempt after a failure is
    /// still TRANSIENT_FAILURE (sticky, until READY).
    fn reported(&self) -> ConnectivityState {
        match self.connectivity {
            ConnectivityState::Connecting if self.last_error.is_some() => {
                ConnectivityState::TransientFailure
            }
            state => state,
        }
    }
}

impl Channel {
    /// Starts building a channel to `target`: `http://host:port`,
    /// `dns:///host:port` or `unix:/path`.
    pub fn builder(target: impl Into<String>) -> ChannelBuilder {
        ChannelBuilder {
            target: target.into(),
            runtime: None,
            backoff: BackoffConfig::default(),
            idle_timeout: Duration::from_secs(30 * 60),
            user_agent: None,
            authority: None,
            stream_window: 1024 * 1024,
            connection_window: 4 * 1024 * 1024,
        }
    }

    /// The current state. With `try_to_connect`, an IDLE channel starts
    /// connecting (the returned state is then CONNECTING).
    pub fn state(&self, try_to_connect: bool) -> ConnectivityState {
        let mut state = lock(&self.inner.state);
        if try_to_connect && state.connectivity == ConnectivityState::Idle {
            self.inner.start_connecting(&mut state);
        }
        state.reported()
    }

    /// Shuts the channel down: pending calls fail with UNAVAILABLE, new calls
    /// fail at once, and the connection closes once its calls finish.
    pub fn shutdown(&self) {
        let pending = {
            let mut state = lock(&self.inner.state);
            state.connectivity = ConnectivityState::Shutdown;
            state.transport = None;
            state.ready_waiters.clear();
            std::mem::take(&mut state.pending)
        };
        for call in pending {
            call.fail(Status::unavailable("channel was shut down"));
        }
    }

    /// A call that fails with `status` as soon as it starts, counted as in
    /// use like any other (for calls refused before reaching the channel).
    pub(crate) fn failed_call<Req: Send + 'static, Resp: Send + 'static>(
        &self,
        status: Status,
        executor: ThreadlessExecutor,
    ) -> ChannelCall<Req, Resp> {
        let failed = Arc::new(FailedCall::new(status, executor));
        ChannelCall::new(failed, None, None, None, InUse::new(self.inner.clone()))
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
        let inner = &self.inner;
        let runtime = match inner.runtime() {
            Ok(runtime) => runtime,
            Err(status) => return self.failed_call(status, executor),
        };
        let send_encoding = match options.compression().map(Encoding::from_name).transpose() {
            Ok(encoding) => encoding.flatten(),
            Err(status) => return self.failed_call(status, executor),
        };
        let deadline = options.effective_deadline();
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
            wait_for_ready: options.wait_for_ready(),
        };
        let mut state = lock(&inner.state);
        // Counted under the state lock, so the idle timer (which decides
        // under it too) never drops a connection a call is picking.
        let in_use = InUse::new(inner.clone());
        if let Some((_, transport)) = &state.transport
            && transport.is_broken()
        {
            state.transport = None;
            state.connectivity = ConnectivityState::Idle;
        }
        let (call, delayed): (SharedCall<Req, Resp>, _) = match state.connectivity {
            ConnectivityState::Ready => match &state.transport {
                Some((_, transport)) => {
                    let transport = transport.clone();
                    drop(state);
                    (Arc::new(H2Call::new(transport, spec)), None)
                }
                // READY always has a transport; should that ever break,
                // fail the call rather than panic.
                None => {
                    let status =
                        Status::internal("channel READY without a transport (switchboard bug)");
                    (Arc::new(FailedCall::new(status, executor)), None)
                }
            },
            ConnectivityState::Shutdown => {
                let status = Status::unavailable("channel was shut down");
                (Arc::new(FailedCall::new(status, executor)), None)
            }
            ConnectivityState::TransientFailure | ConnectivityState::Connecting
                if !options.wait_for_ready() && state.last_error.is_some() =>
            {
                let status = state.last_error.clone().unwrap_or_else(|| {
                    Status::unavailable(format!(
                        "channel to {} is in TRANSIENT_FAILURE",
                        inner.target
                    ))
                });
                (Arc::new(FailedCall::new(status, executor)), None)
            }
            ConnectivityState::Idle
            | ConnectivityState::Connecting
            | ConnectivityState::TransientFailure => {
                let delayed = Arc::new(DelayedClientCall::new(executor));
                state.pending.retain(|p| p.is_waiting());
                state.pending.push(Box::new(Pending {
                    delayed: delayed.clone(),
                    spec,
                    wait_for_ready: options.wait_for_ready(),
                }));
                if state.connectivity == ConnectivityState::Idle {
                    inner.start_connecting(&mut state);
                }
                (delayed.clone() as SharedCall<Req, Resp>, Some(delayed))
            }
        };
        ChannelCall::new(call, delayed, deadline, Some(runtime), in_use)
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("target", &self.inner.target.to_string())
            .field("state", &lock(&self.inner.state).reported())
            .finish()
    }
}

impl ChannelBuilder {
    /// Runs the channel's connections and timers on `handle` instead of the
    /// shared default runtime.
    pub fn runtime(mut self, handle: tokio::runtime::Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Sets the reconnect backoff (default: gRPC's connection-backoff spec).
    pub fn backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long a channel with no call in use keeps its connection before
    /// going IDLE (default 30 minutes).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Text put before switchboard's own `user-agent`.
    pub fn user_agent(mut self, prefix: impl Into<String>) -> Self {
        self.user_agent = Some(prefix.into());
        self
    }

    /// The `:authority` (virtual host) calls claim, instead of the target's
    /// `host:port` (`localhost` for Unix sockets).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// HTTP/2 flow-control windows: per stream and per connection (defaults
    /// 1 MiB and 4 MiB).
    pub fn flow_control_windows(mut self, stream: u32, connection: u32) -> Self {
        self.stream_window = stream;
        self.connection_window = connection;
        self
    }

    /// Builds the channel. Does no I/O: the first call (or
    /// [`Channel::state`] with `true`) connects.
    ///
    /// Refuses settings it cannot use (a target it cannot parse, a backoff
    /// that fails [`BackoffConfig::validate`], a flow-control window over
    /// 2^31-1) with an error naming the setting, so that nothing fails
    /// later, inside the channel.
    pub fn build(self) -> Result<Channel, InvalidTarget> {
        let target = target::parse(&self.target)?;
        let invalid = |reason: String| InvalidTarget {
            target: self.target.clone(),
            reason,
        };
        self.backoff.validate().map_err(invalid)?;
        for (name, window) in [
            ("stream", self.stream_window),
            ("connection", self.connection_window),
        ] {
            if window > MAX_WINDOW {
                return Err(invalid(format!(
                    "the {name} flow-control window {window} is over the HTTP/2 limit of {MAX_WINDOW}"
                )));
            }
        }
        let own = concat!("switchboard/", env!("CARGO_PKG_VERSION"));
        let agent = match &self.user_agent {
            Some(prefix) => format!("{prefix} {own}"),
            None => own.to_string(),
        };
        let user_agent = HeaderValue::from_str(&agent).map_err(|_| InvalidTarget {
            target: self.target.clone(),
            reason: format!("user agent {agent:?} is not a valid header value"),
        })?;
        let authority = match &self.authority {
            Some(authority) => Some(http::uri::Authority::try_from(authority.as_str()).map_err(
                |e| InvalidTarget {
                    target: self.target.clone(),
                    reason: format!("authority {authority:?} is not a valid host[:port]: {e}"),
                },
            )?),
            None => None,
        };
        let created = Instant::now();
        let seed = created.elapsed().as_nanos() as u64 ^ (Arc::as_ptr(&Arc::new(())) as u64);
        Ok(Channel {
            inner: Arc::new(Inner {
                target,
                runtime: self.runtime,
                settings: ConnectSettings {
                    user_agent,
                    authority,
                    stream_window: self.stream_window,
                    connection_window: self.connection_window,
                },
                idle_timeout: self.idle_timeout,
                state: Mutex::new(State {
                    connectivity: ConnectivityState::Idle,
                    transport: None,
                    pending: Vec::new(),
                    last_error: None,
                    backoff: Backoff::new(self.backoff, seed),
                    next_connection_id: 0,
                    idle_timer_running: false,
                    ready_waiters: Vec::new(),
                }),
                calls_in_use: AtomicUsize::new(0),
                created,
                last_used: AtomicU64::new(0),
            }),
        })
    }
}

impl Inner {
    fn runtime(&self) -> Result<tokio::runtime::Handle, Status> {
        match &self.runtime {
            Some(handle) => Ok(handle.clone()),
            None => crate::rt::default_handle(),
        }
    }

    fn touch(&self) {
        let nanos = self.created.elapsed().as_nanos() as u64;
        self.last_used.store(nanos, Ordering::Relaxed);
    }

    /// Moves to CONNECTING and spawns the connect loop (lock held by caller).
    fn start_connecting(self: &Arc<Self>, state: &mut State) {
        let runtime = match self.runtime() {
            Ok(runtime) => runtime,
            Err(status) => {
                state.connectivity = ConnectivityState::TransientFailure;
                state.last_error = Some(status);
                return;
            }
        };
        state.connectivity = ConnectivityState::Connecting;
        if !state.idle_timer_running {
            state.idle_timer_running = true;
            runtime.spawn(idle_timer(Arc::downgrade(self)));
        }
        runtime.spawn(connect_loop(Arc::downgrade(self), runtime.clone()));
    }

    /// A connection is ready: serve pending calls on it.
    fn on_connected(&self, id: u64, transport: H2Connection) {
        let pending = {
            let mut state = lock(&self.state);
            if state.connectivity != ConnectivityState::Connecting {
                // Shut down or gone idle meanwhile: drop the connection.
                return;
            }
            state.connectivity = ConnectivityState::Ready;
            state.transport = Some((id, transport.clone()));
            state.last_error = None;
            state.backoff.reset();
            (
                std::mem::take(&mut state.pending),
                std::mem::take(&mut state.ready_waiters),
            )
        };
        let (pending, waiters) = pending;
        for (_, waiter) in waiters {
            let _ = waiter.send(Ok(transport.clone()));
        }
        for call in pending {
            call.activate(&transport);
        }
    }

    /// A connection attempt failed. Returns the backoff to wait before the
    /// next attempt, or `None` if the channel should stop trying.
    fn on_connect_failed(&self, status: Status) -> Option<Duration> {
        let (fail_fast, delay) = {
            let mut state = lock(&self.state);
            if state.connectivity != ConnectivityState::Connecting {
                return None;
            }
            state.connectivity = ConnectivityState::TransientFailure;
            state.last_error = Some(status.clone());
            let (wait, fail): (Vec<_>, Vec<_>) = std::mem::take(&mut state.pending)
                .into_iter()
                .partition(|p| p.wait_for_ready());
            state.pending = wait;
            // Wait-for-ready retries wait on; fail-fast ones hear of it.
            let (waiters, fail_waiters): (Vec<_>, Vec<_>) =
                std::mem::take(&mut state.ready_waiters)
                    .into_iter()
                    .partition(|(wait_for_ready, _)| *wait_for_ready);
            // Those whose call ended meanwhile (deadline, cancel) go.
            state.ready_waiters = waiters
                .into_iter()
                .filter(|(_, waiter)| !waiter.is_closed())
                .collect();
            ((fail, fail_waiters), state.backoff.next_delay())
        };
        let (fail_fast, waiters) = fail_fast;
        tracing::debug!(%status, ?delay, "connection attempt failed; backing off");
        for (_, waiter) in waiters {
            let _ = waiter.send(Err(status.clone()));
        }
        for call in fail_fast {
            call.fail(status.clone());
        }
        Some(delay)
    }

    /// The backoff elapsed: try again unless the channel moved on.
    fn begin_retry(&self) -> Option<Duration> {
        let mut state = lock(&self.state);
        if state.connectivity != ConnectivityState::TransientFailure {
            return None;
        }
        state.connectivity = ConnectivityState::Connecting;
        Some(state.backoff.connect_timeout())
    }

    /// The connection `id` ended: the channel goes IDLE if it was current.
    fn on_transport_closed(&self, id: u64, status: Status) {
        let mut state = lock(&self.state);
        if matches!(state.transport, Some((current, _)) if current == id) {
            tracing::debug!(%status, "channel's connection closed; going IDLE");
            state.transport = None;
            if state.connectivity == ConnectivityState::Ready {
                state.connectivity = ConnectivityState::Idle;
            }
        }
    }

    /// How long the channel has had no call in use, if it has none.
    fn idle_for(&self) -> Option<Duration> {
        if self.calls_in_use.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.created.elapsed().as_nanos() as u64;
        let last = self.last_used.load(Ordering::Relaxed);
        Some(Duration::from_nanos(now.saturating_sub(last)))
    }
}

/// Tries to connect until it succeeds or the channel no longer wants it.
async fn connect_loop(channel: Weak<Inner>, runtime: tokio::runtime::Handle) {
    let mut timeout = match channel.upgrade() {
        Some(inner) => lock(&inner.state).backoff.connect_timeout(),
        None => return,
    };
    loop {
        let Some(inner) = channel.upgrade() else {
            return;
        };
        let id = {
            let mut state = lock(&inner.state);
            state.next_connection_id += 1;
            state.next_connection_id
        };
        let target = inner.target.clone();
        let settings = inner.settings.clone();
        drop(inner);
        let weak = channel.clone();
        let on_closed = Box::new(move |status: Status| {
            if let Some(inner) = weak.upgrade() {
                inner.on_transport_closed(id, status);
            }
        });
        let source: Arc<dyn ConnectionSource> = Arc::new(ChannelSource(channel.clone()));
        let result = transport::connect(
            &target,
            &settings,
            timeout,
            runtime.clone(),
            on_closed,
            Some(source),
        )
        .await;
        let Some(inner) = channel.upgrade() else {
            return;
        };
        let delay = match result {
            Ok(transport) => return inner.on_connected(id, transport),
            Err(status) => match inner.on_connect_failed(status) {
                Some(delay) => delay,
                None => return,
            },
        };
        drop(inner);
        tokio::time::sleep(delay).await;
        let Some(inner) = channel.upgrade() else {
            return;
        };
        timeout = match inner.begin_retry() {
            Some(timeout) => timeout,
            None => return,
        };
    }
}

/// Returns the channel to IDLE after `idle_timeout` with no call in use.
async fn idle_timer(channel: Weak<Inner>) {
    loop {
        let Some(inner) = channel.upgrade() else {
            return;
        };
        let timeout = inner.idle_timeout;
        let wait = {
            // Decided under the state lock, which `new_call` holds while
            // it counts a call in use and picks the connection: a call
            // either counts here, or finds the channel IDLE.
            let mut state = lock(&inner.state);
            match inner.idle_for() {
                Some(idle) if idle >= timeout => match state.connectivity {
                    ConnectivityState::Ready | ConnectivityState::TransientFailure
                        if state.pending.iter().all(|p| !p.is_waiting()) =>
                    {
                        tracing::debug!("channel idle for {timeout:?}; going IDLE");
                        state.connectivity = ConnectivityState::Idle;
                        state.transport = None;
                        state.pending.clear();
                        state.last_error = None;
                        state.idle_timer_running = false;
                        return;
                    }
                    ConnectivityState::Idle | ConnectivityState::Shutdown => {
                        state.idle_timer_running = false;
                        return;
                    }
                    _ => timeout,
                },
                Some(idle) => timeout - idle,
                None => timeout,
            }
        };
        drop(inner);
        tokio::time::sleep(wait).await;
    }
}

/// The channel as the source of connections for transparently retried
/// calls (see `call::replay`).
struct ChannelSource(Weak<Inner>);

impl ConnectionSource for ChannelSource {
    fn next_ready(
        &self,
        wait_for_ready: bool,
    ) -> Pin<Box<dyn Future<Output = Result<H2Connection, Status>> + Send>> {
        let Some(inner) = self.0.upgrade() else {
            return Box::pin(std::future::ready(Err(Status::unavailable(
                "channel was dropped",
            ))));
        };
        let receiver = {
            let mut state = lock(&inner.state);
            if let Some((_, transport)) = &state.transport {
                if !transport.is_broken() {
                    return Box::pin(std::future::ready(Ok(transport.clone())));
                }
                state.transport = None;
                if state.connectivity == ConnectivityState::Ready {
                    state.connectivity = ConnectivityState::Idle;
                }
            }
            match state.connectivity {
                ConnectivityState::Shutdown => {
                    return Box::pin(std::future::ready(Err(Status::unavailable(
                        "channel was shut down",
                    ))));
                }
                ConnectivityState::Idle => inner.start_connecting(&mut state),
                _ => {}
            }
            let (sender, receiver) = oneshot::channel();
            state
                .ready_waiters
                .retain(|(_, waiter)| !waiter.is_closed());
            state.ready_waiters.push((wait_for_ready, sender));
            receiver
        };
        Box::pin(async move {
            receiver
                .await
                .unwrap_or_else(|_| Err(Status::unavailable("channel was shut down")))
        })
    }
}

/// Counts a call as in use for the idle timer while it lives.
pub(crate) struct InUse {
    channel: Arc<Inner>,
}

impl InUse {
    fn new(channel: Arc<Inner>) -> InUse {
        channel.calls_in_use.fetch_add(1, Ordering::AcqRel);
        channel.touch();
        InUse { channel }
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        self.channel.touch();
        self.channel.calls_in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A call waiting for a transport, with its type erased.
trait PendingCall: Send {
    /// Gives the call a real call on `transport`.
    fn activate(self: Box<Self>, transport: &H2Connection);
    /// Closes the call with `status` without ever opening a stream.
    fn fail(self: Box<Self>, status: Status);
    fn wait_for_ready(&self) -> bool;
    /// Still waiting (not cancelled by its caller or deadline).
    fn is_waiting(&self) -> bool;
}

struct Pending<Req, Resp> {
    delayed: Arc<DelayedClientCall<Req, Resp>>,
    spec: CallSpec<Req, Resp>,
    wait_for_ready: bool,
}

impl<Req: Send + 'static, Resp: Send + 'static> PendingCall for Pending<Req, Resp> {
    fn activate(self: Box<Self>, transport: &H2Connection) {
        let real = Arc::new(H2Call::new(transport.clone(), self.spec));
        // Replays the call's buffered operations here and now (rule 5).
        self.delayed.set_call(real);
    }

    fn fail(self: Box<Self>, status: Status) {
        self.delayed.cancel(status);
    }

    fn wait_for_ready(&self) -> bool {
        self.wait_for_ready
    }

    fn is_waiting(&self) -> bool {
        !self.delayed.is_cancelled()
    }
}
