//! One call's receiving side on a completion queue (layer: stub): what has
//! arrived (headers, messages, the end), the operations waiting for it
//! (`headers`, `read`, `finish`), and the listener that feeds it.
//!
//! Everything here runs on the queue's executor: the listener callbacks
//! and the operations' tasks, one at a time, so an operation and the
//! arrival that completes it never race. Each operation completes exactly
//! once, at the latest when the call ends; a second operation of a kind
//! while one is pending completes at once with FAILED_PRECONDITION (gRPC
//! allows one outstanding read, one write, one finish). Completions leave
//! as events posted to the queue after the call's lock is released.
//!
//! Flow control: a streaming call keeps up to [`WINDOW`] messages
//! requested, topped up in halves as reads take them, so the buffer here
//! is bounded and a reader that stops stalls the server, not memory.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::call::Listener;
use crate::metadata::Metadata;
use crate::status::Status;
use crate::sync::{Mutex, lock};

use super::core::{Core, Event, event};

/// How many messages a streaming call keeps requested.
pub(crate) const WINDOW: usize = 32;

/// The tag of a `read`: `Ok(Some)` a message, `Ok(None)` the OK end,
/// `Err` the error end.
pub(crate) type ReadTag<Resp, E> = Box<dyn FnOnce(Result<Option<Resp>, Status>) -> E + Send>;
/// The tag of a `headers` operation.
pub(crate) type HeadersTag<E> = Box<dyn FnOnce(Result<Metadata, Status>) -> E + Send>;

/// The tag of a `finish`: the end status, or (unary and client streaming)
/// the one response.
pub(crate) enum FinishTag<Resp, E> {
    Status(Box<dyn FnOnce(Status) -> E + Send>),
    Response(Box<dyn FnOnce(Result<Resp, Status>) -> E + Send>),
}

/// Runs when the call ends, after the state saw the end (the send side
/// completes a pending write with the end's status).
pub(crate) type EndHook = Box<dyn Fn() + Send + Sync>;

/// A call's receiving side, shared by its handle, its listener and the
/// operations' tasks.
pub(crate) struct CallState<Resp, E> {
    inner: Mutex<Inner<Resp, E>>,
    on_end: Mutex<Option<EndHook>>,
}

struct Inner<Resp, E> {
    messages: VecDeque<Resp>,
    /// Messages received in all (a single-response call checks for one).
    received: usize,
    headers: Option<Metadata>,
    /// The end, with the trailers folded into the status.
    end: Option<Status>,
    /// Streaming: messages requested and not yet taken by a read. `None`
    /// for single-response calls, which request two up front (a second
    /// response fails the call).
    credit: Option<usize>,
    read: Option<ReadTag<Resp, E>>,
    headers_tag: Option<HeadersTag<E>>,
    finish: Option<FinishTag<Resp, E>>,
    finish_asked: bool,
    /// A finish completed with the call's end.
    finished: bool,
    /// A read completed with the call's end.
    end_read: bool,
    /// The stream's handle still holds the call on the queue.
    handle_hold: bool,
}

fn already_pending(what: &str) -> Status {
    Status::failed_precondition(format!(
        "a {what} is already pending on this call: one at a time"
    ))
}

impl<Resp, E> CallState<Resp, E> {
    /// Whether the call's end reached the queue (its close callback ran).
    pub(crate) fn has_ended(&self) -> bool {
        lock(&self.inner).end.is_some()
    }

    /// Whether the handle's hold on the queue goes now (true once): when
    /// the handle is `dropped`, or once the end came back both ways, from a
    /// finish and (if its responses are read one by one) from a read.
    /// After that, every operation would only repeat the end.
    pub(crate) fn let_go(&self, dropped: bool) -> bool {
        let mut inner = lock(&self.inner);
        let done = inner.finished && (inner.end_read || inner.credit.is_none());
        let go = inner.handle_hold && (dropped || done);
        if go {
            inner.handle_hold = false;
        }
        go
    }
}

