//! The streaming cases: `client_streaming` (async stub, a `Stream` of
//! requests), `server_streaming` (blocking stub, an iterator of responses),
//! `ping_pong` (blocking bidi handle) and `empty_stream` (async bidi).

use futures::StreamExt as _;
use futures::executor::block_on;
use switchboard::Channel;

use super::{CaseResult, async_stub, blocking_stub};
use crate::check;
use crate::pb::{
    ResponseParameters, StreamingInputCallRequest, StreamingOutputCallRequest,
    StreamingOutputCallResponse,
};

/// Request payload sizes of `client_streaming` and `ping_pong`.
const REQUEST_SIZES: [usize; 4] = [27_182, 8, 1_828, 45_904];

/// Response payload sizes of `server_streaming` and `ping_pong`.
pub(crate) const RESPONSE_SIZES: [usize; 4] = [31_415, 9, 2_653, 58_979];

/// The sum of [`REQUEST_SIZES`].
const AGGREGATED_SIZE: i32 = 74_922;

/// A request asking for one response per size in `sizes`.
pub(crate) fn output_request(sizes: &[usize]) -> StreamingOutputCallRequest {
    StreamingOutputCallRequest {
        response_parameters: sizes
            .iter()
            .map(|size| ResponseParameters {
                size: *size as i32,
                ..ResponseParameters::default()
            })
            .collect(),
        ..StreamingOutputCallRequest::default()
    }
}

/// `client_streaming`: StreamingInputCall with payloads of 27182, 8, 1828
/// and 45904 zeros, then half-close; the call succeeds with
/// `aggregated_payload_size` 74922 (async stub).
pub fn client_streaming(channel: &Channel) -> CaseResult {
    let requests = REQUEST_SIZES.map(|size| StreamingInputCallRequest {
        payload: check::zeros(size),
        ..StreamingInputCallRequest::default()
    });
    let call = async_stub(channel).streaming_input_call(futures::stream::iter(requests));
    let response = check::success("StreamingInputCall", block_on(call))?;
    if response.aggregated_payload_size != AGGREGATED_SIZE {
        return Err(format!(
            "StreamingInputCall: aggregated_payload_size is {}, expected {AGGREGATED_SIZE}",
            response.aggregated_payload_size
        ));
    }
    Ok(())
}

/// `server_streaming`: StreamingOutputCall asking for 31415, 9, 2653 and
/// 58979 bytes succeeds with exactly four responses of those sizes, in
/// order (blocking stub).
pub fn server_streaming(channel: &Channel) -> CaseResult {
    let responses = blocking_stub(channel).streaming_output_call(output_request(&RESPONSE_SIZES));
    let responses = responses
        .collect::<Result<Vec<StreamingOutputCallResponse>, _>>()
        .map_err(|status| {
            format!("StreamingOutputCall failed ({status}), expected it to succeed")
        })?;
    check::payload_sizes(
        "StreamingOutputCall",
        responses.iter().map(|r| r.payload.as_ref()),
        &RESPONSE_SIZES,
    )
}

/// `ping_pong`: on one FullDuplexCall, four rounds of one request (27182,
/// 8, 1828, 45904 zeros) and its one response (31415, 9, 2653, 58979
/// bytes), each request sent after the previous reply; then half-close,
/// and the call ends OK with no further response (blocking bidi handle).
pub fn ping_pong(channel: &Channel) -> CaseResult {
    let call = blocking_stub(channel).full_duplex_call();
    for (round, (request_size, response_size)) in
        REQUEST_SIZES.iter().zip(RESPONSE_SIZES).enumerate()
    {
        let what = format!("FullDuplexCall, round {}", round + 1);
        let request = StreamingOutputCallRequest {
            payload: check::zeros(*request_size),
            ..output_request(&[response_size])
        };
        if let Err(status) = call.send(request) {
            return Err(format!("{what}: sending the request failed ({status})"));
        }
        match call.recv() {
            Some(Ok(response)) => check::payload(&what, response.payload.as_ref(), response_size)?,
            Some(Err(status)) => {
                return Err(format!(
                    "{what}: the call failed ({status}) before the reply"
                ));
            }
            None => return Err(format!("{what}: the call ended OK before the reply")),
        }
    }
    call.half_close();
    match call.recv() {
        None => Ok(()),
        Some(Ok(response)) => Err(format!(
            "FullDuplexCall: a fifth response ({} bytes) after half-close, expected exactly four",
            response.payload.map_or(0, |p| p.body.len())
        )),
        Some(Err(status)) => Err(format!(
            "FullDuplexCall failed after half-close ({status}), expected it to end OK"
        )),
    }
}

/// `empty_stream`: FullDuplexCall with no request, half-closed at once,
/// succeeds with exactly zero responses (async stub).
pub fn empty_stream(channel: &Channel) -> CaseResult {
    let responses = async_stub(channel)
        .full_duplex_call(futures::stream::empty::<StreamingOutputCallRequest>());
    let responses: Vec<_> = block_on(responses.collect());
    let mut count = 0;
    for response in responses {
        match response {
            Ok(_) => count += 1,
            Err(status) => {
                return Err(format!(
                    "FullDuplexCall failed ({status}) after {count} responses, expected it to \
                     succeed with none"
                ));
            }
        }
    }
    if count != 0 {
        return Err(format!(
            "FullDuplexCall: got {count} responses, expected exactly zero"
        ));
    }
    Ok(())
}
