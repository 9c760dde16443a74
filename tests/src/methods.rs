//! Method descriptors of the `switchboard.test.Echo` service, for tests
//! that make calls by hand (through `switchboard::stub`): one definition
//! instead of one per test file.

use switchboard::{MethodDescriptor, MethodKind, ProstCodec};

use crate::peer::echo::{
    ECHO_BIDI_PATH, ECHO_CLIENT_STREAM_PATH, ECHO_SERVER_STREAM_PATH, ECHO_UNARY_PATH, EchoRequest,
    EchoResponse, StreamRequest,
};

/// `Echo/Unary`.
pub const UNARY: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_UNARY_PATH, MethodKind::Unary, ProstCodec);

/// `Echo/ServerStream`.
pub const SERVER_STREAM: MethodDescriptor<StreamRequest, EchoResponse> = MethodDescriptor::new(
    ECHO_SERVER_STREAM_PATH,
    MethodKind::ServerStreaming,
    ProstCodec,
);

/// `Echo/ClientStream`.
pub const CLIENT_STREAM: MethodDescriptor<EchoRequest, EchoResponse> = MethodDescriptor::new(
    ECHO_CLIENT_STREAM_PATH,
    MethodKind::ClientStreaming,
    ProstCodec,
);

/// `Echo/Bidi`.
pub const BIDI: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_BIDI_PATH, MethodKind::BidiStreaming, ProstCodec);
