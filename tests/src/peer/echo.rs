//! The `switchboard.test` protobuf messages, hand-written as prost structs
//! (there is no protoc in the build) to match `tests/proto/echo.proto`, plus
//! the names and paths of the `Echo` service. Client tests encode requests
//! and decode responses with these types.

/// Fully qualified name of the echo service.
pub const ECHO_SERVICE_NAME: &str = "switchboard.test.Echo";

/// HTTP/2 `:path` of the `Echo/Unary` method.
pub const ECHO_UNARY_PATH: &str = "/switchboard.test.Echo/Unary";

/// HTTP/2 `:path` of the `Echo/ServerStream` method
/// ([`StreamRequest`] in, a stream of [`EchoResponse`] out).
pub const ECHO_SERVER_STREAM_PATH: &str = "/switchboard.test.Echo/ServerStream";

/// HTTP/2 `:path` of the `Echo/ClientStream` method
/// (a stream of [`EchoRequest`] in, one [`EchoResponse`] out).
pub const ECHO_CLIENT_STREAM_PATH: &str = "/switchboard.test.Echo/ClientStream";

/// HTTP/2 `:path` of the `Echo/Bidi` method
/// (a stream of [`EchoRequest`] in, one [`EchoResponse`] out per request).
pub const ECHO_BIDI_PATH: &str = "/switchboard.test.Echo/Bidi";

/// Request of `Echo/Unary`, and each request message of `Echo/ClientStream`
/// and `Echo/Bidi`: what to echo and how the server should behave.
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
    /// If > 0, the handler sleeps this many milliseconds before answering
    /// (in the streaming methods: after reading this request message).
    #[prost(uint64, tag = "6")]
    pub sleep_ms: u64,
}

/// Response of `Echo/Unary` and `Echo/ClientStream`, and each response
/// message of `Echo/ServerStream` and `Echo/Bidi`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoResponse {
    /// The request's message. `Echo/ClientStream`: the number of request
    /// messages received, in decimal.
    #[prost(string, tag = "1")]
    pub message: String,
    /// The request's payload, or `response_size` bytes of `0xAB`.
    /// `Echo/ServerStream`: `size` bytes of `0xAB`. `Echo/ClientStream`: the
    /// payload of the last request message.
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
    /// `Echo/ClientStream`: the sum of the request payloads' lengths.
    /// `Echo/Bidi`: the same, running, up to and including this response's
    /// request. 0 otherwise.
    #[prost(uint64, tag = "3")]
    pub total_bytes: u64,
    /// `Echo/ServerStream` and `Echo/Bidi`: the 0-based position of this
    /// message in the response stream. 0 otherwise.
    #[prost(uint32, tag = "4")]
    pub index: u32,
}

/// Request of `Echo/ServerStream`: how many messages to stream back, how big,
/// how fast, and how to end the stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamRequest {
    /// How many response messages to send.
    #[prost(uint32, tag = "1")]
    pub count: u32,
    /// Payload size of each response message (bytes of `0xAB`).
    #[prost(uint32, tag = "2")]
    pub size: u32,
    /// If != 0, the stream ends with this gRPC status code after the
    /// messages, instead of OK.
    #[prost(int32, tag = "3")]
    pub status_code: i32,
    /// The `grpc-message` of that status.
    #[prost(string, tag = "4")]
    pub status_message: String,
    /// If > 0, the server sleeps this many milliseconds between two
    /// consecutive response messages (not before the first or after the last).
    #[prost(uint64, tag = "5")]
    pub sleep_ms: u64,
    /// Copied into [`EchoResponse::message`] of every response message.
    #[prost(string, tag = "6")]
    pub message: String,
}
