//! The handles of calls on a completion queue (layer: stub): what a user
//! holds to start operations on a call, one type per kind of call.
//!
//! Every operation takes a tag function and does the same two things: the
//! queue counts it (or refuses it once the queue drained or was dropped:
//! the tag is then dropped, never called), and a task on the queue's executor runs
//! it, so it moves on when some thread waits in `next`. Its completion comes back from
//! `next` as the tag function's event, exactly once.
//!
//! A stream handle keeps its call on the queue (it can still start
//! operations, even after the end: buffered messages stay readable) until
//! the end came back from both its finish and a read (a client stream:
//! its finish), or it is dropped; a shut-down queue drains only then. Dropping one before the call's end reached the queue cancels the
//! call (rule 8): operations still pending complete with CANCELLED. A
//! [`UnaryCall`] does neither: the call leaves the queue when it ends, and
//! dropping the handle leaves it to run to its end.

use std::fmt;
use std::sync::Arc;

use crate::metadata::Metadata;
use crate::status::Status;

use super::call_state::{CallState, FinishTag};
use super::core::{CallControl, Core};
use super::send::SendSide;

/// A unary call on a [`CompletionQueue`](crate::CompletionQueue): its
/// response comes as the tag function's event.
///
/// Dropping it does not cancel the call.
pub struct UnaryCall {
    call: Arc<dyn CallControl>,
}

impl UnaryCall {
    pub(crate) fn new(call: Arc<dyn CallControl>) -> Self {
        UnaryCall { call }
    }

    /// Cancels the call: unless it already ended, its tag gets CANCELLED
    /// and the server sees RST_STREAM(CANCEL).
    pub fn cancel(&self) {
        self.call
            .cancel(Status::cancelled("cancelled by the caller"));
    }
}

impl fmt::Debug for UnaryCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnaryCall").finish_non_exhaustive()
    }
}

/// The receiving half every stream handle has: headers, reads, finish,
/// cancel; and the handle's hold on the call's place in the queue.
pub(crate) struct Receive<Resp, E> {
    core: Arc<Core<E>>,
    call: Arc<dyn CallControl>,
    state: Arc<CallState<Resp, E>>,
    id: u64,
}

impl<Resp: Send + 'static, E: 'static> Receive<Resp, E> {
    pub(crate) fn new(
        core: Arc<Core<E>>,
        call: Arc<dyn CallControl>,
        state: Arc<CallState<Resp, E>>,
        id: u64,
    ) -> Self {
        Receive {
            core,
            call,
            state,
            id,
        }
    }

    /// Counts an operation and runs it on the executor (or drops it,
    /// refused).
    fn submit(&self, op: impl FnOnce() + Send + 'static) {
        if self.core.accept() {
            self.core.executor.execute(Box::new(op));
        }
    }

    fn headers<F>(&self, tag: F)
    where
        F: FnOnce(Result<Metadata, Status>) -> E + Send + 'static,
    {
        let (core, state) = (self.core.clone(), self.state.clone());
        self.submit(move || {
            if let Some(event) = state.headers(Box::new(tag)) {
                core.post(event);
            }
        });
    }

    fn read<F>(&self, tag: F)
    where
        F: FnOnce(Result<Option<Resp>, Status>) -> E + Send + 'static,
    {
        let (core, state, call) = (self.core.clone(), self.state.clone(), self.call.clone());
        let id = self.id;
        self.submit(move || {
            let (event, more) = state.read(Box::new(tag));
            if more > 0 {
                call.request(more);
            }
            if let Some(event) = event {
                core.post(event);
            }
            if state.let_go(false) {
                core.release(id);
            }
        });
    }

    fn finish(&self, tag: FinishTag<Resp, E>) {
        let (core, state, id) = (self.core.clone(), self.state.clone(), self.id);
        self.submit(move || {
            if let Some(event) = state.finish(tag) {
                core.post(event);
            }
            if state.let_go(false) {
                core.release(id);
            }
        });
    }

    fn cancel(&self) {
        self.call
            .cancel(Status::cancelled("cancelled by the caller"));
    }
}

impl<Resp, E> Drop for Receive<Resp, E> {
    fn drop(&mut self) {
        // Until its close callback ran, the call may still be running, with
        // nobody left to read it.
        if !self.state.has_ended() {
            self.call.cancel(Status::cancelled(
                "the caller dropped the stream handle before the call ended",
            ));
        }
        if self.state.let_go(true) {
            self.core.release(self.id);
        }
    }
}

