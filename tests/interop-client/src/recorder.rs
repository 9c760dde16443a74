//! A call made with switchboard's low-level API (`Channel::new_call`, a
//! [`ClientCall`] and a [`Listener`]) that records everything the server
//! sent: the response headers, every message, the status and the trailers.
//!
//! The cases use it only where the stubs cannot show what the spec wants
//! checked: the headers and trailers of a successful unary call
//! (`custom_metadata`, `server_compressed_unary`), the per-message
//! compression switch (`client_compressed_streaming`), and an explicit
//! cancel of a client-streaming call (`cancel_after_begin`). The method
//! descriptors are still the generated ones.
//!
//! The calling thread drives the call: it parks in the call's
//! [`ThreadlessExecutor`] until `on_close` has run, so the recorded outcome
//! is complete when [`record`] returns.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use switchboard::call::{ClientCall, Listener};
use switchboard::channel::ChannelCall;
use switchboard::executor::ThreadlessExecutor;
use switchboard::{CallOptions, Channel, Metadata, MethodDescriptor, Status};

/// How many response messages a recorded call accepts: more than any case
/// asks for.
const MESSAGE_BUDGET: usize = 64;

/// Everything the server sent on one call.
#[derive(Debug)]
pub(crate) struct Outcome<Resp> {
    /// The response headers, if the server sent any before closing.
    pub(crate) headers: Option<Metadata>,
    /// The response messages, in order.
    pub(crate) messages: Vec<Resp>,
    /// How the call ended.
    pub(crate) status: Status,
    /// The trailers (for a trailers-only response: its headers).
    pub(crate) trailers: Metadata,
}

/// What the listener has heard so far.
struct Heard<Resp> {
    headers: Option<Metadata>,
    messages: Vec<Resp>,
    closed: Option<(Status, Metadata)>,
}

type Shared<Resp> = Arc<Mutex<Heard<Resp>>>;

fn lock<Resp>(shared: &Shared<Resp>) -> MutexGuard<'_, Heard<Resp>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The listener: stores what it hears in the shared [`Heard`].
struct Recorder<Resp>(Shared<Resp>);

impl<Resp: Send + 'static> Listener<Resp> for Recorder<Resp> {
    fn on_headers(&mut self, headers: Metadata) {
        lock(&self.0).headers = Some(headers);
    }

    fn on_message(&mut self, message: Resp) {
        lock(&self.0).messages.push(message);
    }

    fn on_close(&mut self, status: Status, trailers: Metadata) {
        lock(&self.0).closed = Some((status, trailers));
    }
}

/// Starts a call of `method` with `options` and request `metadata`, lets
/// `drive` send, half-close or cancel it, then waits for the call to close
/// and returns what the server sent.
///
/// `options` should carry a deadline: the wait ends only when the call
/// closes.
pub(crate) fn record<Req, Resp>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp>,
    options: &CallOptions,
    metadata: Metadata,
    drive: impl FnOnce(&ChannelCall<Req, Resp>),
) -> Outcome<Resp>
where
    Req: prost::Message + Send + 'static,
    Resp: prost::Message + Default + Send + 'static,
{
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(method, options, executor.clone());
    let shared: Shared<Resp> = Arc::new(Mutex::new(Heard {
        headers: None,
        messages: Vec::new(),
        closed: None,
    }));
    call.start(Box::new(Recorder(shared.clone())), metadata);
    call.request(MESSAGE_BUDGET);
    drive(&call);
    // `on_close` runs as a task on `executor`: until it has, there is always
    // a task still to come, so waiting for one cannot hang.
    while lock(&shared).closed.is_none() {
        executor.wait_and_drain();
    }
    executor.shutdown();
    let mut heard = lock(&shared);
    let (status, trailers) = heard.closed.take().unwrap_or_else(|| {
        let bug = "the recorded call has no close status (interop client bug)";
        (Status::internal(bug), Metadata::new())
    });
    Outcome {
        headers: heard.headers.take(),
        messages: std::mem::take(&mut heard.messages),
        status,
        trailers,
    }
}

impl<Resp> Outcome<Resp> {
    /// The one message of a successful unary or client-streaming call, or
    /// a message saying what went wrong (named `what`).
    pub(crate) fn single(mut self, what: &str) -> Result<(Resp, Self), String> {
        if !self.status.is_ok() {
            return Err(format!(
                "{what} failed ({}), expected it to succeed",
                self.status
            ));
        }
        if self.messages.len() != 1 {
            return Err(format!(
                "{what} ended OK with {} response messages, expected exactly one",
                self.messages.len()
            ));
        }
        let message = self.messages.remove(0);
        Ok((message, self))
    }
}
