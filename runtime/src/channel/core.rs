//! The channel's core, generic over its connector (layer: channel).
//!
//! [`Core`] is what a [`Channel`](crate::Channel) shares among its clones,
//! tasks and calls: the target, the runtime, the [`Connector`], the state
//! under its lock, and the count of calls in use. It picks where each new
//! call goes: onto the ready connection, into the pending calls, or a
//! [`FailedCall`] decided at once. The public channel is a
//! `Core<H2Connector>`; the unit tests run the same core on a fake.
//!
//! Must not: start, fail or replay a call while holding the lock (rule 7).

use std::sync::Arc;
use std::time::Duration;

use crate::call::h2::CallSpec;
use crate::call::{DelayedClientCall, FailedCall, SharedCall};
use crate::channel::ConnectivityState;
use crate::channel::backoff::Backoff;
use crate::channel::call::ChannelCall;
use crate::channel::connection::{Connection, Connector};
use crate::channel::idle::{InUse, Usage};
use crate::channel::pending::Pending;
use crate::channel::state::{Locked, State};
use crate::codec::Codec;
use crate::compression::Encoding;
use crate::executor::ThreadlessExecutor;
use crate::method::{MethodDescriptor, MethodKind};
use crate::options::CallOptions;
use crate::status::Status;
use crate::sync::{Mutex, lock};
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
        let mut locked = lock(&self.state);
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
        let mut locked = lock(&self.state);
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
