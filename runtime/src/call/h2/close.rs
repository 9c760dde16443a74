//! How an h2 call ends: the one close path (layer: call).
//!
//! Owns [`Shared::close`], through which every end of a call goes, whoever
//! starts it ([`Initiator`]): it records the end in [`Inbound`] and ends
//! the stream to match. Also owns the last step of every call,
//! [`Shared::deliver_close`], which the pump runs to hand the listener its
//! `on_close`. The ordering rules are on [`Shared::close`].
//!
//! [`Inbound`]: crate::call::delivery::Inbound

use crate::call::delivery::Initiator;
use crate::call::{Listener, catch_user_panic};
use crate::metadata::Metadata;
use crate::status::Status;
use crate::sync::lock;

use super::Shared;

/// What an end does to the call's HTTP/2 stream.
#[derive(Clone, Copy)]
enum StreamEnd {
    /// The server or the connection ended the stream: forget it, send
    /// nothing.
    Forget,
    /// This side ended the call: send RST_STREAM(CANCEL) on a stream still
    /// held, and stop the reader.
    Reset,
}

impl<Req: Send + 'static, Resp: Send + 'static> Shared<Req, Resp> {
    /// Ends the call: every end goes through here, whoever starts it
    /// (rules 9-11). `by` says who; `trailers` are the server's (empty for
    /// any other end). Returns whether this end was recorded: an end
    /// recorded before may win (see below), and then this one changes
    /// nothing, on the stream either.
    ///
    /// The ordering rules:
    ///
    /// 1. A peer close ([`Initiator::Peer`]: trailers, or a trailers-only
    ///    response) or a connection close ([`Initiator::Connection`]: a
    ///    stream reset, a GOAWAY, a broken connection) is delivered after
    ///    the messages that arrived before it. It forgets the stream, with
    ///    no reset (the server or the connection already ended it), and
    ///    does so before it records the end, so the close step (rule 4)
    ///    finds no stream to reset. It is recorded only if no end is.
    /// 2. A local close ([`Initiator::Local`]: a cancel, the deadline, a
    ///    dropped call, a local failure, a codec or listener panic) is
    ///    recorded first; then it resets the stream with RST_STREAM(CANCEL),
    ///    stops the reader (dropped with no lock held, never polled again)
    ///    and wakes a sender waiting for window. Undelivered messages are
    ///    dropped and the close is delivered next, except that an OK cancel
    ///    waits for the messages like a peer close.
    /// 3. A local close with an error status replaces a peer or connection
    ///    close that still waits behind messages nobody requested (otherwise
    ///    a caller who stopped reading would never hear its deadline). A
    ///    local failure ([`LocalEnd::Failure`]) also replaces any other end
    ///    not yet delivered; a cancel ([`LocalEnd::Cancel`]) replaces
    ///    nothing else: the first end recorded wins.
    /// 4. The listener's `on_close` runs exactly once, last, on the call's
    ///    executor: the pump's close step ([`deliver_close`]) runs it after
    ///    every other callback, and first resets a stream still held, so a
    ///    local close recorded on another thread is on the wire before the
    ///    caller hears of the end.
    ///
    /// Delivery is arranged by the caller, when this returns `true`:
    /// - the reader (see [`reader`](super::reader)) arranges nothing: it
    ///   closes from inside a poll, and whoever polls it delivers (the pump
    ///   that polled it goes on to its steps; `read_now`, on `start` and on
    ///   the I/O thread, queues a pump when there is something to deliver);
    /// - every other caller (`start`, `cancel`, the pump after a failed
    ///   callback) calls [`schedule_pump`](Self::schedule_pump).
    ///
    /// [`LocalEnd::Failure`]: crate::call::delivery::LocalEnd::Failure
    /// [`LocalEnd::Cancel`]: crate::call::delivery::LocalEnd::Cancel
    /// [`deliver_close`]: Self::deliver_close
    pub(super) fn close(&self, by: Initiator, status: Status, trailers: Metadata) -> bool {
        match by {
            Initiator::Peer | Initiator::Connection => {
                self.end_stream(StreamEnd::Forget);
                lock(&self.inbound).close(by, status, trailers)
            }
            Initiator::Local(_) => {
                let recorded = lock(&self.inbound).close(by, status, trailers);
                if recorded {
                    self.end_stream(StreamEnd::Reset);
                }
                recorded
            }
        }
    }

    /// The pump's close step, the last of every call (rule 4 of
    /// [`close`](Self::close)): resets a stream still held and stops the
    /// reader, then runs the listener's `on_close`.
    pub(super) fn deliver_close(
        &self,
        mut listener: Box<dyn Listener<Resp>>,
        status: Status,
        trailers: Metadata,
    ) {
        // A stream still held here was ended locally, whose own reset may
        // not have run yet: reset it now, so the server always hears of it
        // and the reader is dropped. Streams the server or the connection
        // ended were already forgotten.
        self.end_stream(StreamEnd::Reset);
        if let Err(panic) =
            catch_user_panic("listener on_close", || listener.on_close(status, trailers))
        {
            tracing::error!("{panic}; the call was already closed");
        }
    }

    /// Ends the stream for sending (`end`), and wakes a sender waiting for
    /// window. Idempotent.
    fn end_stream(&self, end: StreamEnd) {
        let waker = {
            let mut out = lock(&self.out);
            out.done = true;
            let stream = out.stream.take();
            out.active = None;
            out.claim = None;
            if let (StreamEnd::Reset, Some(mut stream)) = (end, stream) {
                stream.send_reset(h2::Reason::CANCEL);
            }
            out.ready_waker.take()
        };
        if let StreamEnd::Reset = end {
            // Drops the reader with no lock held: it drops h2 stream handles.
            self.reader.stop();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
