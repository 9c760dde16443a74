//! Calls and their listeners (layer: call, above `executor` and `codec`).
//!
//! A [`ClientCall`] is one RPC as grpc-java shapes it: the caller drives it
//! with `start`, `request`, `send_message`, `half_close` and `cancel`, and
//! hears back through a [`Listener`]: `on_headers`, `on_message`, then exactly
//! one `on_close`. Listener callbacks always run on the call's
//! [`ThreadlessExecutor`](crate::executor::ThreadlessExecutor), never on the
//! I/O thread.
//!
//! Implementations here:
//! - `H2Call` (in `h2`): the real call, one HTTP/2 stream;
//! - [`DelayedClientCall`]: the pending call that buffers everything until the
//!   channel has a transport, then hands over to a real call;
//! - [`FailedCall`]: a call that was decided before it began (for example, a
//!   fail-fast call on a channel in `TRANSIENT_FAILURE`).
//!
//! The lifecycle every implementation keeps:
//!
//! ```text
//!   new ──start──► started ──(server trailers | cancel | error)──► closed
//!                    │  request / send_message / half_close            │
//!                    └──────────── listener: headers, messages ────────┴─► on_close (once)
//! ```

pub(crate) mod delayed;
pub(crate) mod delivery;
pub(crate) mod failed;
pub(crate) mod h2;
#[doc(hidden)]
pub mod reader_slot;
pub(crate) mod replay;

pub use delayed::DelayedClientCall;
pub use failed::FailedCall;

use std::task::{Context, Poll};

use crate::metadata::Metadata;
use crate::status::Status;

/// Receives what happens to a call. Runs on the call's executor.
///
/// A panic in a callback does not strand the caller: the call is cancelled
/// with `CANCELLED` and `on_close` still follows (rule 6).
pub trait Listener<Resp>: Send + 'static {
    /// The response headers (initial metadata) arrived.
    fn on_headers(&mut self, headers: Metadata) {
        let _ = headers;
    }
    /// One response message arrived (only as many as were requested).
    fn on_message(&mut self, message: Resp);
    /// The call ended. Called exactly once, last.
    fn on_close(&mut self, status: Status, trailers: Metadata);
}

/// One RPC, driven by its caller. All methods may be called from any thread.
pub trait ClientCall<Req, Resp>: Send + Sync {
    /// Starts the call: `listener` hears what happens, `headers` go out as
    /// request metadata. Call once, before anything else.
    fn start(&self, listener: Box<dyn Listener<Resp>>, headers: Metadata);
    /// Asks for `n` more response messages to be delivered to the listener.
    fn request(&self, n: usize);
    /// Sends one request message.
    fn send_message(&self, message: Req);
    /// Sends one request message and half-closes, as one operation (a
    /// transport may then put both in one frame).
    fn send_last(&self, message: Req) {
        self.send_message(message);
        self.half_close();
    }
    /// Says no more request messages will be sent.
    fn half_close(&self);
    /// Turns compression of the following request messages on or off. Only
    /// has an effect on a call that has an encoding (`with_compression`); on
    /// by default there.
    fn set_message_compression(&self, enabled: bool) {
        let _ = enabled;
    }
    /// Ends the call now. Unless the call already closed, the listener's
    /// `on_close` gets `status` and the server sees RST_STREAM(CANCEL).
    fn cancel(&self, status: Status);
    /// Outbound flow control: `Ready(true)` when another message can be sent
    /// without buffering past the stream's HTTP/2 window, `Ready(false)` once
    /// the call can send nothing more (it ended, or was half-closed), and
    /// `Pending` (with `cx`'s waker registered) otherwise. A sender that
    /// waits for this never buffers without bound and never waits on a dead
    /// call.
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let _ = cx;
        Poll::Ready(true)
    }
}

/// A call shared between its caller and the channel's tasks.
pub type SharedCall<Req, Resp> = std::sync::Arc<dyn ClientCall<Req, Resp>>;

pub(crate) use crate::user_code::catch_user_panic;
