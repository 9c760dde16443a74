//! Unary calls: blocking, and as a future (layer: stub).
//!
//! Both start the call at once (`start`, `request(2)`, `send_message`,
//! `half_close`, as grpc-java's `ClientCalls` does; asking for two messages
//! lets a second, illegal, response be noticed). [`blocking_unary_call`] is
//! [`UnaryFuture::wait`]: one code path, two waiters.
//!
//! Invariants: the result is taken only after `on_close` ran (rule 3); a
//! future dropped before it finished cancels its RPC (RST_STREAM CANCEL) and
//! shuts its executor down, so late tasks are dropped (rules 2 and 8).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::call::{ClientCall, Listener};
use crate::channel::Channel;
use crate::channel::ChannelCall;
use crate::codec::Codec;
use crate::executor::ThreadlessExecutor;
use crate::metadata::Metadata;
use crate::method::MethodDescriptor;
use crate::options::CallOptions;
use crate::status::Status;
use crate::stub::send::{Pump, executor_waker};
use crate::stub::start_call;
use crate::sync::{self, Mutex, lock};

/// Makes a unary call and blocks the calling thread until it ends.
///
/// Needs no async runtime and no tokio context. The response is decoded on
/// the calling thread.
///
/// ```
/// use std::time::Duration;
/// use switchboard::stub::blocking_unary_call;
/// use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec};
///
/// // A unary method taking and returning a `google.protobuf.StringValue`.
/// const ECHO: MethodDescriptor<String, String> =
///     MethodDescriptor::new("/echo.Echo/Unary", MethodKind::Unary, ProstCodec);
///
/// // Nothing listens on port 1: building the channel does no I/O, and the
/// // fail-fast call ends with UNAVAILABLE once the connection is refused.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let options = CallOptions::new().with_deadline_after(Duration::from_secs(5));
/// let status = blocking_unary_call(&channel, &ECHO, &options, "hi".to_string()).unwrap_err();
/// assert_eq!(status.code(), Code::Unavailable);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn blocking_unary_call<Req, Resp, C>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
    request: Req,
) -> Result<Resp, Status>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    future_unary_call(channel, method, options, request).wait()
}

/// Starts a unary call now and returns a future of its response.
///
/// The future runs on any executor (tokio, smol, `futures::executor`), or
/// blocks with [`UnaryFuture::wait`]. Dropping it before it completes
/// cancels the call.
///
/// ```
/// use switchboard::stub::future_unary_call;
/// use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec};
///
/// const ECHO: MethodDescriptor<String, String> =
///     MethodDescriptor::new("/echo.Echo/Unary", MethodKind::Unary, ProstCodec);
///
/// // Nothing listens on port 1. The call starts here, not when first polled.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let future = future_unary_call(&channel, &ECHO, &CallOptions::new(), "hi".to_string());
/// let status = futures::executor::block_on(future).unwrap_err();
/// assert_eq!(status.code(), Code::Unavailable);
///
/// // Or block without an executor.
/// let future = future_unary_call(&channel, &ECHO, &CallOptions::new(), "hi".to_string());
/// assert_eq!(future.wait().unwrap_err().code(), Code::Unavailable);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn future_unary_call<Req, Resp, C>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
    request: Req,
) -> UnaryFuture<Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    let (future, call) = start_single_response(channel, method, options);
    call.send_last(request);
    future
}

/// Starts a call whose one response completes a [`UnaryFuture`] (unary and
/// client streaming); the caller sends the requests on the returned call.
pub(crate) fn start_single_response<Req, Resp, C>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
) -> (UnaryFuture<Resp>, Arc<ChannelCall<Req, Resp>>)
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    let executor = ThreadlessExecutor::new();
    let (listener, slot) = UnaryListener::new();
    let call = Arc::new(start_call(
        channel,
        method,
        options,
        executor.clone(),
        Box::new(listener),
    ));
    call.request(2);
    let canceller = call.clone();
    let mut future = UnaryFuture::new(
        executor,
        slot,
        Box::new(move |status| canceller.cancel(status)),
    );
    future.caller_driven = channel.on_default_runtime();
    (future, call)
}