impl<Resp: Send + 'static, E: 'static> CallState<Resp, E> {
    /// A state for a call that is about to start. `finish` is the unary
    /// call's tag, given at the start (any other call has a handle, which
    /// holds it on the queue); `streaming` says its responses are read one
    /// by one (with the first [`WINDOW`] requested).
    pub(crate) fn new(finish: Option<FinishTag<Resp, E>>, streaming: bool) -> Self {
        CallState {
            inner: Mutex::new(Inner {
                messages: VecDeque::new(),
                received: 0,
                headers: None,
                end: None,
                credit: streaming.then_some(WINDOW),
                read: None,
                headers_tag: None,
                finish_asked: finish.is_some(),
                finished: false,
                end_read: false,
                handle_hold: finish.is_none(),
                finish,
            }),
            on_end: Mutex::new(None),
        }
    }

    /// Sets what runs when the call ends.
    pub(crate) fn set_end_hook(&self, hook: EndHook) {
        *lock(&self.on_end) = Some(hook);
    }

    /// The end status, once the call ended.
    pub(crate) fn end(&self) -> Option<Status> {
        lock(&self.inner).end.clone()
    }

    /// A `read`: its event if it completes now, and how many more messages
    /// to request.
    pub(crate) fn read(&self, tag: ReadTag<Resp, E>) -> (Option<Event<E>>, usize) {
        let mut inner = lock(&self.inner);
        if inner.read.is_some() {
            return (Some(event(tag, Err(already_pending("read")))), 0);
        }
        let event = if let Some(message) = inner.messages.pop_front() {
            inner.take_credit();
            Some(event(tag, Ok(Some(message))))
        } else if let Some(status) = &inner.end {
            let end = read_end(status);
            inner.end_read = true;
            Some(event(tag, end))
        } else {
            inner.read = Some(tag);
            None
        };
        (event, inner.top_up())
    }

    /// A `headers` operation: its event if it completes now.
    pub(crate) fn headers(&self, tag: HeadersTag<E>) -> Option<Event<E>> {
        let mut inner = lock(&self.inner);
        if inner.headers_tag.is_some() {
            return Some(event(tag, Err(already_pending("headers operation"))));
        }
        match inner.headers_outcome() {
            Some(outcome) => Some(event(tag, outcome)),
            None => {
                inner.headers_tag = Some(tag);
                None
            }
        }
    }

    /// A `finish`: its event if the call already ended (or `finish` was
    /// already asked for: one per call).
    pub(crate) fn finish(&self, tag: FinishTag<Resp, E>) -> Option<Event<E>> {
        let mut inner = lock(&self.inner);
        if inner.finish_asked {
            let status = Status::failed_precondition("finish was already called on this call");
            return Some(match tag {
                FinishTag::Status(tag) => event(tag, status),
                FinishTag::Response(tag) => event(tag, Err(status)),
            });
        }
        inner.finish_asked = true;
        if inner.end.is_some() {
            inner.finish_event(tag)
        } else {
            inner.finish = Some(tag);
            None
        }
    }
}

impl<Resp: Send + 'static, E: 'static> Inner<Resp, E> {
    /// A read took a message.
    fn take_credit(&mut self) {
        if let Some(credit) = &mut self.credit {
            *credit = credit.saturating_sub(1);
        }
    }

    /// How many messages to request now: back up to [`WINDOW`] once half
    /// of it was read, while the call is open.
    fn top_up(&mut self) -> usize {
        match &mut self.credit {
            Some(credit) if *credit <= WINDOW / 2 && self.end.is_none() => {
                let more = WINDOW - *credit;
                *credit = WINDOW;
                more
            }
            _ => 0,
        }
    }

