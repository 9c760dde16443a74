//! Streaming calls: server, client and bidi, blocking and async (layer: stub).
//!
//! All three kinds use the same call stack as unary calls: a call from
//! [`start_call`] (pending first on a cold channel, then a real h2 stream),
//! callbacks on a per-call [`ThreadlessExecutor`] drained by the caller.
//! Receiving goes through [`Receiver`] (up to 32 messages requested ahead);
//! sending waits for [`ClientCall::poll_ready`] (see `send`). Dropping a
//! stream, iterator or handle before its end cancels the RPC.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::call::ClientCall;
use crate::channel::{Channel, ChannelCall};
use crate::codec::Codec;
use crate::executor::ThreadlessExecutor;
use crate::metadata::Metadata;
use crate::method::MethodDescriptor;
use crate::options::CallOptions;
use crate::status::Status;
use crate::stub::receiver::{
    Control, Receiver, SharedState, end_status, stream_listener, trailers_of,
};
use crate::stub::send::{Pump, RequestPump, wait_ready_draining, wait_ready_parked};
use crate::stub::start_call;
use crate::stub::unary::{UnaryFuture, start_single_response};
use crate::sync::{Mutex, lock};

/// Starts a call whose responses go to a [`Receiver`].
fn start_streaming<Req, Resp, C>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
) -> (
    Arc<ChannelCall<Req, Resp>>,
    Receiver<Resp>,
    SharedState<Resp>,
)
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    let executor = ThreadlessExecutor::new();
    let (state, listener) = stream_listener();
    let call = Arc::new(start_call(
        channel,
        method,
        options,
        executor.clone(),
        Box::new(listener),
    ));
    let receiver = Receiver::new(executor, state.clone(), call.clone() as Arc<dyn Control>);
    (call, receiver, state)
}

/// The responses of a blocking server-streaming call.
///
/// An iterator of `Result<Resp, Status>`: each message is `Ok`; after the
/// last one an OK end stops the iteration, and an error end is yielded once
/// as `Err` before it stops. Dropping it early cancels the call.
pub struct BlockingResponseStream<Resp> {
    receiver: Receiver<Resp>,
    state: SharedState<Resp>,
}

impl<Resp: Send + 'static> BlockingResponseStream<Resp> {
    /// Blocks until the response headers arrive. `Err` if the call ended
    /// with an error before sending any.
    pub fn headers(&mut self) -> Result<Metadata, Status> {
        self.receiver.headers_blocking()
    }

    /// The trailers, once the stream has ended.
    pub fn trailers(&self) -> Option<Metadata> {
        trailers_of(&self.state)
    }
}

impl<Resp: Send + 'static> Iterator for BlockingResponseStream<Resp> {
    type Item = Result<Resp, Status>;

    fn next(&mut self) -> Option<Self::Item> {
        self.receiver.next_blocking()
    }
}

impl<Resp> fmt::Debug for BlockingResponseStream<Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingResponseStream")
            .finish_non_exhaustive()
    }
}

/// A blocking bidi-streaming call.
///
/// What may run at once: one thread may [`send`](Self::send) while another
/// [`recv`](Self::recv)s (the handle is `Sync`; share it by reference or
/// `Arc`). Concurrent `send`s are serialised, as are concurrent `recv`s.
/// [`half_close`](Self::half_close), [`cancel`](Self::cancel) and
/// [`trailers`](Self::trailers) never block and may be called from any
/// thread at any time. [`headers`](Self::headers) waits like `recv`.
///
/// Dropping the handle before the responses ended cancels the call.
pub struct BlockingBidiCall<Req, Resp> {
    call: Arc<ChannelCall<Req, Resp>>,
    receiver: Mutex<Receiver<Resp>>,
    sending: Mutex<()>,
    state: SharedState<Resp>,
}

impl<Req: Send + 'static, Resp: Send + 'static> BlockingBidiCall<Req, Resp> {
    /// Sends one request, blocking while HTTP/2 flow control says the server
    /// is not ready for more.
    ///
    /// `Err` if the call already ended (its status then comes from
    /// [`recv`](Self::recv)) or was half-closed. `Ok` means the message was
    /// handed to the transport, not that the server read it.
    pub fn send(&self, request: Req) -> Result<(), Status> {
        let _sending = lock(&self.sending);
        if !self.wait_ready() {
            return Err(self.ended());
        }
        self.call.send_message(request);
        Ok(())
    }

    /// Waits for flow control, parked, holding nothing the receiving
    /// thread needs: only the receiver frees the response window that lets
    /// the server read on, so a sender that held the receiver while it
    /// waited could deadlock against it.
    fn wait_ready(&self) -> bool {
        wait_ready_parked(&*self.call)
    }

    fn ended(&self) -> Status {
        end_status(&self.state).filter(|s| !s.is_ok()).unwrap_or_else(|| {
            Status::failed_precondition(
                "the call can send no more messages: it was half-closed or has ended (recv() gives its status)",
            )
        })
    }

