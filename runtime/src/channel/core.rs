//! The channel's core, generic over its connector (layer: channel).
//!
//! [`Core`] is what a [`Channel`](crate::Channel) shares among its clones,
//! tasks and calls: the target and its resolver, the runtime, the
//! [`Connector`], the policy, the state under its lock, and the count of
//! calls in use. Each new call asks the picker (`picker`) where to go: a
//! ready connection (a real call), the pending calls (a
//! [`DelayedClientCall`], picked again when things change), or a
//! [`FailedCall`] decided at once. The core is also what a call in use
//! ([`Used`]) and a connection ([`ChannelEvents`]) see of the channel. The
//! public channel is a `Core<H2Connector>`; the unit tests run the same
//! core on a fake.
//!
//! The pieces, each in its own file: the resolver's side (`resolution`),
//! the picker and the re-processing of pending calls (`picker`), the
//! subchannels' connect loops and extra connections (`connect`), closes
//! and GOAWAYs (`goaway`), idle mode (`idle`).
//!
//! Must not: start, fail or replay a call while holding the lock (rule 7).

use std::sync::Arc;
use std::time::Duration;

use crate::call::h2::CallSpec;
use crate::call::{DelayedClientCall, FailedCall, SharedCall};
use crate::channel::ConnectivityState;
use crate::channel::backoff::{Backoff, BackoffConfig};
use crate::channel::call::ChannelCall;
use crate::channel::connection::{ChannelEvents, Connection, Connector, NextReady};
use crate::channel::pending::{Pending, Pick, ReadyWaiter};
use crate::channel::policy::{LoadBalancing, Policy, policy};
use crate::channel::state::{Locked, Mode, lock_state};
use crate::channel::subchannel::ConnectionLimits;
use crate::channel::usage::{InUse, Usage, Used};
use crate::codec::Codec;
use crate::compression::Encoding;
use crate::executor::ThreadlessExecutor;
use crate::method::{MethodDescriptor, MethodKind};
use crate::options::CallOptions;
use crate::resolver::{ResolverBuilder, ResolverTarget};
use crate::status::Status;
use crate::sync::Mutex;

/// What a channel's target names: the resolver that turns it into
/// addresses, and the target as that resolver sees it.
pub(crate) struct Naming {
    /// Makes the channel's resolver (each time it leaves IDLE).
    pub(crate) resolver: Arc<dyn ResolverBuilder>,
    /// The parsed target.
    pub(crate) target: ResolverTarget,
}

/// A core's settings (the builder's, checked).
pub(crate) struct CoreSettings {
    /// How long without a call in use before the channel goes IDLE.
    pub(crate) idle_timeout: Duration,
    /// Each subchannel's reconnect backoff.
    pub(crate) backoff: BackoffConfig,
    /// Seeds the backoffs' jitter.
    pub(crate) seed: u64,
    /// How calls spread over the addresses.
    pub(crate) load_balancing: LoadBalancing,
    /// Connections per subchannel.
    pub(crate) limits: ConnectionLimits,
}

/// A channel's shared insides.
pub(crate) struct Core<K: Connector> {
    /// The target and its resolver.
    pub(crate) naming: Naming,
    /// The user's runtime, or `None` for the shared default one.
    pub(crate) runtime: Option<tokio::runtime::Handle>,
    /// Opens connections; shared with the connect loops.
    pub(crate) connector: Arc<K>,
    /// The load-balancing policy.
    pub(crate) policy: Box<dyn Policy>,
    /// How long without a call in use before the channel goes IDLE.
    pub(crate) idle_timeout: Duration,
    /// Each subchannel's reconnect backoff, and its jitter seed.
    pub(crate) backoff: (BackoffConfig, u64),
    /// Connections per subchannel.
    pub(crate) limits: ConnectionLimits,
    /// The channel's state and what waits on it.
    pub(crate) state: Mutex<Locked<K::Connection>>,
    /// Calls in use, for idle mode.
    pub(crate) usage: Usage,
}

impl<K: Connector> Core<K> {
    /// An IDLE channel to `naming`'s target.
    pub(crate) fn new(
        naming: Naming,
        runtime: Option<tokio::runtime::Handle>,
        connector: K,
        settings: CoreSettings,
    ) -> Self {
        Core {
            naming,
            runtime,
            connector: Arc::new(connector),
            policy: policy(settings.load_balancing),
            idle_timeout: settings.idle_timeout,
            backoff: (settings.backoff, settings.seed),
            limits: settings.limits,
            state: Mutex::new(Locked::new()),
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

    /// A new subchannel's backoff (its own jitter).
    pub(crate) fn new_backoff(&self, key: u64) -> Backoff {
        let (config, seed) = &self.backoff;
        Backoff::new(
            config.clone(),
            seed ^ key.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )
    }

    /// The state users see; with `try_to_connect`, an IDLE channel (or
    /// IDLE subchannel) starts connecting.
    pub(crate) fn connectivity(self: &Arc<Self>, try_to_connect: bool) -> ConnectivityState {
        let mut locked = lock_state(&self.state);
        if try_to_connect && locked.reported() == ConnectivityState::Idle {
            self.request_connection(&mut locked);
        }
        locked.reported()
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

    /// A call for `method`: on the connection the picker gives, pending,
    /// or failed at once (see `Channel::new_call`).
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
        let (call, delayed): (SharedCall<Req, Resp>, _) =
            match self.pick(&mut locked, wait_for_ready) {
                Pick::Ready(connection) if self.limits.max > 1 => {
                    // Counted on its connection before the next pick.
                    let call = connection.new_call(spec);
                    drop(locked);
                    (call, None)
                }
                Pick::Ready(connection) => {
                    drop(locked);
                    (connection.new_call(spec), None)
                }
                Pick::Fail(status) => {
                    drop(locked);
                    (Arc::new(FailedCall::new(status, executor)), None)
                }
                Pick::Queue => {
                    let delayed = Arc::new(DelayedClientCall::new(executor));
                    locked.pending.retain(|p| p.is_waiting());
                    locked.pending.push(Box::new(Pending {
                        delayed: delayed.clone(),
                        spec,
                        wait_for_ready,
                    }));
                    (delayed.clone() as SharedCall<Req, Resp>, Some(delayed))
                }
            };
        ChannelCall::new(call, delayed, deadline, Some(runtime), in_use)
    }

    /// Any state → SHUTDOWN: pending calls fail with UNAVAILABLE and ready
    /// waiters hear the channel is gone; the resolver and subchannels are
    /// dropped. Calls already on a connection go on; a connection closes
    /// once its calls finish and its handles drop.
    pub(crate) fn shutdown(&self) {
        let pending = {
            let mut locked = lock_state(&self.state);
            locked.mode = Mode::Shutdown;
            locked.clear();
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
    fn closed(self: Arc<Self>, id: u64, status: Status) {
        self.on_connection_closed(id, status);
    }

    fn going_away(self: Arc<Self>, id: u64) {
        self.on_connection_going_away(id);
    }

    fn next_ready(self: Arc<Self>, wait_for_ready: bool) -> NextReady<K::Connection> {
        let mut locked = lock_state(&self.state);
        match self.pick(&mut locked, wait_for_ready) {
            Pick::Ready(connection) => Err(Ok(connection)),
            Pick::Fail(status) => Err(Err(status)),
            Pick::Queue => {
                let (sender, receiver) = tokio::sync::oneshot::channel();
                locked.pending.retain(|p| p.is_waiting());
                locked.pending.push(Box::new(ReadyWaiter {
                    wait_for_ready,
                    sender,
                }));
                Ok(receiver)
            }
        }
    }
}
