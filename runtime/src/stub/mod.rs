//! What generated stubs call (layer: stub, the top).
//!
//! The call helpers run one RPC of each kind through the channel's one call
//! stack, with a [`ThreadlessExecutor`] per call so every listener callback
//! runs on the caller's thread: the blocking helpers park the calling thread
//! in it, and the futures and streams drain it inside `poll`.
//!
//! | kind | blocking | async |
//! | --- | --- | --- |
//! | unary | [`blocking_unary_call`] | [`future_unary_call`] → [`UnaryFuture`] |
//! | server streaming | [`blocking_server_streaming_call`] → [`BlockingResponseStream`] | [`async_server_streaming_call`] → [`ResponseStream`] |
//! | client streaming | [`blocking_client_streaming_call`] | [`async_client_streaming_call`] → [`UnaryFuture`] |
//! | bidi streaming | [`blocking_bidi_streaming_call`] → [`BlockingBidiCall`] | [`async_bidi_streaming_call`] → [`ResponseStream`] |
//!
//! Every helper starts its call before returning, runs the options'
//! interceptors first (a refusal becomes the call's status), and reports
//! every failure as a [`Status`](crate::Status).
//!
//! To drive many calls from plain threads without async, start them on a
//! [`CompletionQueue`](crate::CompletionQueue) instead (with the same
//! method descriptors).
//!
//! Generated stubs implement the [`Stub`] trait, which owns their call
//! options (`with_deadline_after`, `with_wait_for_ready`, …), and call one
//! helper per method.

mod receiver;
mod send;
mod streaming;
mod stub_trait;
mod unary;

pub use streaming::{
    BlockingBidiCall, BlockingResponseStream, ResponseStream, async_bidi_streaming_call,
    async_client_streaming_call, async_server_streaming_call, blocking_bidi_streaming_call,
    blocking_client_streaming_call, blocking_server_streaming_call,
};
pub use stub_trait::Stub;
pub use unary::{Response, UnaryFuture, WithMetadata, blocking_unary_call, future_unary_call};

#[doc(hidden)]
pub use send::wait_ready_parked;

use crate::call::{ClientCall, Listener};
use crate::channel::{Channel, ChannelCall};
use crate::codec::Codec;
use crate::executor::ThreadlessExecutor;
use crate::method::MethodDescriptor;
use crate::options::CallOptions;

/// Creates and starts a call: interceptors first, then `start` with the
/// metadata they produced. A refusing interceptor yields a call that closes
/// with its status without touching the network.
pub(crate) fn start_call<Req, Resp, C>(
    channel: &Channel,
    method: &MethodDescriptor<Req, Resp, C>,
    options: &CallOptions,
    executor: ThreadlessExecutor,
    listener: Box<dyn Listener<Resp>>,
) -> ChannelCall<Req, Resp>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    C: Codec<Req, Resp> + Clone,
{
    let deadline = options.effective_deadline();
    match options
        .interceptors()
        .run(method.full_path(), options.metadata(), deadline)
    {
        Ok(metadata) => {
            let call = channel.new_call(method, options, executor);
            call.start(listener, metadata);
            call
        }
        Err(status) => {
            let call = channel.failed_call(status, executor);
            call.start(listener, crate::metadata::Metadata::new());
            call
        }
    }
}
