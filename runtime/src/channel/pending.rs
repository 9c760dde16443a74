//! Calls waiting for a connection (layer: channel).
//!
//! Owns what waits in the queue a channel keeps (under its lock, in
//! `state::Locked`) while the picker cannot give it a connection
//! (grpc-java's `DelayedClientTransport`): pending calls, each a
//! [`DelayedClientCall`] with the spec of the real call it will become, and
//! ready waiters, transparently retried calls that wait for the next ready
//! connection. Whenever the picker may decide differently (a subchannel
//! connected or failed, the resolver spoke, an extra connection opened),
//! the channel picks again for each (`core`'s `reprocess`, grpc-java's
//! `DelayedClientTransport.reprocess`); this module says how one is served
//! or failed.
//!
//! Must not: start or fail a call under the channel's lock (rule 7).

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::call::h2::CallSpec;
use crate::call::{ClientCall, DelayedClientCall};
use crate::channel::connection::Connection;
use crate::status::Status;

/// Where a call goes.
pub(crate) enum Pick<C> {
    /// Onto this connection.
    Ready(C),
    /// Nowhere yet: it waits as a pending call.
    Queue,
    /// Nowhere: it fails with this.
    Fail(Status),
}

/// What a re-processing decided, to do after the lock is released.
pub(crate) struct Reprocessed<C> {
    pub(crate) served: Vec<Box<dyn Activation>>,
    pub(crate) failed: Vec<(Box<dyn PendingCall<C>>, Status)>,
}

impl<C> Reprocessed<C> {
    /// Activates the served calls on their connections and fails the
    /// failed ones (lock released).
    pub(crate) fn run(self) {
        for (call, status) in self.failed {
            call.fail(status);
        }
        for call in self.served {
            call.run();
        }
    }
}

impl<C> Default for Reprocessed<C> {
    fn default() -> Self {
        Reprocessed {
            served: Vec::new(),
            failed: Vec::new(),
        }
    }
}

/// A retried call waiting for the next ready connection: whether it is
/// wait-for-ready, and where the connection (or a failure) goes.
pub(crate) struct ReadyWaiter<C> {
    /// Whether the call waits through failed attempts.
    pub(crate) wait_for_ready: bool,
    /// Where the connection (or a failure) goes.
    pub(crate) sender: oneshot::Sender<Result<C, Status>>,
}

/// What a bound pending call does once the lock is released.
pub(crate) trait Activation: Send {
    /// Starts the call on its connection (replaying what its caller did
    /// meanwhile), or hands a retried call its connection.
    fn run(self: Box<Self>);
}

/// A retried call handed its next connection.
struct Handed<C> {
    sender: oneshot::Sender<Result<C, Status>>,
    connection: C,
}

impl<C: Send> Activation for Handed<C> {
    fn run(self: Box<Self>) {
        let _ = self.sender.send(Ok(self.connection));
    }
}

/// A pending call and the real call it becomes.
struct Bound<Req, Resp> {
    delayed: Arc<DelayedClientCall<Req, Resp>>,
    real: crate::call::SharedCall<Req, Resp>,
}

impl<Req: Send + 'static, Resp: Send + 'static> Activation for Bound<Req, Resp> {
    fn run(self: Box<Self>) {
        // Replays the call's buffered operations here and now (rule 5).
        self.delayed.set_call(self.real);
    }
}

impl<C: Connection> PendingCall<C> for ReadyWaiter<C> {
    fn bind(self: Box<Self>, connection: C) -> Box<dyn Activation> {
        Box::new(Handed {
            sender: self.sender,
            connection,
        })
    }

    fn fail(self: Box<Self>, status: Status) {
        let _ = self.sender.send(Err(status));
    }

    fn wait_for_ready(&self) -> bool {
        self.wait_for_ready
    }

    fn is_waiting(&self) -> bool {
        !self.sender.is_closed()
    }
}

/// A call waiting for a connection, with its message types erased.
pub(crate) trait PendingCall<C>: Send {
    /// Binds the call to `connection` (lock held): it takes its place
    /// there now (counted in the connection's load, so the next pick sees
    /// it), and starts when the returned activation runs, after the lock.
    fn bind(self: Box<Self>, connection: C) -> Box<dyn Activation>;
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
    fn bind(self: Box<Self>, connection: C) -> Box<dyn Activation> {
        Box::new(Bound {
            real: connection.new_call(self.spec),
            delayed: self.delayed,
        })
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