    /// What a `headers` operation gets now, if anything: the headers; or,
    /// ended without any, empty headers after an OK end and the status
    /// after an error.
    fn headers_outcome(&self) -> Option<Result<Metadata, Status>> {
        if let Some(headers) = &self.headers {
            return Some(Ok(headers.clone()));
        }
        match &self.end {
            Some(status) if status.is_ok() => Some(Ok(Metadata::new())),
            Some(status) => Some(Err(status.clone())),
            None => None,
        }
    }

    /// The event of `tag` for an ended call.
    fn finish_event(&mut self, tag: FinishTag<Resp, E>) -> Option<Event<E>> {
        let status = self.end.clone()?;
        self.finished = true;
        Some(match tag {
            FinishTag::Status(tag) => event(tag, status),
            FinishTag::Response(tag) => {
                let result = self.single_response(status);
                event(tag, result)
            }
        })
    }

    /// A unary or client-streaming call's result.
    fn single_response(&mut self, status: Status) -> Result<Resp, Status> {
        if !status.is_ok() {
            return Err(status);
        }
        if self.received > 1 {
            return Err(Status::internal(
                "server sent more than one response to a unary call",
            ));
        }
        self.messages.pop_front().ok_or_else(|| {
            Status::internal("server closed the unary call with OK but sent no response message")
        })
    }
}

/// What a read at the end gets: `Ok(None)` after an OK end, else the status.
fn read_end<Resp>(status: &Status) -> Result<Option<Resp>, Status> {
    if status.is_ok() {
        Ok(None)
    } else {
        Err(status.clone())
    }
}

/// Feeds a call's [`CallState`] and tells the queue when the call closed.
/// Runs on the queue's executor.
pub(crate) struct QueueListener<Resp, E> {
    core: Arc<Core<E>>,
    state: Arc<CallState<Resp, E>>,
    id: u64,
}

impl<Resp, E> QueueListener<Resp, E> {
    pub(crate) fn new(core: Arc<Core<E>>, state: Arc<CallState<Resp, E>>, id: u64) -> Self {
        QueueListener { core, state, id }
    }
}

impl<Resp: Send + 'static, E: 'static> Listener<Resp> for QueueListener<Resp, E> {
    fn on_headers(&mut self, headers: Metadata) {
        let completed = {
            let mut inner = lock(&self.state.inner);
            inner.headers = Some(headers);
            match inner.headers_tag.take() {
                Some(tag) => inner.headers_outcome().map(|outcome| event(tag, outcome)),
                None => None,
            }
        };
        if let Some(event) = completed {
            self.core.post(event);
        }
    }

    fn on_message(&mut self, message: Resp) {
        let completed = {
            let mut inner = lock(&self.state.inner);
            inner.received += 1;
            match inner.read.take() {
                Some(tag) => {
                    inner.take_credit();
                    Some(event(tag, Ok(Some(message))))
                }
                None => {
                    inner.messages.push_back(message);
                    None
                }
            }
        };
        if let Some(event) = completed {
            self.core.post(event);
        }
    }

    fn on_close(&mut self, status: Status, trailers: Metadata) {
        let status = if status.trailers().is_empty() && !trailers.is_empty() {
            status.with_trailers(trailers)
        } else {
            status
        };
        let completed = {
            let mut inner = lock(&self.state.inner);
            inner.end = Some(status.clone());
            let read = inner.read.take().map(|tag| event(tag, read_end(&status)));
            inner.end_read |= read.is_some();
            let headers = match inner.headers_tag.take() {
                Some(tag) => inner.headers_outcome().map(|outcome| event(tag, outcome)),
                None => None,
            };
            let finish = match inner.finish.take() {
                Some(tag) => inner.finish_event(tag),
                None => None,
            };
            [headers, read, finish]
        };
        for event in completed.into_iter().flatten() {
            self.core.post(event);
        }
        let hook = lock(&self.state.on_end).take();
        if let Some(hook) = hook {
            hook();
        }
        if self.state.let_go(false) {
            self.core.release(self.id);
        }
        self.core.release(self.id);
    }
}
