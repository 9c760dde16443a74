//! The wire mapping: the one place where what gRPC puts in HTTP/2 headers,
//! and what HTTP and HTTP/2 report, is turned into this crate's types and
//! back.
//!
//! Layer: plain data, above `status` and `metadata` (it adds `impl` blocks to
//! their types and imports nothing else from the crate; neither of them
//! imports it). It owns:
//!
//! - [`status`]: reading a call's end out of trailers or a trailers-only
//!   response: `grpc-status`, `grpc-message`, `grpc-status-details-bin`
//!   and the custom metadata beside them (`Status::from_header_map`);
//! - [`http`]: an HTTP status that came without `grpc-status`
//!   (`Status::from_http_status`, gRPC's `doc/http-grpc-status-mapping.md`)
//!   and an HTTP/2 `RST_STREAM` / `GOAWAY` error code
//!   (`Status::from_h2_reason`, PROTOCOL-HTTP2's "Errors" table);
//! - [`metadata`]: custom metadata into request headers and out of response
//!   headers and trailers (`Metadata::write_to`, `Metadata::from_headers`:
//!   PROTOCOL-HTTP2's `Custom-Metadata`, base64 `-bin` values, reserved
//!   headers skipped).
//!
//! The codecs of single values stay with their types, which own their public
//! paths: the `grpc-message` percent-encoding in `status`
//! (`encode_grpc_message`, `decode_grpc_message`), the `-bin` base64 alphabet
//! and the reserved-key rules in `metadata`, and the `grpc-timeout` form in
//! `deadline`. Which I/O or h2 failure becomes which status is the
//! transport's decision (`transport::error`), which uses [`http`]'s table
//! for HTTP/2 error codes. Choosing a code for a peer's HTTP/2 error code or
//! HTTP status anywhere else is a bug: call these functions.
//!
//! Invariants: mapping peer input never fails and never panics (bad input
//! becomes a `Status` that says what was wrong, or an entry dropped with a
//! `tracing` debug event); a status read here has origin `Server` (trailers,
//! HTTP status) or `Http2` (an HTTP/2 error code).

pub(crate) mod http;
pub(crate) mod metadata;
pub(crate) mod status;
