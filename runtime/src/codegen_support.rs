//! Names generated code uses (layer: top; re-exports only).
//!
//! Generated stubs refer to everything through `switchboard::codegen::…`, so
//! a crate using them needs no dependency beyond `switchboard` and `prost`
//! (not even `futures-core` for the `Stream` bound). Not for hand-written
//! code: the items' real homes are documented elsewhere.

pub use futures_core::Stream;

pub use crate::channel::Channel;
pub use crate::codec::ProstCodec;
pub use crate::method::{MethodDescriptor, MethodKind};
pub use crate::options::CallOptions;
pub use crate::status::Status;
pub use crate::stub::{
    BlockingBidiCall, BlockingResponseStream, ResponseStream, Stub, UnaryFuture,
    async_bidi_streaming_call, async_client_streaming_call, async_server_streaming_call,
    blocking_bidi_streaming_call, blocking_client_streaming_call, blocking_server_streaming_call,
    blocking_unary_call, future_unary_call,
};
