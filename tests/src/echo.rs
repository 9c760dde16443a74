//! The `switchboard.test` protobuf messages, hand-written as prost structs
//! (there is no protoc in the build) to match `tests/proto/echo.proto`, plus
//! the names and paths of the `Echo` service. Client tests encode requests
//! and decode responses with these types.

/// Fully qualified name of the echo service.
pub const ECHO_SERVICE_NAME: &str = "switchboard.test.Echo";

/// HTTP/2 `:path` of the `Echo/Unary` method.
pub const ECHO_UNARY_PATH: &str = "/switchboard.test.Echo/Unary";

/// Request of `Echo/Unary`: what to echo and how the server should behave.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoRequest {
    /// Echoed back in [`EchoResponse::message`].
    #[prost(string, tag = "1")]
    pub message: String,
    /// Echoed back in [`EchoResponse::payload`] unless `response_size > 0`.
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
    /// If > 0, the response payload is `response_size` bytes of `0xAB`.
    #[prost(uint32, tag = "3")]
    pub response_size: u32,
    /// If != 0, the call fails with this gRPC status code.
    #[prost(int32, tag = "4")]
    pub status_code: i32,
    /// The `grpc-message` of the failure when `status_code != 0`.
    #[prost(string, tag = "5")]
    pub status_message: String,
    /// If > 0, the handler sleeps this many milliseconds before answering.
    #[prost(uint64, tag = "6")]
    pub sleep_ms: u64,
}

/// Response of `Echo/Unary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoResponse {
    /// The request's message.
    #[prost(string, tag = "1")]
    pub message: String,
    /// The request's payload, or `response_size` bytes of `0xAB`.
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
}
