//! The compression cases.
//!
//! - Client side (`client_compressed_unary`, `client_compressed_streaming`):
//!   each starts with the spec's feature probe, an *uncompressed* request
//!   with `expect_compressed: true`, which a server implementing
//!   CompressedRequest must fail with INVALID_ARGUMENT; then compressed and
//!   uncompressed requests that must succeed. A server that cannot see the
//!   request's compressed flag (grpcio) accepts the probe, and the case
//!   fails saying so: these cases need such a server.
//! - Server side (`server_compressed_unary`, `server_compressed_streaming`):
//!   switchboard always offers `grpc-accept-encoding: gzip`, and the server
//!   compresses the responses the requests ask it to. The spec's check of
//!   each response's compressed flag applies "if supported by the
//!   implementation": switchboard decompresses below its public API and
//!   exposes neither the flag nor the response's `grpc-encoding`, so these
//!   cases check what is visible: the calls succeed and every response,
//!   compressed or not, decodes to the requested number of zero bytes.

use futures::executor::block_on;
use switchboard::prelude::*;
use switchboard::{CallOptions, Channel, Code, Metadata};

use super::unary::{LARGE_RESPONSE_SIZE, large_request};
use super::{CALL_TIMEOUT, CaseResult, async_stub, blocking_stub};
use crate::check;
use crate::pb::test_service_client::STREAMING_INPUT_CALL;
use crate::pb::{
    BoolValue, ResponseParameters, SimpleRequest, StreamingInputCallRequest,
    StreamingOutputCallRequest,
};
use crate::recorder::record;

/// The encoding the compressed requests use.
const GZIP: &str = "gzip";

/// First request payload size of `client_compressed_streaming` (the probe
/// uses it too).
const FIRST_STREAMING_SIZE: usize = 27_182;

/// Second request payload size of `client_compressed_streaming`.
const SECOND_STREAMING_SIZE: usize = 45_904;

/// The sum of the two, which the server must report.
const COMPRESSED_AGGREGATE: i32 = 73_086;

/// Response sizes of `server_compressed_streaming`: the first compressed,
/// the second not.
const SERVER_STREAMING_SIZES: [(usize, bool); 2] = [(31_415, true), (92_653, false)];

fn bool_value(value: bool) -> Option<BoolValue> {
    Some(BoolValue { value })
}

/// The outcome of a feature probe, which must be INVALID_ARGUMENT.
fn probe_refused<T>(what: &str, result: Result<T, switchboard::Status>) -> CaseResult {
    match result {
        Err(status) if status.code() == Code::InvalidArgument => Ok(()),
        Ok(_) => Err(format!(
            "{what} (feature probe: uncompressed, expect_compressed=true) succeeded, expected \
             INVALID_ARGUMENT: the server does not implement CompressedRequest (it cannot tell \
             whether a request message was compressed), so this case cannot run against it"
        )),
        Err(status) => Err(format!(
            "{what} (feature probe: uncompressed, expect_compressed=true) failed with {status}, \
             expected INVALID_ARGUMENT"
        )),
    }
}

/// `client_compressed_unary`: the uncompressed probe fails with
/// INVALID_ARGUMENT; then the large request with `expect_compressed: true`
/// sent gzip-compressed, and with `expect_compressed: false` sent
/// uncompressed, both succeed with a 314159-byte payload (blocking stubs:
/// one plain, one `with_compression("gzip")`).
pub fn client_compressed_unary(channel: &Channel) -> CaseResult {
    let plain = blocking_stub(channel);
    let expecting = |compressed: bool| SimpleRequest {
        expect_compressed: bool_value(compressed),
        ..large_request()
    };
    probe_refused("UnaryCall", plain.unary_call(expecting(true)))?;

    let what = "UnaryCall (compressed, expect_compressed=true)";
    let gzip = plain.clone().with_compression(GZIP);
    let response = check::success(what, gzip.unary_call(expecting(true)))?;
    check::payload(what, response.payload.as_ref(), LARGE_RESPONSE_SIZE)?;

    let what = "UnaryCall (uncompressed, expect_compressed=false)";
    let response = check::success(what, plain.unary_call(expecting(false)))?;
    check::payload(what, response.payload.as_ref(), LARGE_RESPONSE_SIZE)
}

