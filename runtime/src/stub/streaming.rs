//! Streaming calls: server, client and bidi, blocking and async (layer: stub).
//!
//! PLACEHOLDER until the streaming issue lands: the public surface is final
//! (generated stubs call these functions), and each call ends at once with
//! `UNIMPLEMENTED` so nothing panics or hangs.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::channel::Channel;
use crate::codec::Codec;
use crate::method::MethodDescriptor;
use crate::options::CallOptions;
use crate::status::Status;
use crate::stub::UnaryFuture;

fn not_yet() -> Status {
    Status::unimplemented("switchboard does not implement client-side streaming calls yet")
}

/// The responses of a blocking server-streaming call, as an iterator.
#[derive(Debug)]
pub struct BlockingResponseStream<Resp> {
    end: Option<Status>,
    _resp: PhantomData<fn() -> Resp>,
}

impl<Resp> Iterator for BlockingResponseStream<Resp> {
    type Item = Result<Resp, Status>;
    fn next(&mut self) -> Option<Self::Item> {
        self.end.take().map(Err)
    }
}

/// A blocking bidi-streaming call.
#[derive(Debug)]
pub struct BlockingBidiCall<Req, Resp> {
    _types: PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp> BlockingBidiCall<Req, Resp> {
    /// Sends one request.
    pub fn send(&self, _request: Req) -> Result<(), Status> {
        Err(not_yet())
    }
    /// Receives the next response.
    pub fn recv(&self) -> Option<Result<Resp, Status>> {
        None
    }
}

/// The responses of an async streaming call, as a `futures::Stream`.
#[derive(Debug)]
pub struct ResponseStream<Resp> {
    end: Option<Status>,
    _resp: PhantomData<fn() -> Resp>,
}

impl<Resp> Stream for ResponseStream<Resp> {
    type Item = Result<Resp, Status>;
    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.end.take().map(Err))
    }
}

/// Starts a server-streaming call and returns its responses as an iterator.
pub fn blocking_server_streaming_call<Req, Resp, C>(
    _channel: &Channel,
    _method: &MethodDescriptor<Req, Resp, C>,
    _options: &CallOptions,
    _request: Req,
) -> BlockingResponseStream<Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    BlockingResponseStream {
        end: Some(not_yet()),
        _resp: PhantomData,
    }
}

/// Sends every request of `requests`, then blocks for the one response.
pub fn blocking_client_streaming_call<Req, Resp, C, I>(
    _channel: &Channel,
    _method: &MethodDescriptor<Req, Resp, C>,
    _options: &CallOptions,
    _requests: I,
) -> Result<Resp, Status>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
    I: IntoIterator<Item = Req>,
{
    Err(not_yet())
}

/// Starts a bidi-streaming call and returns its blocking handle.
pub fn blocking_bidi_streaming_call<Req, Resp, C>(
    _channel: &Channel,
    _method: &MethodDescriptor<Req, Resp, C>,
    _options: &CallOptions,
) -> BlockingBidiCall<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    BlockingBidiCall {
        _types: PhantomData,
    }
}

/// Starts a server-streaming call and returns its responses as a stream.
pub fn async_server_streaming_call<Req, Resp, C>(
    _channel: &Channel,
    _method: &MethodDescriptor<Req, Resp, C>,
    _options: &CallOptions,
    _request: Req,
) -> ResponseStream<Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    ResponseStream {
        end: Some(not_yet()),
        _resp: PhantomData,
    }
}

/// Sends the requests of `requests` and resolves to the one response.
pub fn async_client_streaming_call<Req, Resp, C, S>(
    channel: &Channel,
    _method: &MethodDescriptor<Req, Resp, C>,
    _options: &CallOptions,
    _requests: S,
) -> UnaryFuture<Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
    S: Stream<Item = Req> + Send + 'static,
{
    UnaryFuture::failed(channel, not_yet())
}

/// Starts a bidi-streaming call that sends `requests` and returns the
/// responses as a stream.
pub fn async_bidi_streaming_call<Req, Resp, C, S>(
    _channel: &Channel,
    _method: &MethodDescriptor<Req, Resp, C>,
    _options: &CallOptions,
    _requests: S,
) -> ResponseStream<Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
    S: Stream<Item = Req> + Send + 'static,
{
    ResponseStream {
        end: Some(not_yet()),
        _resp: PhantomData,
    }
}
