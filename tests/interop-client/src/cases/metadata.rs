//! `custom_metadata`: request metadata echoed back in the response headers
//! (ASCII) and trailers (binary), on a unary and a bidi call.

use futures::StreamExt as _;
use futures::executor::block_on;
use switchboard::call::ClientCall as _;
use switchboard::prelude::*;
use switchboard::{CallOptions, Channel, Metadata};

use super::streaming::output_request;
use super::unary::{LARGE_REQUEST_SIZE, LARGE_RESPONSE_SIZE, large_request};
use super::{CALL_TIMEOUT, CaseResult, async_stub};
use crate::check;
use crate::pb::StreamingOutputCallRequest;
use crate::pb::test_service_client::UNARY_CALL;
use crate::recorder::record;

/// Key the server echoes in its initial metadata.
pub const ECHO_INITIAL_KEY: &str = "x-grpc-test-echo-initial";

/// Value the case sends under [`ECHO_INITIAL_KEY`].
pub const ECHO_INITIAL_VALUE: &str = "test_initial_metadata_value";

/// Binary key the server echoes in its trailing metadata.
pub const ECHO_TRAILING_KEY: &str = "x-grpc-test-echo-trailing-bin";

/// Value the case sends under [`ECHO_TRAILING_KEY`]: `0xababab`.
pub const ECHO_TRAILING_VALUE: [u8; 3] = [0xab, 0xab, 0xab];

/// The request metadata of both calls.
fn echo_metadata() -> Result<Metadata, String> {
    let mut metadata = Metadata::new();
    metadata
        .insert(ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE)
        .and_then(|()| metadata.insert_bin(ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE.to_vec()))
        .map_err(|e| format!("cannot build the request metadata: {e}"))?;
    Ok(metadata)
}

/// Both echoes: `key: value` in `headers`, the binary value in `trailers`.
fn echoed(what: &str, headers: Option<&Metadata>, trailers: Option<&Metadata>) -> CaseResult {
    let headers =
        headers.ok_or_else(|| format!("{what}: the call ended without response headers"))?;
    check::ascii_entry(
        what,
        "headers",
        headers,
        ECHO_INITIAL_KEY,
        ECHO_INITIAL_VALUE,
    )?;
    let trailers = trailers.ok_or_else(|| format!("{what}: the call ended without trailers"))?;
    check::binary_entry(
        what,
        "trailers",
        trailers,
        ECHO_TRAILING_KEY,
        &ECHO_TRAILING_VALUE,
    )
}

/// `custom_metadata`: with `x-grpc-test-echo-initial:
/// test_initial_metadata_value` and `x-grpc-test-echo-trailing-bin:
/// 0xababab` attached,
/// 1. UnaryCall with the large request succeeds (314159-byte payload);
/// 2. FullDuplexCall with one request (271828 zeros, asking for 314159
///    bytes), then half-close, succeeds with one response of that size;
///
/// and each call's response headers carry the initial value and its
/// trailers the binary value.
///
/// The unary call uses the low-level call API (with the generated
/// `UNARY_CALL` descriptor): a unary stub gives only the response message,
/// not the headers and trailers the spec wants checked. The bidi call uses
/// the async stub, `with_metadata`, and its response stream's `headers()`
/// and `trailers()`. The request is sent before the headers are awaited: a
/// server may send its headers only with its first response.
pub fn custom_metadata(channel: &Channel) -> CaseResult {
    let metadata = echo_metadata()?;

    let what = "UnaryCall with echo metadata";
    let options = CallOptions::new().with_deadline_after(CALL_TIMEOUT);
    let outcome = record(channel, &UNARY_CALL, &options, metadata.clone(), |call| {
        call.send_last(large_request());
    });
    let (response, outcome) = outcome.single(what)?;
    check::payload(what, response.payload.as_ref(), LARGE_RESPONSE_SIZE)?;
    echoed(what, outcome.headers.as_ref(), Some(&outcome.trailers))?;

    let what = "FullDuplexCall with echo metadata";
    let request = StreamingOutputCallRequest {
        payload: check::zeros(LARGE_REQUEST_SIZE),
        ..output_request(&[LARGE_RESPONSE_SIZE])
    };
    let stub = async_stub(channel).with_metadata(metadata);
    let mut stream = stub.full_duplex_call(futures::stream::iter([request]));
    let (headers, results) = block_on(async {
        let headers = stream.headers().await;
        let results: Vec<_> = (&mut stream).collect().await;
        (headers, results)
    });
    let headers = check::success(&format!("{what} (waiting for headers)"), headers)?;
    let responses = results
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|status| format!("{what} failed ({status}), expected it to succeed"))?;
    check::payload_sizes(
        what,
        responses.iter().map(|r| r.payload.as_ref()),
        &[LARGE_RESPONSE_SIZE],
    )?;
    echoed(what, Some(&headers), stream.trailers().as_ref())
}
