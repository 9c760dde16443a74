//! The inbound half of a call: what the listener has yet to hear (layer: call).
//!
//! [`Inbound`] is a plain state machine with no locks and no threads. The I/O
//! side records events into it (headers, raw messages, the close); the call's
//! executor asks it for the next [`Step`] and runs that step's listener
//! callback with no lock held. Its invariants:
//! - `on_headers` comes first, `on_close` comes last and exactly once;
//! - messages are handed out only as far as the caller has requested them;
//! - an end that comes from the peer or the connection (trailers, OK or
//!   not, a reset, a GOAWAY, a broken connection) waits until every message
//!   that arrived before it was delivered; a local end (a cancel, a
//!   deadline, a local failure) preempts undelivered messages, which are
//!   dropped; who ended the call is an [`Initiator`], and the whole set of
//!   ordering rules (the stream and the reader too) is on the h2 call's
//!   `close`;
//! - the listener is taken out for the length of a callback, so a callback
//!   that re-enters the call finds no listener and no second delivery starts;
//! - received but undelivered messages are bounded: past [`HIGH_WATER_BYTES`]
//!   the reader parks (see [`Inbound::has_room`]) and h2 flow control stalls
//!   the server, until the caller's requests drain the queue.

use std::collections::VecDeque;
use std::task::Waker;

use crate::call::Listener;
use crate::codec::Frame;
use crate::metadata::Metadata;
use crate::status::Status;

/// How many bytes of received, undelivered messages a call holds before its
/// reader stops taking data from the stream.
pub(crate) const HIGH_WATER_BYTES: usize = 256 * 1024;

/// One callback to run on the executor, with the listener it runs on.
pub(crate) enum Step<Resp> {
    /// Deliver the response headers.
    Headers(Box<dyn Listener<Resp>>, Metadata),
    /// Decode and deliver these messages, in order (one lock for many).
    Messages(Box<dyn Listener<Resp>>, VecDeque<Frame>),
    /// Deliver the close; the listener is not given back.
    Close(Box<dyn Listener<Resp>>, Status, Metadata),
}

/// Who ended a call: decides where its end goes among the messages (see
/// [`Inbound::close`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Initiator {
    /// The server, with trailers (or a trailers-only response).
    Peer,
    /// The connection: a stream reset, a GOAWAY, a broken connection.
    Connection,
    /// This side of the call.
    Local(LocalEnd),
}

/// How this side ended a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LocalEnd {
    /// The caller ended it: an explicit cancel, the deadline, a dropped
    /// call, a request message that could not be encoded. The first end
    /// recorded wins, except over a peer end stuck behind unrequested
    /// messages.
    Cancel,
    /// The call failed here: a response that breaks the protocol, a codec
    /// or listener panic, a call that could not start. Replaces any end not
    /// yet delivered.
    Failure,
}

/// How a call ended, and whether undelivered messages go first.
struct Close {
    status: Status,
    trailers: Metadata,
    after_messages: bool,
}

/// What the listener of one call has yet to hear.
pub(crate) struct Inbound<Resp> {
    listener: Option<Box<dyn Listener<Resp>>>,
    demand: usize,
    headers: Option<Metadata>,
    messages: VecDeque<Frame>,
    close: Option<Close>,
    closed: bool,
    queued_bytes: usize,
    /// The stream reader, parked while the queue is over the high-water mark.
    reader: Option<Waker>,
    /// A pump task is queued on the executor and has not started yet.
    pub(crate) pump_queued: bool,
}

impl<Resp> Inbound<Resp> {
    /// An empty inbound side with no listener yet.
    pub(crate) fn new() -> Self {
        Inbound {
            listener: None,
            demand: 0,
            headers: None,
            messages: VecDeque::new(),
            close: None,
            closed: false,
            queued_bytes: 0,
            reader: None,
            pump_queued: false,
        }
    }

    /// Installs the listener (at `start`).
    pub(crate) fn set_listener(&mut self, listener: Box<dyn Listener<Resp>>) {
        self.listener = Some(listener);
    }

    /// Gives the listener back after a non-final callback.
    pub(crate) fn return_listener(&mut self, listener: Box<dyn Listener<Resp>>) {
        self.listener = Some(listener);
    }

    /// Adds `n` to the number of messages the caller wants.
    pub(crate) fn request(&mut self, n: usize) {
        self.demand = self.demand.saturating_add(n);
    }

    /// Records the response headers.
    pub(crate) fn headers(&mut self, headers: Metadata) {
        if self.close.is_none() {
            self.headers = Some(headers);
        }
    }

    /// Records one received message.
    pub(crate) fn message(&mut self, message: Frame) {
        if self.close.is_none() {
            self.queued_bytes += message.data.len();
            self.messages.push_back(message);
        }
    }

