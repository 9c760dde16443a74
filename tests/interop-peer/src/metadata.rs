//! The names an interop client and server agree on: the service and method
//! paths of `grpc.testing` and the metadata keys of the "Echo Metadata"
//! server feature (gRPC `doc/interop-test-descriptions.md`).
//!
//! Plain constants only; the echo itself happens in [`crate::wire`].

/// Fully qualified name of the test service.
pub const TEST_SERVICE: &str = "grpc.testing.TestService";

/// Fully qualified name of the service no interop server implements.
pub const UNIMPLEMENTED_SERVICE: &str = "grpc.testing.UnimplementedService";

/// HTTP/2 `:path` of `TestService/EmptyCall`.
pub const EMPTY_CALL_PATH: &str = "/grpc.testing.TestService/EmptyCall";
/// HTTP/2 `:path` of `TestService/UnaryCall`.
pub const UNARY_CALL_PATH: &str = "/grpc.testing.TestService/UnaryCall";
/// HTTP/2 `:path` of `TestService/StreamingOutputCall`.
pub const STREAMING_OUTPUT_CALL_PATH: &str = "/grpc.testing.TestService/StreamingOutputCall";
/// HTTP/2 `:path` of `TestService/StreamingInputCall`.
pub const STREAMING_INPUT_CALL_PATH: &str = "/grpc.testing.TestService/StreamingInputCall";
/// HTTP/2 `:path` of `TestService/FullDuplexCall`.
pub const FULL_DUPLEX_CALL_PATH: &str = "/grpc.testing.TestService/FullDuplexCall";
/// HTTP/2 `:path` of `TestService/HalfDuplexCall`.
pub const HALF_DUPLEX_CALL_PATH: &str = "/grpc.testing.TestService/HalfDuplexCall";
/// HTTP/2 `:path` of `TestService/UnimplementedCall`.
pub const UNIMPLEMENTED_CALL_PATH: &str = "/grpc.testing.TestService/UnimplementedCall";
/// HTTP/2 `:path` of `UnimplementedService/UnimplementedCall`.
pub const UNIMPLEMENTED_SERVICE_CALL_PATH: &str =
    "/grpc.testing.UnimplementedService/UnimplementedCall";

/// Request metadata key whose value the server sends back, unchanged, in
/// its initial metadata (response headers).
pub const ECHO_INITIAL_KEY: &str = "x-grpc-test-echo-initial";

/// Binary request metadata key whose value the server sends back,
/// unchanged (still base64 on the wire), in its trailing metadata.
pub const ECHO_TRAILING_KEY: &str = "x-grpc-test-echo-trailing-bin";

/// The value the `custom_metadata` case sends under [`ECHO_INITIAL_KEY`].
pub const ECHO_INITIAL_VALUE: &str = "test_initial_metadata_value";

/// The value the `custom_metadata` case sends under [`ECHO_TRAILING_KEY`]
/// (decoded bytes; base64 `q6ur` on the wire).
pub const ECHO_TRAILING_VALUE: [u8; 3] = [0xab, 0xab, 0xab];
