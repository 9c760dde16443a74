//! The receiving side of streaming calls (layer: stub).
//!
//! A [`StreamListener`] runs on the call's executor and stores what arrives
//! in a [`StreamState`]; a [`Receiver`] hands it to the caller one message at
//! a time, draining the executor while it waits: parked (blocking iterator,
//! bidi `recv`) or inside `poll` (async streams).
//!
//! Flow control: the receiver keeps up to 32 messages requested (`WINDOW`),
//! topped up in halves as the caller takes them, so one pump delivers many.
//! Past those, the call's own queue (bounded, see `call::delivery`) and
//! h2's stream window hold the rest, so a slow consumer stalls the server
//! instead of buffering without bound; the connection window grows for
//! such a stalled stream, so it never stalls the other calls
//! (`transport::window`).
//!
//! A receiver dropped before the end cancels its call (RST_STREAM CANCEL)
//! and shuts its executor down, freeing what was buffered (rule 8).

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::call::{ClientCall, Listener};
use crate::channel::ChannelCall;
use crate::executor::ThreadlessExecutor;
use crate::metadata::Metadata;
use crate::status::Status;
use crate::sync::{Mutex, lock};

/// What a streaming call has received and not yet handed out.
pub(crate) struct StreamState<Resp> {
    messages: VecDeque<Resp>,
    headers: Option<Metadata>,
    end: Option<(Status, Metadata)>,
}

pub(crate) type SharedState<Resp> = Arc<Mutex<StreamState<Resp>>>;

/// Stores a streaming call's callbacks for its [`Receiver`].
pub(crate) struct StreamListener<Resp>(pub(crate) SharedState<Resp>);

impl<Resp: Send + 'static> Listener<Resp> for StreamListener<Resp> {
    fn on_headers(&mut self, headers: Metadata) {
        lock(&self.0).headers = Some(headers);
    }
    fn on_message(&mut self, message: Resp) {
        lock(&self.0).messages.push_back(message);
    }
    fn on_close(&mut self, status: Status, trailers: Metadata) {
        let mut state = lock(&self.0);
        let trailers = if trailers.is_empty() {
            status.trailers().clone()
        } else {
            trailers
        };
        state.end = Some((status, trailers));
    }
}

/// A new, empty state and the listener that fills it.
pub(crate) fn stream_listener<Resp: Send + 'static>() -> (SharedState<Resp>, StreamListener<Resp>) {
    let state = Arc::new(Mutex::new(StreamState {
        messages: VecDeque::new(),
        headers: None,
        end: None,
    }));
    (state.clone(), StreamListener(state))
}

/// The request/cancel half of a call, with its request type erased.
pub(crate) trait Control: Send + Sync {
    fn request(&self, n: usize);
    fn cancel(&self, status: Status);
}

impl<Req: Send + 'static, Resp: Send + 'static> Control for ChannelCall<Req, Resp> {
    fn request(&self, n: usize) {
        ClientCall::request(self, n);
    }
    fn cancel(&self, status: Status) {
        ClientCall::cancel(self, status);
    }
}

/// Hands a streaming call's responses to its caller.
pub(crate) struct Receiver<Resp> {
    executor: ThreadlessExecutor,
    state: SharedState<Resp>,
    control: Arc<dyn Control>,
    /// Messages taken from the shared state in one swap, not yet handed out.
    local: VecDeque<Resp>,
    /// Messages requested and not yet handed out.
    outstanding: usize,
    /// The end was handed out (or the receiver gave up).
    finished: bool,
}

/// How many messages a receiver keeps requested; it tops the demand up in
/// halves, so one pump on the caller's executor delivers many messages.
const WINDOW: usize = 32;

impl<Resp: Send + 'static> Receiver<Resp> {
    /// A receiver for a started call; asks for the first message.
    pub(crate) fn new(
        executor: ThreadlessExecutor,
        state: SharedState<Resp>,
        control: Arc<dyn Control>,
    ) -> Self {
        control.request(WINDOW);
        Receiver {
            executor,
            state,
            control,
            local: VecDeque::new(),
            outstanding: WINDOW,
            finished: false,
        }
    }

    /// The next item if one is decided without waiting: `Some(Some(Ok))` a
    /// message, `Some(Some(Err))` the error end (once), `Some(None)` the end.
    fn try_next(&mut self) -> Option<Option<Result<Resp, Status>>> {
        if self.finished {
            return Some(None);
        }
        if self.local.is_empty() {
            let mut state = lock(&self.state);
            std::mem::swap(&mut self.local, &mut state.messages);
        }
        if let Some(message) = self.local.pop_front() {
            self.outstanding -= 1;
            if self.outstanding <= WINDOW / 2 {
                self.control.request(WINDOW - self.outstanding);
                self.outstanding = WINDOW;
            }
            return Some(Some(Ok(message)));
        }
        let state = lock(&self.state);
        let (status, _) = state.end.as_ref()?;
        let item = if status.is_ok() {
            None
        } else {
            Some(Err(status.clone()))
        };
        drop(state);
        self.finish();
        Some(item)
    }

    fn finish(&mut self) {
        self.finished = true;
        self.executor.shutdown();
    }

    /// Blocks for the next item.
    pub(crate) fn next_blocking(&mut self) -> Option<Result<Resp, Status>> {
        loop {
            if let Some(item) = self.try_next() {
                return item;
            }
            self.executor.wait_and_drain();
        }
    }

    /// Polls for the next item, draining the executor inside `poll`.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Resp, Status>>> {
        loop {
            if let Some(item) = self.try_next() {
                return Poll::Ready(item);
            }
            if self.executor.poll_drain(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// The response headers if they (or the end) arrived: `Err` when the
    /// call ended with an error before any headers.
    fn try_headers(&self) -> Option<Result<Metadata, Status>> {
        let state = lock(&self.state);
        if let Some(headers) = &state.headers {
            return Some(Ok(headers.clone()));
        }
        match &state.end {
            Some((status, _)) if status.is_ok() => Some(Ok(Metadata::new())),
            Some((status, _)) => Some(Err(status.clone())),
            None => None,
        }
    }

    /// Blocks until the response headers arrive.
    pub(crate) fn headers_blocking(&mut self) -> Result<Metadata, Status> {
        loop {
            if let Some(headers) = self.try_headers() {
                return headers;
            }
            if self.finished {
                return Err(Status::internal("the call ended without response headers"));
            }
            self.executor.wait_and_drain();
        }
    }

    /// Polls until the response headers arrive.
    pub(crate) fn poll_headers(&mut self, cx: &mut Context<'_>) -> Poll<Result<Metadata, Status>> {
        loop {
            if let Some(headers) = self.try_headers() {
                return Poll::Ready(headers);
            }
            if self.finished {
                return Poll::Ready(Err(Status::internal(
                    "the call ended without response headers",
                )));
            }
            if self.executor.poll_drain(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// Whether the end was handed out.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }
}

/// The call's end status, once it ended.
pub(crate) fn end_status<Resp>(state: &SharedState<Resp>) -> Option<Status> {
    lock(state).end.as_ref().map(|(status, _)| status.clone())
}

/// Reads the trailers from a state, once the call ended.
pub(crate) fn trailers_of<Resp>(state: &SharedState<Resp>) -> Option<Metadata> {
    lock(state)
        .end
        .as_ref()
        .map(|(_, trailers)| trailers.clone())
}

impl<Resp> Drop for Receiver<Resp> {
    fn drop(&mut self) {
        if !self.finished {
            self.control.cancel(Status::cancelled(
                "the caller dropped the response stream before its end",
            ));
            self.executor.shutdown();
        }
    }
}