type Slot<Resp> = sync::Arc<Mutex<Option<Result<Response<Resp>, Status>>>>;

/// A unary (or client-streaming) response with its metadata: see
/// [`UnaryFuture::with_metadata`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response<Resp> {
    /// The response message.
    pub message: Resp,
    /// The response headers (initial metadata).
    pub headers: Metadata,
    /// The trailers (trailing metadata) of the OK end.
    pub trailers: Metadata,
}

/// The response of a unary call that is under way.
///
/// Completes on any executor; [`wait`](UnaryFuture::wait) blocks instead.
/// Dropping it before it completes cancels the call.
#[must_use = "a UnaryFuture cancels its call when dropped"]
pub struct UnaryFuture<Resp> {
    executor: ThreadlessExecutor,
    slot: Slot<Resp>,
    /// Cancels the call; `None` once the result was taken.
    cancel: Option<Box<dyn FnOnce(Status) + Send>>,
    /// Sends the requests of a client-streaming call, if any are left.
    pump: Option<Box<dyn Pump>>,
    /// Whether [`wait`](Self::wait) may drive the channel's runtime itself
    /// (the shared default one; see `rt::drive`).
    caller_driven: bool,
}

impl<Resp: Send + 'static> UnaryFuture<Resp> {
    /// A future of a call made elsewhere: the returned listener completes
    /// it, its callbacks running on `executor` (the one the future drains),
    /// and dropping the future early calls `cancel`.
    ///
    /// Internal: public only so the loom models in `tests/loom.rs` can build
    /// a future without a `Channel`; not part of the API.
    #[doc(hidden)]
    pub fn from_parts(
        executor: ThreadlessExecutor,
        cancel: Box<dyn FnOnce(Status) + Send>,
    ) -> (Self, Box<dyn Listener<Resp>>) {
        let (listener, slot) = UnaryListener::new();
        (UnaryFuture::new(executor, slot, cancel), Box::new(listener))
    }
}

impl<Resp> UnaryFuture<Resp> {
    fn new(
        executor: ThreadlessExecutor,
        slot: Slot<Resp>,
        cancel: Box<dyn FnOnce(Status) + Send>,
    ) -> Self {
        UnaryFuture {
            executor,
            slot,
            cancel: Some(cancel),
            pump: None,
            caller_driven: false,
        }
    }

    /// The executor the future drains.
    pub(crate) fn executor(&self) -> &ThreadlessExecutor {
        &self.executor
    }

    /// Gives the future a pump to drive while it waits.
    pub(crate) fn with_pump(mut self, pump: Box<dyn Pump>) -> Self {
        self.pump = Some(pump);
        self
    }

    /// Polls the pump, dropping it once it is done.
    fn drive_pump(&mut self, cx: &mut Context<'_>) {
        if let Some(pump) = &mut self.pump
            && pump.poll_pump(cx).is_ready()
        {
            self.pump = None;
        }
    }

    /// Blocks the calling thread until the call ends, running its callbacks
    /// here. Needs no async runtime.
    pub fn wait(self) -> Result<Resp, Status> {
        self.wait_full().map(|response| response.message)
    }

    /// The same call, resolving to the message with its headers and
    /// trailers (an error `Status` carries its trailers already):
    /// `stub.say_hello(request).with_metadata().await`, or `.wait()`.
    pub fn with_metadata(self) -> WithMetadata<Resp> {
        WithMetadata(self)
    }