/// `server_compressed_unary`: the large request with `response_compressed`
/// true, then false; both succeed with a 314159-byte zero payload (async
/// stub). See the module docs for the compressed-flag check.
pub fn server_compressed_unary(channel: &Channel) -> CaseResult {
    let stub = async_stub(channel);
    for compressed in [true, false] {
        let what = format!("UnaryCall (response_compressed={compressed})");
        let request = SimpleRequest {
            response_compressed: bool_value(compressed),
            ..large_request()
        };
        let response = check::success(&what, block_on(stub.unary_call(request)))?;
        check::payload(&what, response.payload.as_ref(), LARGE_RESPONSE_SIZE)?;
    }
    Ok(())
}

/// `client_compressed_streaming`: the uncompressed probe (27182 zeros,
/// `expect_compressed: true`) fails with INVALID_ARGUMENT; then one
/// StreamingInputCall sends 27182 zeros compressed (`expect_compressed:
/// true`) and 45904 zeros uncompressed (`expect_compressed: false`),
/// half-closes, and succeeds with `aggregated_payload_size` 73086.
///
/// The probe uses the async stub. The second call switches compression off
/// between its two messages, which only the low-level [`ClientCall`] can
/// (`set_message_compression`), with the generated `STREAMING_INPUT_CALL`
/// descriptor.
///
/// [`ClientCall`]: switchboard::call::ClientCall
pub fn client_compressed_streaming(channel: &Channel) -> CaseResult {
    let request = |size: usize, compressed: bool| StreamingInputCallRequest {
        payload: check::zeros(size),
        expect_compressed: bool_value(compressed),
    };
    let probe = futures::stream::iter([request(FIRST_STREAMING_SIZE, true)]);
    probe_refused(
        "StreamingInputCall",
        block_on(async_stub(channel).streaming_input_call(probe)),
    )?;

    let what = "StreamingInputCall (first message compressed, second not)";
    let options = CallOptions::new()
        .with_deadline_after(CALL_TIMEOUT)
        .with_compression(GZIP);
    let outcome = record(
        channel,
        &STREAMING_INPUT_CALL,
        &options,
        Metadata::new(),
        |call| {
            use switchboard::call::ClientCall as _;
            // Compression is on by default on a call with an encoding.
            call.send_message(request(FIRST_STREAMING_SIZE, true));
            call.set_message_compression(false);
            call.send_message(request(SECOND_STREAMING_SIZE, false));
            call.half_close();
        },
    );
    let (response, _) = outcome.single(what)?;
    if response.aggregated_payload_size != COMPRESSED_AGGREGATE {
        return Err(format!(
            "{what}: aggregated_payload_size is {}, expected {COMPRESSED_AGGREGATE}",
            response.aggregated_payload_size
        ));
    }
    Ok(())
}

/// `server_compressed_streaming`: StreamingOutputCall asking for 31415
/// bytes compressed and 92653 bytes uncompressed succeeds with exactly two
/// responses of those sizes, in order (blocking stub). See the module docs
/// for the compressed-flag check.
pub fn server_compressed_streaming(channel: &Channel) -> CaseResult {
    let request = StreamingOutputCallRequest {
        response_parameters: SERVER_STREAMING_SIZES
            .iter()
            .map(|(size, compressed)| ResponseParameters {
                size: *size as i32,
                compressed: bool_value(*compressed),
                ..ResponseParameters::default()
            })
            .collect(),
        ..StreamingOutputCallRequest::default()
    };
    let what = "StreamingOutputCall (first response compressed, second not)";
    let responses = blocking_stub(channel)
        .streaming_output_call(request)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|status| format!("{what} failed ({status}), expected it to succeed"))?;
    let sizes = SERVER_STREAMING_SIZES.map(|(size, _)| size);
    check::payload_sizes(what, responses.iter().map(|r| r.payload.as_ref()), &sizes)
}