    /// Records the end of the call, unless the rules below keep the end
    /// already recorded. Returns whether this end was recorded. The ordering
    /// rules as a whole (stream, reader, delivery) are on the h2 call's
    /// `close`; what this record keeps:
    ///
    /// - [`Initiator::Peer`] / [`Initiator::Connection`]: recorded only if
    ///   no end is; delivered after the messages that arrived before it.
    /// - [`Initiator::Local`]`(`[`LocalEnd::Cancel`]`)`: recorded if no end
    ///   is, or (unless `status` is OK) in place of a peer or connection end
    ///   that waits behind messages nobody requested (grpc-java's "stop
    ///   delivery": otherwise a caller who stops reading would never hear
    ///   the deadline). An error end drops the undelivered messages and is
    ///   delivered at once; an OK end waits for them, like a peer's.
    /// - [`Initiator::Local`]`(`[`LocalEnd::Failure`]`)`: replaces any end
    ///   not yet delivered, drops the undelivered messages and is delivered
    ///   at once; refused only once the listener heard its close.
    pub(crate) fn close(&mut self, by: Initiator, status: Status, trailers: Metadata) -> bool {
        let after_messages = match by {
            Initiator::Peer | Initiator::Connection => true,
            Initiator::Local(LocalEnd::Cancel) => false,
            Initiator::Local(LocalEnd::Failure) => {
                if self.closed {
                    return false;
                }
                self.clear_messages();
                self.close = Some(Close {
                    status,
                    trailers,
                    after_messages: false,
                });
                return true;
            }
        };
        if let Some(close) = &self.close {
            let waiting = !self.closed && close.after_messages && !self.messages.is_empty();
            if after_messages || status.is_ok() || !waiting {
                return false;
            }
        }
        let after_messages = after_messages || status.is_ok();
        if !after_messages {
            self.clear_messages();
        }
        self.close = Some(Close {
            status,
            trailers,
            after_messages,
        });
        true
    }

    fn clear_messages(&mut self) {
        self.messages.clear();
        self.queued_bytes = 0;
    }

    /// Whether the reader may take more data from the stream: the queue is
    /// under the high-water mark, or the call is ending anyway.
    pub(crate) fn has_room(&self) -> bool {
        self.queued_bytes < HIGH_WATER_BYTES || self.close.is_some()
    }

    /// Parks the reader until [`take_reader_if_room`](Self::take_reader_if_room).
    pub(crate) fn park_reader(&mut self, waker: Waker) {
        self.reader = Some(waker);
    }

    /// The parked reader's waker, if there is room for it now.
    pub(crate) fn take_reader_if_room(&mut self) -> Option<Waker> {
        if self.has_room() {
            self.reader.take()
        } else {
            None
        }
    }

    /// Whether [`next_step`](Self::next_step) has something to deliver now.
    pub(crate) fn has_work(&self) -> bool {
        !self.closed
            && self.listener.is_some()
            && (self.headers.is_some()
                || self.close.is_some()
                || (self.demand > 0 && !self.messages.is_empty()))
    }

    /// Whether an end is recorded (delivered or not).
    pub(crate) fn is_closing(&self) -> bool {
        self.close.is_some()
    }

    /// The next callback to run, if any can run now.
    pub(crate) fn next_step(&mut self) -> Option<Step<Resp>> {
        if self.closed {
            return None;
        }
        let listener = self.listener.take()?;
        if let Some(headers) = self.headers.take() {
            return Some(Step::Headers(listener, headers));
        }
        let close_now = match &self.close {
            Some(close) => !close.after_messages || self.messages.is_empty(),
            None => false,
        };
        if close_now && let Some(close) = self.close.take() {
            self.closed = true;
            // Keep an end recorded, so `is_closing` stays true.
            self.close = Some(Close {
                status: Status::ok(),
                trailers: Metadata::new(),
                after_messages: true,
            });
            return Some(Step::Close(listener, close.status, close.trailers));
        }
        let n = self.demand.min(self.messages.len());
        if n > 0 {
            self.demand -= n;
            let batch: VecDeque<Frame> = if n == self.messages.len() {
                // All of them (a unary response's one): hand over the queue
                // itself rather than copying it.
                std::mem::take(&mut self.messages)
            } else {
                self.messages.drain(..n).collect()
            };
            self.queued_bytes -= batch.iter().map(|f| f.data.len()).sum::<usize>();
            return Some(Step::Messages(listener, batch));
        }
        self.listener = Some(listener);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;

    const CANCEL: Initiator = Initiator::Local(LocalEnd::Cancel);
    const FAILURE: Initiator = Initiator::Local(LocalEnd::Failure);

    fn frame(data: &[u8]) -> Frame {
        Frame {
            data: bytes::Bytes::copy_from_slice(data),
            encoding: None,
        }
    }

    struct Nop;
    impl Listener<()> for Nop {
        fn on_message(&mut self, _: ()) {}
        fn on_close(&mut self, _: Status, _: Metadata) {}
    }

    fn kinds(inbound: &mut Inbound<()>) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(step) = inbound.next_step() {
            match step {
                Step::Headers(l, _) => {
                    out.push("headers".to_string());
                    inbound.return_listener(l);
                }
                Step::Messages(l, batch) => {
                    for m in batch {
                        out.push(format!("message {}", String::from_utf8_lossy(&m.data)));
                    }
                    inbound.return_listener(l);
                }
                Step::Close(_, s, _) => out.push(format!("close {}", s.code())),
            }
        }
        out
    }

