//! The inbound half of a call: what the listener has yet to hear (layer: call).
//!
//! [`Inbound`] is a plain state machine with no locks and no threads. The I/O
//! side records events into it (headers, raw messages, the close); the call's
//! executor asks it for the next [`Step`] and runs that step's listener
//! callback with no lock held. Its invariants:
//! - `on_headers` comes first, `on_close` comes last and exactly once;
//! - messages are handed out only as far as the caller has requested them;
//! - an OK close waits until every received message was delivered; any other
//!   close preempts undelivered messages (they are dropped);
//! - the listener is taken out for the length of a callback, so a callback
//!   that re-enters the call finds no listener and no second delivery starts.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::call::Listener;
use crate::metadata::Metadata;
use crate::status::Status;

/// One callback to run on the executor, with the listener it runs on.
pub(crate) enum Step<Resp> {
    /// Deliver the response headers.
    Headers(Box<dyn Listener<Resp>>, Metadata),
    /// Decode and deliver one message.
    Message(Box<dyn Listener<Resp>>, Bytes),
    /// Deliver the close; the listener is not given back.
    Close(Box<dyn Listener<Resp>>, Status, Metadata),
}

/// What the listener of one call has yet to hear.
pub(crate) struct Inbound<Resp> {
    listener: Option<Box<dyn Listener<Resp>>>,
    demand: usize,
    headers: Option<Metadata>,
    messages: VecDeque<Bytes>,
    close: Option<(Status, Metadata)>,
    closed: bool,
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
    pub(crate) fn message(&mut self, message: Bytes) {
        if self.close.is_none() {
            self.messages.push_back(message);
        }
    }

    /// Records how the call ended, unless an end is already recorded.
    /// Returns whether this close was the one recorded.
    pub(crate) fn close(&mut self, status: Status, trailers: Metadata) -> bool {
        if self.close.is_some() {
            return false;
        }
        if !status.is_ok() {
            self.messages.clear();
        }
        self.close = Some((status, trailers));
        true
    }

    /// Records a local failure (decode error, listener panic). It replaces
    /// an OK close that was not yet delivered. Returns false if the listener
    /// already heard its close.
    pub(crate) fn fail(&mut self, status: Status) -> bool {
        if self.closed {
            return false;
        }
        self.messages.clear();
        self.close = Some((status, Metadata::new()));
        true
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
            Some((status, _)) => !status.is_ok() || self.messages.is_empty(),
            None => false,
        };
        if close_now && let Some((status, trailers)) = self.close.take() {
            self.closed = true;
            self.close = Some((Status::ok(), Metadata::new()));
            return Some(Step::Close(listener, status, trailers));
        }
        if self.demand > 0
            && let Some(message) = self.messages.pop_front()
        {
            self.demand -= 1;
            return Some(Step::Message(listener, message));
        }
        self.listener = Some(listener);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;

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
                Step::Message(l, m) => {
                    out.push(format!("message {}", String::from_utf8_lossy(&m)));
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
        i.message(Bytes::from_static(b"a"));
        i.message(Bytes::from_static(b"b"));
        i.close(Status::ok(), Metadata::new());
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
        i.message(Bytes::from_static(b"a"));
        assert!(i.close(Status::cancelled("x"), Metadata::new()));
        assert!(!i.close(Status::ok(), Metadata::new()));
        i.request(1);
        assert_eq!(kinds(&mut i), ["close CANCELLED"]);
    }

    #[test]
    fn local_failure_replaces_an_undelivered_ok_close() {
        let mut i = Inbound::new();
        i.set_listener(Box::new(Nop));
        i.close(Status::ok(), Metadata::new());
        assert!(i.fail(Status::internal("bad")));
        let steps = kinds(&mut i);
        assert_eq!(steps, ["close INTERNAL"]);
        assert!(!i.fail(Status::internal("again")));
        assert_eq!(Code::Internal.as_str(), "INTERNAL");
    }

    #[test]
    fn nothing_is_delivered_while_the_listener_is_out() {
        let mut i: Inbound<()> = Inbound::new();
        i.headers(Metadata::new());
        assert!(i.next_step().is_none(), "no listener before start");
    }
}
