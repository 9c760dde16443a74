//! Shared bits for the examples.
//!
//! - [`helloworld`] and [`routeguide`]: the code `switchboard-build`
//!   generated from `proto/` (see `build.rs`): messages, and per service a
//!   `<service>_client` module with a blocking and an async stub.
//! - [`demo`]: embedded demo servers for those services. They are tonic,
//!   because switchboard is a client only, for now.
//! - [`ECHO_UNARY`]: a hand-written method descriptor for the
//!   `unary_raw` and `unary_timing` examples, which call the Echo server of
//!   `switchboard-tests` without generated code.

use switchboard::{MethodDescriptor, MethodKind, ProstCodec};
pub use switchboard_tests::echo::{EchoRequest, EchoResponse};

pub mod demo;

/// Package `helloworld`: the Greeter service and its messages.
pub mod helloworld {
    switchboard::include_proto!("helloworld");
}

/// Package `routeguide`: the RouteGuide service (all four kinds of method).
pub mod routeguide {
    switchboard::include_proto!("routeguide");
}

/// `/switchboard.test.Echo/Unary`, written by hand.
pub const ECHO_UNARY: MethodDescriptor<EchoRequest, EchoResponse> = MethodDescriptor::new(
    switchboard_tests::ECHO_UNARY_PATH,
    MethodKind::Unary,
    ProstCodec,
);
