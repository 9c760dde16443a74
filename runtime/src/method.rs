//! Method descriptors (layer: plain data).
//!
//! A [`MethodDescriptor`] names one RPC: its full path on the wire
//! (`/package.Service/Method`), its kind, and the codec for its messages.
//! Generated code declares one `const` per method.

use std::fmt;
use std::marker::PhantomData;

use crate::codec::ProstCodec;

/// The four kinds of gRPC method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MethodKind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// Streams both ways.
    BidiStreaming,
}

/// One RPC method: full path, kind and codec.
pub struct MethodDescriptor<Req, Resp, C = ProstCodec> {
    full_path: &'static str,
    kind: MethodKind,
    codec: C,
    _messages: PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp, C> MethodDescriptor<Req, Resp, C> {
    /// Describes the method at `full_path` (`/package.Service/Method`).
    pub const fn new(full_path: &'static str, kind: MethodKind, codec: C) -> Self {
        MethodDescriptor {
            full_path,
            kind,
            codec,
            _messages: PhantomData,
        }
    }

    /// The `:path` of the method, `/package.Service/Method`.
    pub const fn full_path(&self) -> &'static str {
        self.full_path
    }

    /// The method kind.
    pub const fn kind(&self) -> MethodKind {
        self.kind
    }

    /// The codec for the method's messages.
    pub const fn codec(&self) -> &C {
        &self.codec
    }
}

impl<Req, Resp, C: Clone> Clone for MethodDescriptor<Req, Resp, C> {
    fn clone(&self) -> Self {
        MethodDescriptor::new(self.full_path, self.kind, self.codec.clone())
    }
}

impl<Req, Resp, C> fmt::Debug for MethodDescriptor<Req, Resp, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodDescriptor")
            .field("full_path", &self.full_path)
            .field("kind", &self.kind)
            .finish()
    }
}