    /// Blocks for the next response: `Some(Ok)` a message, `Some(Err)` the
    /// error end (once), `None` after the end.
    pub fn recv(&self) -> Option<Result<Resp, Status>> {
        lock(&self.receiver).next_blocking()
    }

    /// Tells the server no more requests will come.
    pub fn half_close(&self) {
        self.call.half_close();
    }

    /// Cancels the call: the server sees RST_STREAM(CANCEL) and `recv`
    /// returns `CANCELLED`.
    pub fn cancel(&self) {
        ClientCall::cancel(&*self.call, Status::cancelled("cancelled by the caller"));
    }

    /// Blocks until the response headers arrive.
    pub fn headers(&self) -> Result<Metadata, Status> {
        lock(&self.receiver).headers_blocking()
    }

    /// The trailers, once `recv` has seen the end.
    pub fn trailers(&self) -> Option<Metadata> {
        trailers_of(&self.state)
    }
}

impl<Req, Resp> fmt::Debug for BlockingBidiCall<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingBidiCall").finish_non_exhaustive()
    }
}

/// The responses of an async streaming call: a `futures::Stream` of
/// `Result<Resp, Status>` that runs on any executor.
///
/// Items follow the same rule as [`BlockingResponseStream`]. For a bidi
/// call, polling this stream also sends the request stream (the two make
/// progress together). Dropping it early cancels the call.
pub struct ResponseStream<Resp> {
    receiver: Receiver<Resp>,
    state: SharedState<Resp>,
    pump: Option<Box<dyn Pump>>,
}

impl<Resp: Send + 'static> ResponseStream<Resp> {
    /// Waits for the response headers. `Err` if the call ended with an error
    /// before sending any.
    pub async fn headers(&mut self) -> Result<Metadata, Status> {
        std::future::poll_fn(|cx| {
            self.drive_pump(cx);
            self.receiver.poll_headers(cx)
        })
        .await
    }

    /// The trailers, once the stream has ended.
    pub fn trailers(&self) -> Option<Metadata> {
        trailers_of(&self.state)
    }

    fn drive_pump(&mut self, cx: &mut Context<'_>) {
        if let Some(pump) = &mut self.pump
            && (self.receiver.is_finished() || pump.poll_pump(cx).is_ready())
        {
            self.pump = None;
        }
    }
}

// Never pin-projected: its fields are ordinary owned values.
impl<Resp> Unpin for ResponseStream<Resp> {}

impl<Resp: Send + 'static> Stream for ResponseStream<Resp> {
    type Item = Result<Resp, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        this.drive_pump(cx);
        let item = this.receiver.poll_next(cx);
        if this.receiver.is_finished() {
            this.pump = None;
        }
        item
    }
}

impl<Resp> fmt::Debug for ResponseStream<Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseStream").finish_non_exhaustive()
    }
}

/// Starts a server-streaming call; the responses come as an iterator.
///
/// ```
/// use switchboard::stub::blocking_server_streaming_call;
/// # use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec};
/// const LIST: MethodDescriptor<String, String> =
///     MethodDescriptor::new("/echo.Echo/List", MethodKind::ServerStreaming, ProstCodec);
///
/// // Nothing listens on port 1: the fail-fast call ends with UNAVAILABLE.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let mut responses =
///     blocking_server_streaming_call(&channel, &LIST, &CallOptions::new(), "hi".to_string());
/// // No message, then the error end, then nothing.
/// let ended = responses.next().and_then(Result::err);
/// assert_eq!(ended.map(|status| status.code()), Some(Code::Unavailable));
/// assert!(responses.next().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn blocking_server_streaming_call<Req, Resp, C>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
    request: Req,
) -> BlockingResponseStream<Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    let (call, receiver, state) = start_streaming(channel, method, options);
    call.send_last(request);
    BlockingResponseStream { receiver, state }
}

/// Sends every request of `requests` (waiting for flow control before each),
/// half-closes, and blocks for the one response.
///
/// Stops taking requests from the iterator as soon as the call ends (for
/// example, the server answered early with an error).
///
/// ```
/// use switchboard::stub::blocking_client_streaming_call;
/// # use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec};
/// const JOIN: MethodDescriptor<String, String> =
///     MethodDescriptor::new("/echo.Echo/Join", MethodKind::ClientStreaming, ProstCodec);
///
/// // Nothing listens on port 1: the fail-fast call ends with UNAVAILABLE.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let requests = ["a", "b", "c"].map(String::from);
/// let status = blocking_client_streaming_call(&channel, &JOIN, &CallOptions::new(), requests)
///     .unwrap_err();
/// assert_eq!(status.code(), Code::Unavailable);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn blocking_client_streaming_call<Req, Resp, C, I>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
    requests: I,
) -> Result<Resp, Status>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
    I: IntoIterator<Item = Req>,
{
    let (future, call) = start_single_response(channel, method, options);
    let executor = future.executor().clone();
    for request in requests {
        if !wait_ready_draining(&*call, &executor) {
            break;
        }
        call.send_message(request);
    }
    call.half_close();
    future.wait()
}

