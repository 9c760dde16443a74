//! Calls waiting for a connection (layer: channel).
//!
//! Owns what waits in the two queues a channel keeps (under its lock, in
//! `state::Locked`) while it has no ready connection (grpc-java's
//! `DelayedClientTransport`): pending calls, each a
//! [`DelayedClientCall`] with the spec of the real call it will become, and
//! ready waiters, transparently retried calls that wait for the next ready
//! connection. The state transitions (`core`) decide when they are served
//! or failed; this module says how.
//!
//! Must not: start or fail a call under the channel's lock (rule 7).

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::call::h2::CallSpec;
use crate::call::{ClientCall, DelayedClientCall};
use crate::channel::connection::Connection;
use crate::status::Status;

/// A retried call waiting for the next ready connection: whether it is
/// wait-for-ready, and where the connection (or a failure) goes.
pub(crate) type ReadyWaiter<C> = (bool, oneshot::Sender<Result<C, Status>>);

/// A call waiting for a connection, with its message types erased.
pub(crate) trait PendingCall<C>: Send {
    /// Gives the call a real call on `connection`.
    fn activate(self: Box<Self>, connection: &C);
    /// Closes the call with `status` without ever opening a stream.
    fn fail(self: Box<Self>, status: Status);
    /// Whether the call waits through failed attempts.
    fn wait_for_ready(&self) -> bool;
    /// Still waiting (not cancelled by its caller or deadline).
    fn is_waiting(&self) -> bool;
}

/// A pending call: the delayed call its caller holds, and what its real
/// call will be made of.
pub(crate) struct Pending<Req, Resp> {
    /// The call handed to the caller.
    pub(crate) delayed: Arc<DelayedClientCall<Req, Resp>>,
    /// The real call's spec.
    pub(crate) spec: CallSpec<Req, Resp>,
    /// Whether the call waits through failed attempts.
    pub(crate) wait_for_ready: bool,
}

impl<Req, Resp, C> PendingCall<C> for Pending<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Connection,
{
    fn activate(self: Box<Self>, connection: &C) {
        let real = connection.clone().new_call(self.spec);
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