/// The sending half of client and bidi stream handles.
pub(crate) struct Sending<Req, Resp, E> {
    core: Arc<Core<E>>,
    side: Arc<SendSide<Req, Resp, E>>,
}

impl<Req: Send + 'static, Resp: Send + 'static, E: 'static> Sending<Req, Resp, E> {
    pub(crate) fn new(core: Arc<Core<E>>, side: Arc<SendSide<Req, Resp, E>>) -> Self {
        Sending { core, side }
    }

    fn write<F>(&self, message: Req, tag: F)
    where
        F: FnOnce(Result<(), Status>) -> E + Send + 'static,
    {
        if self.core.accept() {
            let side = self.side.clone();
            self.core
                .executor
                .execute(Box::new(move || side.write(message, Box::new(tag))));
        }
    }

    fn writes_done<F>(&self, tag: F)
    where
        F: FnOnce(Result<(), Status>) -> E + Send + 'static,
    {
        if self.core.accept() {
            let side = self.side.clone();
            self.core
                .executor
                .execute(Box::new(move || side.writes_done(Box::new(tag))));
        }
    }
}

/// A server-streaming call on a [`CompletionQueue`](crate::CompletionQueue):
/// read its responses one [`read`](Self::read) at a time, then
/// [`finish`](Self::finish) for its status.
///
/// Each operation's tag function makes the event that
/// [`next`](crate::CompletionQueue::next) returns when it completes; one
/// read (and one headers, one finish) may be pending at a time.
///
/// The call leaves the queue (so a shut-down queue can drain) once its end
/// came back from both a read and the finish, or the handle is dropped.
/// Dropping the handle before the call's end came back cancels the call.
pub struct ServerStream<Resp, E> {
    receive: Receive<Resp, E>,
}

impl<Resp: Send + 'static, E: 'static> ServerStream<Resp, E> {
    pub(crate) fn new(receive: Receive<Resp, E>) -> Self {
        ServerStream { receive }
    }

    /// Waits for the response headers: `Ok` with them; after a call that
    /// ended without any, empty headers (OK end) or the end's status.
    pub fn headers<F>(&self, tag: F)
    where
        F: FnOnce(Result<Metadata, Status>) -> E + Send + 'static,
    {
        self.receive.headers(tag);
    }

    /// Reads the next response: `Ok(Some(message))`, `Ok(None)` once the
    /// stream ended with OK, or `Err(status)` once it ended with an error
    /// (later reads get the same end).
    pub fn read<F>(&self, tag: F)
    where
        F: FnOnce(Result<Option<Resp>, Status>) -> E + Send + 'static,
    {
        self.receive.read(tag);
    }

    /// Waits for the call's end: its status, with the trailers in
    /// [`Status::trailers`]. Responses not read are still there to read.
    pub fn finish<F>(&self, tag: F)
    where
        F: FnOnce(Status) -> E + Send + 'static,
    {
        self.receive.finish(FinishTag::Status(Box::new(tag)));
    }

    /// Cancels the call: pending operations complete with CANCELLED (unless
    /// it already ended) and the server sees RST_STREAM(CANCEL).
    pub fn cancel(&self) {
        self.receive.cancel();
    }
}

/// A client-streaming call on a [`CompletionQueue`](crate::CompletionQueue):
/// [`write`](Self::write) the requests one at a time,
/// [`writes_done`](Self::writes_done), then [`finish`](Self::finish) for the
/// one response.
///
/// Each operation's tag function makes the event that
/// [`next`](crate::CompletionQueue::next) returns when it completes; one
/// write or writes-done (and one headers, one finish) may be pending at a
/// time.
///
/// The call leaves the queue (so a shut-down queue can drain) once the
/// finish completed, or the handle is dropped. Dropping the handle before
/// the call's end came back cancels the call.
pub struct ClientStream<Req, Resp, E> {
    receive: Receive<Resp, E>,
    send: Sending<Req, Resp, E>,
}

impl<Req, Resp, E> ClientStream<Req, Resp, E>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    E: 'static,
{
    pub(crate) fn new(receive: Receive<Resp, E>, send: Sending<Req, Resp, E>) -> Self {
        ClientStream { receive, send }
    }

    /// Waits for the response headers: `Ok` with them; after a call that
    /// ended without any, empty headers (OK end) or the end's status.
    pub fn headers<F>(&self, tag: F)
    where
        F: FnOnce(Result<Metadata, Status>) -> E + Send + 'static,
    {
        self.receive.headers(tag);
    }