/// Starts a bidi-streaming call and returns its blocking handle.
///
/// ```
/// use switchboard::stub::blocking_bidi_streaming_call;
/// # use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec};
/// const CHAT: MethodDescriptor<String, String> =
///     MethodDescriptor::new("/echo.Echo/Chat", MethodKind::BidiStreaming, ProstCodec);
///
/// // Nothing listens on port 1: the fail-fast call ends with UNAVAILABLE.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let call = blocking_bidi_streaming_call(&channel, &CHAT, &CallOptions::new());
/// // A call that has ended refuses requests; `recv` gives its status.
/// assert!(call.send("hi".to_string()).is_err());
/// call.half_close();
/// let ended = call.recv().and_then(Result::err);
/// assert_eq!(ended.map(|status| status.code()), Some(Code::Unavailable));
/// assert!(call.recv().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn blocking_bidi_streaming_call<Req, Resp, C>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
) -> BlockingBidiCall<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    let (call, receiver, state) = start_streaming(channel, method, options);
    BlockingBidiCall {
        call,
        receiver: Mutex::new(receiver),
        sending: Mutex::new(()),
        state,
    }
}

/// Starts a server-streaming call; the responses come as a `Stream`.
///
/// ```
/// use futures::StreamExt;
/// use switchboard::stub::async_server_streaming_call;
/// # use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec};
/// const LIST: MethodDescriptor<String, String> =
///     MethodDescriptor::new("/echo.Echo/List", MethodKind::ServerStreaming, ProstCodec);
///
/// // Nothing listens on port 1: the fail-fast call ends with UNAVAILABLE.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let mut responses =
///     async_server_streaming_call(&channel, &LIST, &CallOptions::new(), "hi".to_string());
/// futures::executor::block_on(async {
///     let ended = responses.next().await.and_then(Result::err);
///     assert_eq!(ended.map(|status| status.code()), Some(Code::Unavailable));
///     assert!(responses.next().await.is_none());
/// });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn async_server_streaming_call<Req, Resp, C>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
    request: Req,
) -> ResponseStream<Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    let (call, receiver, state) = start_streaming(channel, method, options);
    call.send_last(request);
    ResponseStream {
        receiver,
        state,
        pump: None,
    }
}

/// Starts a client-streaming call that sends `requests`; resolves to the
/// one response. The requests are sent while the future is polled.
///
/// ```
/// use switchboard::stub::async_client_streaming_call;
/// # use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec};
/// const JOIN: MethodDescriptor<String, String> =
///     MethodDescriptor::new("/echo.Echo/Join", MethodKind::ClientStreaming, ProstCodec);
///
/// // Nothing listens on port 1: the fail-fast call ends with UNAVAILABLE.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let requests = futures::stream::iter(["a", "b", "c"].map(String::from));
/// let future = async_client_streaming_call(&channel, &JOIN, &CallOptions::new(), requests);
/// let status = futures::executor::block_on(future).unwrap_err();
/// assert_eq!(status.code(), Code::Unavailable);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn async_client_streaming_call<Req, Resp, C, S>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
    requests: S,
) -> UnaryFuture<Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
    S: Stream<Item = Req> + Send + 'static,
{
    let (future, call) = start_single_response(channel, method, options);
    future.with_pump(Box::new(RequestPump::new(call, requests)))
}

/// Starts a bidi-streaming call that sends `requests` and returns the
/// responses as a `Stream`; polling it sends the requests too.
///
/// ```
/// use futures::StreamExt;
/// use switchboard::stub::async_bidi_streaming_call;
/// # use switchboard::{CallOptions, Channel, Code, MethodDescriptor, MethodKind, ProstCodec};
/// const CHAT: MethodDescriptor<String, String> =
///     MethodDescriptor::new("/echo.Echo/Chat", MethodKind::BidiStreaming, ProstCodec);
///
/// // Nothing listens on port 1: the fail-fast call ends with UNAVAILABLE.
/// let channel = Channel::builder("http://127.0.0.1:1").build()?;
/// let requests = futures::stream::iter(["a", "b"].map(String::from));
/// let mut responses = async_bidi_streaming_call(&channel, &CHAT, &CallOptions::new(), requests);
/// futures::executor::block_on(async {
///     let ended = responses.next().await.and_then(Result::err);
///     assert_eq!(ended.map(|status| status.code()), Some(Code::Unavailable));
/// });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn async_bidi_streaming_call<Req, Resp, C, S>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
    requests: S,
) -> ResponseStream<Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
    S: Stream<Item = Req> + Send + 'static,
{
    let (call, receiver, state) = start_streaming(channel, method, options);
    ResponseStream {
        receiver,
        state,
        pump: Some(Box::new(RequestPump::new(call, requests))),
    }
}
