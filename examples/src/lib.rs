//! Shared bits for the examples: the hand-written method descriptor of the
//! demo Echo service. (Generated stubs replace hand-written descriptors once
//! codegen lands; until switchboard has a server of its own, the demo server
//! is tonic, from `switchboard-tests`.)

use switchboard::{MethodDescriptor, MethodKind, ProstCodec};
pub use switchboard_tests::echo::{EchoRequest, EchoResponse};

/// `/switchboard.test.Echo/Unary`, written by hand.
pub const ECHO_UNARY: MethodDescriptor<EchoRequest, EchoResponse> = MethodDescriptor::new(
    switchboard_tests::ECHO_UNARY_PATH,
    MethodKind::Unary,
    ProstCodec,
);