    /// Sends one request. Completes `Ok` once the message was handed to the
    /// call within its HTTP/2 send window (so writing again on each
    /// completion never buffers past it), not when the server read it;
    /// `Err` if the call ended (its status) or `writes_done` came first.
    pub fn write<F>(&self, message: Req, tag: F)
    where
        F: FnOnce(Result<(), Status>) -> E + Send + 'static,
    {
        self.send.write(message, tag);
    }

    /// Tells the server no more requests will come (half-close).
    pub fn writes_done<F>(&self, tag: F)
    where
        F: FnOnce(Result<(), Status>) -> E + Send + 'static,
    {
        self.send.writes_done(tag);
    }

    /// Waits for the call's end: the one response, or the status of a
    /// failed call (with its trailers).
    pub fn finish<F>(&self, tag: F)
    where
        F: FnOnce(Result<Resp, Status>) -> E + Send + 'static,
    {
        self.receive.finish(FinishTag::Response(Box::new(tag)));
    }

    /// Cancels the call: pending operations complete with CANCELLED (unless
    /// it already ended) and the server sees RST_STREAM(CANCEL).
    pub fn cancel(&self) {
        self.receive.cancel();
    }
}

/// A bidi-streaming call on a [`CompletionQueue`](crate::CompletionQueue):
/// [`write`](Self::write) and [`read`](Self::read) independently (one of
/// each pending at a time), [`writes_done`](Self::writes_done) when done
/// sending, then [`finish`](Self::finish) for the status.
///
/// Each operation's tag function makes the event that
/// [`next`](crate::CompletionQueue::next) returns when it completes.
///
/// The call leaves the queue (so a shut-down queue can drain) once its end
/// came back from both a read and the finish, or the handle is dropped.
/// Dropping the handle before the call's end came back cancels the call.
pub struct BidiStream<Req, Resp, E> {
    receive: Receive<Resp, E>,
    send: Sending<Req, Resp, E>,
}

impl<Req, Resp, E> BidiStream<Req, Resp, E>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    E: 'static,
{
    pub(crate) fn new(receive: Receive<Resp, E>, send: Sending<Req, Resp, E>) -> Self {
        BidiStream { receive, send }
    }

    /// Waits for the response headers: `Ok` with them; after a call that
    /// ended without any, empty headers (OK end) or the end's status.
    pub fn headers<F>(&self, tag: F)
    where
        F: FnOnce(Result<Metadata, Status>) -> E + Send + 'static,
    {
        self.receive.headers(tag);
    }

    /// Reads the next response: `Ok(Some(message))`, `Ok(None)` once the
    /// stream ended with OK, or `Err(status)` once it ended with an error
    /// (later reads get the same end).
    pub fn read<F>(&self, tag: F)
    where
        F: FnOnce(Result<Option<Resp>, Status>) -> E + Send + 'static,
    {
        self.receive.read(tag);
    }

    /// Sends one request. Completes `Ok` once the message was handed to the
    /// call within its HTTP/2 send window (so writing again on each
    /// completion never buffers past it), not when the server read it;
    /// `Err` if the call ended (its status) or `writes_done` came first.
    pub fn write<F>(&self, message: Req, tag: F)
    where
        F: FnOnce(Result<(), Status>) -> E + Send + 'static,
    {
        self.send.write(message, tag);
    }

    /// Tells the server no more requests will come (half-close).
    pub fn writes_done<F>(&self, tag: F)
    where
        F: FnOnce(Result<(), Status>) -> E + Send + 'static,
    {
        self.send.writes_done(tag);
    }

    /// Waits for the call's end: its status, with the trailers in
    /// [`Status::trailers`]. Responses not read are still there to read.
    pub fn finish<F>(&self, tag: F)
    where
        F: FnOnce(Status) -> E + Send + 'static,
    {
        self.receive.finish(FinishTag::Status(Box::new(tag)));
    }

    /// Cancels the call: pending operations complete with CANCELLED (unless
    /// it already ended) and the server sees RST_STREAM(CANCEL).
    pub fn cancel(&self) {
        self.receive.cancel();
    }
}

impl<Resp, E> fmt::Debug for ServerStream<Resp, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerStream")
            .field("ended", &self.receive.state.has_ended())
            .finish_non_exhaustive()
    }
}

impl<Req, Resp, E> fmt::Debug for ClientStream<Req, Resp, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientStream")
            .field("ended", &self.receive.state.has_ended())
            .finish_non_exhaustive()
    }
}

impl<Req, Resp, E> fmt::Debug for BidiStream<Req, Resp, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BidiStream")
            .field("ended", &self.receive.state.has_ended())
            .finish_non_exhaustive()
    }
}