    #[test]
    fn ok_close_waits_for_requested_messages() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        i.headers(Metadata::new());
        i.message(frame(b"a"));
        i.message(frame(b"b"));
        i.close(CANCEL, Status::ok(), Metadata::new());
        assert_eq!(kinds(&mut i), ["headers"]);
        i.request(1);
        assert_eq!(kinds(&mut i), ["message a"]);
        i.request(5);
        assert_eq!(kinds(&mut i), ["message b", "close OK"]);
        i.request(1);
        assert!(kinds(&mut i).is_empty(), "nothing after close");
    }

    #[test]
    fn error_close_preempts_undelivered_messages_and_first_close_wins() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        i.message(frame(b"a"));
        assert!(i.close(CANCEL, Status::cancelled("x"), Metadata::new()));
        assert!(!i.close(CANCEL, Status::ok(), Metadata::new()));
        i.request(1);
        assert_eq!(kinds(&mut i), ["close CANCELLED"]);
    }

    #[test]
    fn a_server_error_end_waits_for_the_messages_sent_before_it() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        i.message(frame(b"a"));
        assert!(i.close(
            Initiator::Peer,
            Status::new(Code::Aborted, "late"),
            Metadata::new()
        ));
        assert_eq!(kinds(&mut i), Vec::<String>::new(), "waits for demand");
        i.request(1);
        assert_eq!(kinds(&mut i), ["message a", "close ABORTED"]);
    }

    #[test]
    fn a_local_error_end_replaces_a_peer_end_that_waits_for_demand() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        i.message(frame(b"a"));
        assert!(i.close(Initiator::Peer, Status::ok(), Metadata::new()));
        assert!(
            i.close(
                CANCEL,
                Status::new(Code::DeadlineExceeded, "late"),
                Metadata::new()
            ),
            "the deadline replaces an OK end stuck behind an unrequested message"
        );
        assert_eq!(kinds(&mut i), ["close DEADLINE_EXCEEDED"]);
    }

    #[test]
    fn a_deliverable_peer_end_is_not_replaced() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        assert!(i.close(Initiator::Peer, Status::ok(), Metadata::new()));
        assert!(!i.close(CANCEL, Status::cancelled("late"), Metadata::new()));
        assert_eq!(kinds(&mut i), ["close OK"]);
    }

    #[test]
    fn local_failure_replaces_an_undelivered_ok_close() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        i.close(CANCEL, Status::ok(), Metadata::new());
        assert!(i.close(FAILURE, Status::internal("bad"), Metadata::new()));
        let steps = kinds(&mut i);
        assert_eq!(steps, ["close INTERNAL"]);
        assert!(!i.close(FAILURE, Status::internal("again"), Metadata::new()));
        assert_eq!(Code::Internal.as_str(), "INTERNAL");
    }

    #[test]
    fn a_connection_end_waits_for_the_messages_like_a_peer_end() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        i.message(frame(b"a"));
        let reset = Status::new(Code::Unavailable, "reset");
        assert!(i.close(Initiator::Connection, reset, Metadata::new()));
        assert!(!i.close(Initiator::Peer, Status::ok(), Metadata::new()));
        i.request(1);
        assert_eq!(kinds(&mut i), ["message a", "close UNAVAILABLE"]);
    }

    #[test]
    fn a_local_failure_replaces_a_deliverable_peer_end_but_not_a_delivered_one() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        assert!(i.close(Initiator::Peer, Status::ok(), Metadata::new()));
        assert!(i.close(
            FAILURE,
            Status::cancelled("listener panicked"),
            Metadata::new()
        ));
        assert_eq!(kinds(&mut i), ["close CANCELLED"]);
        assert!(!i.close(FAILURE, Status::internal("late"), Metadata::new()));
        assert!(kinds(&mut i).is_empty(), "on_close once");
    }

    #[test]
    fn queue_over_the_high_water_mark_parks_the_reader_until_drained() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        let big = vec![0u8; HIGH_WATER_BYTES / 2];
        i.message(frame(&big));
        assert!(i.has_room());
        i.message(frame(&big));
        assert!(!i.has_room(), "two halves fill the queue");
        i.park_reader(futures::task::noop_waker());
        assert!(i.take_reader_if_room().is_none());
        i.request(1);
        assert_eq!(kinds(&mut i).len(), 1);
        assert!(i.take_reader_if_room().is_some(), "delivery made room");
    }

    #[test]
    fn nothing_is_delivered_while_the_listener_is_out() {
        let mut i: Inbound<()> = Inbound::new();
        i.headers(Metadata::new());
        assert!(i.next_step().is_none(), "no listener before start");
    }
}