    fn wait_full(mut self) -> Result<Response<Resp>, Status> {
        if self.caller_driven {
            // This thread drives the channel's I/O while it waits: no hop to
            // the I/O thread and back.
            let polled = crate::rt::drive(std::future::poll_fn(|cx| self.poll_full(cx)));
            if let Ok(result) = polled {
                return result;
            }
        }
        // Only a client-streaming future has a pump, and needs a waker.
        let waker = self.pump.as_ref().map(|_| executor_waker(&self.executor));
        loop {
            if let Some(result) = self.take_result() {
                return result;
            }
            if let Some(waker) = &waker {
                self.drive_pump(&mut Context::from_waker(waker));
                if let Some(result) = self.take_result() {
                    return result;
                }
            }
            self.executor.wait_and_drain();
        }
    }

    fn take_result(&mut self) -> Option<Result<Response<Resp>, Status>> {
        let result = lock(&self.slot).take()?;
        self.cancel = None;
        self.pump = None;
        self.executor.shutdown();
        Some(result)
    }
}

impl<Resp> Future for UnaryFuture<Resp> {
    type Output = Result<Resp, Status>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_full(cx)
            .map(|result| result.map(|response| response.message))
    }
}

/// A [`UnaryFuture`] that resolves to the [`Response`] with its metadata.
#[must_use = "a future cancels its call when dropped"]
#[derive(Debug)]
pub struct WithMetadata<Resp>(UnaryFuture<Resp>);

impl<Resp> WithMetadata<Resp> {
    /// Blocks the calling thread until the call ends.
    pub fn wait(self) -> Result<Response<Resp>, Status> {
        self.0.wait_full()
    }
}

impl<Resp> Future for WithMetadata<Resp> {
    type Output = Result<Response<Resp>, Status>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_full(cx)
    }
}

impl<Resp> UnaryFuture<Resp> {
    fn poll_full(&mut self, cx: &mut Context<'_>) -> Poll<Result<Response<Resp>, Status>> {
        loop {
            if let Some(result) = self.take_result() {
                return Poll::Ready(result);
            }
            if self.cancel.is_none() {
                return Poll::Ready(Err(Status::internal(
                    "UnaryFuture polled after it completed",
                )));
            }
            self.drive_pump(cx);
            if self.executor.poll_drain(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl<Resp> Drop for UnaryFuture<Resp> {
    fn drop(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            cancel(Status::cancelled(
                "the caller dropped the call before it completed",
            ));
            self.executor.shutdown();
        }
    }
}

impl<Resp> fmt::Debug for UnaryFuture<Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnaryFuture")
            .field("done", &self.cancel.is_none())
            .finish()
    }
}

/// Collects the one response and the close into the future's slot.
struct UnaryListener<Resp> {
    slot: Slot<Resp>,
    response: Option<Resp>,
    headers: Metadata,
    extra: bool,
}

impl<Resp> UnaryListener<Resp> {
    /// A listener and the slot it fills.
    fn new() -> (Self, Slot<Resp>) {
        let slot = sync::Arc::new(Mutex::new(None));
        let listener = UnaryListener {
            slot: slot.clone(),
            response: None,
            headers: Metadata::new(),
            extra: false,
        };
        (listener, slot)
    }
}

impl<Resp: Send + 'static> Listener<Resp> for UnaryListener<Resp> {
    fn on_headers(&mut self, headers: Metadata) {
        self.headers = headers;
    }

    fn on_message(&mut self, message: Resp) {
        if self.response.is_some() {
            self.extra = true;
        } else {
            self.response = Some(message);
        }
    }

    fn on_close(&mut self, status: Status, trailers: Metadata) {
        let result = if !status.is_ok() {
            let status = if status.trailers().is_empty() && !trailers.is_empty() {
                status.with_trailers(trailers)
            } else {
                status
            };
            Err(status)
        } else if self.extra {
            Err(Status::internal(
                "server sent more than one response to a unary call",
            ))
        } else {
            match self.response.take() {
                Some(message) => Ok(Response {
                    message,
                    headers: std::mem::take(&mut self.headers),
                    trailers,
                }),
                None => Err(Status::internal(
                    "server closed the unary call with OK but sent no response message",
                )),
            }
        };
        *lock(&self.slot) = Some(result);
    }
}
