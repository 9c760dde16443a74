//! [`CompletionQueue`]: many calls, of all four kinds, driven from plain
//! threads with no async (layer: stub, beside `stub`).
//!
//! gRPC's completion queue (`grpc::CompletionQueue`,
//! `grpc_completion_queue_next`) in Rust terms. Each operation (a unary
//! call, or a stream's headers, read, write, writes-done and finish) is
//! started with a tag function; when it completes, the tag function turns
//! its typed outcome into the user's event `E`, which
//! [`CompletionQueue::next`] returns. No `Any`, no downcast.
//!
//! The queue is one [`ThreadlessExecutor`](crate::executor::ThreadlessExecutor)
//! shared by its calls: the per-call executor of the blocking stubs, grown.
//! The thread waiting in `next` runs the calls' listener callbacks and
//! operations (decoding included), and, for channels on the shared default
//! runtime, drives the sockets itself while it waits, as gRPC's
//! `grpc_completion_queue_next` does (the one wait is `Core::wait` in
//! `next.rs`, through `rt::drive`).
//!
//! Promises:
//! - Every operation the queue accepts produces exactly one event, at the
//!   latest when its call ends (by the server, a deadline, a cancel);
//!   several threads may call `next` at once and each event goes to one of
//!   them. Tag functions run inside `next`, on the thread that takes the
//!   event, with no lock held.
//! - One read, one write or writes-done, one headers and one finish may be
//!   pending per call; another of the same kind completes at once with
//!   FAILED_PRECONDITION.
//! - [`shutdown`](CompletionQueue::shutdown) refuses new calls (`Err`
//!   UNAVAILABLE); operations on calls already on the queue go on, so
//!   their streams can be read and finished. `next` returns the remaining
//!   events, then [`Next::Shutdown`] once nothing can make another event:
//!   every call on the queue ended, every stream is done (its end came
//!   back from its finish and, if it has responses to read, from a read;
//!   or its handle was dropped), every event was taken. `Shutdown` is
//!   final: operations started after it are refused (their tags dropped,
//!   never called).
//! - A stream handle dropped before its call ended cancels the call
//!   (rule 8); a unary call's handle only cancels on request.
//! - Dropping the queue cancels the calls still on it and drops pending
//!   events; operations on handles that outlive it are refused (their tags
//!   dropped, never called).
//!
//! Files, bottom up: `core` (the shared state: events, accounting,
//! shutdown), `next` (taking events, taking turns at waiting),
//! `call_state` (a call's receiving side and its listener), `send` (its
//! sending side), `handles` (the public handles), `start` (starting calls),
//! this file (the queue itself).

mod call_state;
mod core;
mod handles;
mod next;
mod send;
mod start;

use std::fmt;
use std::sync::Arc;

use crate::deadline::Deadline;

pub use handles::{BidiStream, ClientStream, ServerStream, UnaryCall};

use self::core::{Core, event};

/// A queue of completed operations, for driving many calls from plain
/// threads.
///
/// `E` is your event type: every operation is started with a function
/// that turns its typed outcome into an `E`, and [`next`](Self::next)
/// returns those events as the operations complete. Share the queue
/// between threads by reference (or `Arc`); it is `Sync`.
///
/// ```
/// use std::time::Duration;
/// use switchboard::completion_queue::Next;
/// use switchboard::{
///     CallOptions, Channel, Code, CompletionQueue, Deadline, MethodDescriptor, MethodKind,
///     ProstCodec, Status,
/// };
///
/// const ECHO: MethodDescriptor<String, String> =
///     MethodDescriptor::new("/echo.Echo/Unary", MethodKind::Unary, ProstCodec);
///
/// enum Event {
///     Echoed(usize, Result<String, Status>),
/// }
///
/// // Nothing listens on port 1: each fail-fast call ends with UNAVAILABLE.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let options = CallOptions::new().with_deadline_after(Duration::from_secs(5));
/// let cq = CompletionQueue::new();
/// for i in 0..3 {
///     let request = format!("hello {i}");
///     cq.unary(&channel, &ECHO, &options, request, move |result| Event::Echoed(i, result))?;
/// }
/// cq.shutdown(); // no new calls; `next` drains what is in flight
///
/// let mut ended = 0;
/// loop {
///     match cq.next(Deadline::after(Duration::from_secs(10))) {
///         Next::Event(Event::Echoed(_i, result)) => {
///             assert_eq!(result.unwrap_err().code(), Code::Unavailable);
///             ended += 1;
///         }
///         Next::Timeout => panic!("a call did not end"),
///         Next::Shutdown => break,
///     }
/// }
/// assert_eq!(ended, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CompletionQueue<E> {
    core: Arc<Core<E>>,
}

/// What [`CompletionQueue::next`] returns.
#[derive(Debug)]
#[must_use]
pub enum Next<E> {
    /// An operation completed: the event its tag function made.
    Event(E),
    /// The deadline passed with no event.
    Timeout,
    /// The queue was shut down, every call on it ended (a stream: its end
    /// came back from its finish and a read, or its handle was dropped) and
    /// every event was taken. Final.
    Shutdown,
}

impl<E: 'static> CompletionQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        CompletionQueue {
            core: Arc::new(Core::new()),
        }
    }

    /// Blocks until an operation completes, and returns its event; or
    /// [`Next::Timeout`] once `deadline` passed, or [`Next::Shutdown`].
    ///
    /// While it waits, the calling thread runs the calls' work: their
    /// listener callbacks, decoding, writes waiting for the send window.
    /// Several threads may call it at once: they take turns at that work,
    /// and each event goes to exactly one of them. The tag function runs
    /// here, on the thread that takes the event; a panic in it propagates
    /// to this caller (the event is gone).
    ///
    /// `deadline` only bounds this wait; a call's own deadline comes from
    /// its [`CallOptions`](crate::CallOptions). An expired deadline still
    /// returns an event that is ready (a poll).
    pub fn next(&self, deadline: Deadline) -> Next<E> {
        self.core.next(deadline)
    }

    /// Shuts the queue down: new calls are refused (`Err` UNAVAILABLE),
    /// calls already on it go on (their handles still start operations),
    /// and [`next`](Self::next) returns their remaining events, then
    /// [`Next::Shutdown`] once they ended (streams: their end came back
    /// from finish and a read, or their handles were dropped). Idempotent.
    pub fn shutdown(&self) {
        self.core.shutdown();
    }

    /// Queues an event of the caller's own, as if an operation completed
    /// (it counts like one until taken); false, with `make` dropped, once
    /// the queue is drained.
    ///
    /// Internal: public for the loom models in `tests/loom.rs` (a queue
    /// busy without a channel); not part of the API.
    #[doc(hidden)]
    pub fn post(&self, make: impl FnOnce() -> E + Send + 'static) -> bool {
        if !self.core.accept() {
            return false;
        }
        let core = self.core.clone();
        self.core
            .executor
            .execute(Box::new(move || core.post(event(|()| make(), ()))));
        true
    }
}

impl<E: 'static> Default for CompletionQueue<E> {
    fn default() -> Self {
        CompletionQueue::new()
    }
}

impl<E> Drop for CompletionQueue<E> {
    /// Cancels the calls still on the queue and drops pending events.
    fn drop(&mut self) {
        self.core.abandon();
    }
}

impl<E> fmt::Debug for CompletionQueue<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (events, calls, shut_down) = self.core.counts();
        f.debug_struct("CompletionQueue")
            .field("events", &events)
            .field("calls", &calls)
            .field("shut_down", &shut_down)
            .finish()
    }
}
