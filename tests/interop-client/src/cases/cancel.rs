//! The cases that end a call early: by the client's cancel
//! (`cancel_after_begin`, `cancel_after_first_response`) or by its deadline
//! (`timeout_on_sleeping_server`). Each checks the status the call ends
//! with, and that it does end.

use std::time::Duration;

use futures::StreamExt as _;
use futures::executor::block_on;
use switchboard::call::ClientCall as _;
use switchboard::prelude::*;
use switchboard::{CallOptions, Channel, Code, Metadata, Status};

use super::streaming::output_request;
use super::{CALL_TIMEOUT, CaseResult, blocking_stub};
use crate::check;
use crate::pb::test_service_client::{STREAMING_INPUT_CALL, TestServiceAsyncStub};
use crate::pb::{Empty, StreamingOutputCallRequest};
use crate::recorder::record;

/// Request payload size of the cancel and timeout cases.
const REQUEST_SIZE: usize = 27_182;

/// Response size `cancel_after_first_response` asks for.
const FIRST_RESPONSE_SIZE: usize = 31_415;

/// The deadline of `timeout_on_sleeping_server`.
const SLEEPING_SERVER_TIMEOUT: Duration = Duration::from_millis(1);

/// `cancel_after_begin`: a StreamingInputCall cancelled right after it
/// started, before any request message, completes with CANCELLED.
///
/// An EmptyCall first makes sure the channel is connected, so the cancel
/// ends a real HTTP/2 stream whose headers went out (not a call still
/// waiting for a connection). The call itself uses the low-level call API
/// with the generated `STREAMING_INPUT_CALL` descriptor: the stubs cancel
/// a client-streaming call only by dropping it, which leaves no status to
/// check.
pub fn cancel_after_begin(channel: &Channel) -> CaseResult {
    check::success(
        "EmptyCall (connecting the channel first)",
        blocking_stub(channel).empty_call(Empty {}),
    )?;
    let options = CallOptions::new().with_deadline_after(CALL_TIMEOUT);
    let outcome = record(
        channel,
        &STREAMING_INPUT_CALL,
        &options,
        Metadata::new(),
        |call| {
            call.cancel(Status::cancelled(
                "cancel_after_begin: cancelled by the client",
            ));
        },
    );
    let what = "StreamingInputCall cancelled after it began";
    if !outcome.messages.is_empty() {
        return Err(format!(
            "{what}: got {} responses, expected none",
            outcome.messages.len()
        ));
    }
    check::failure(what, Err::<(), _>(outcome.status), Code::Cancelled).map(drop)
}

/// `cancel_after_first_response`: a FullDuplexCall sends one request
/// (27182 zeros, asking for 31415 bytes), receives its response, is
/// cancelled, and completes with CANCELLED and no further response
/// (blocking bidi handle, `cancel()`).
pub fn cancel_after_first_response(channel: &Channel) -> CaseResult {
    let what = "FullDuplexCall cancelled after the first response";
    let call = blocking_stub(channel).full_duplex_call();
    let request = StreamingOutputCallRequest {
        payload: check::zeros(REQUEST_SIZE),
        ..output_request(&[FIRST_RESPONSE_SIZE])
    };
    if let Err(status) = call.send(request) {
        return Err(format!("{what}: sending the request failed ({status})"));
    }
    match call.recv() {
        Some(Ok(response)) => check::payload(what, response.payload.as_ref(), FIRST_RESPONSE_SIZE)?,
        Some(Err(status)) => {
            return Err(format!(
                "{what}: the call failed ({status}) before the first response"
            ));
        }
        None => {
            return Err(format!(
                "{what}: the call ended OK before the first response"
            ));
        }
    }
    call.cancel();
    match call.recv() {
        Some(Err(status)) if status.code() == Code::Cancelled => Ok(()),
        Some(Err(status)) => Err(format!("{what}: ended with {status}, expected CANCELLED")),
        Some(Ok(_)) => Err(format!(
            "{what}: a response arrived after the cancel, expected the call to end with CANCELLED"
        )),
        None => Err(format!("{what}: ended OK, expected CANCELLED")),
    }
}

/// `timeout_on_sleeping_server`: a FullDuplexCall with a 1 ms deadline
/// sends one request (27182 zeros, asking for no response) and does not
/// half-close, then waits; the call completes with DEADLINE_EXCEEDED (async
/// stub, `with_deadline_after`).
///
/// The client's own deadline must end it: a server may not enforce
/// `grpc-timeout` on a streaming call. A call whose request could not even
/// be sent in time ends the same way.
pub fn timeout_on_sleeping_server(channel: &Channel) -> CaseResult {
    let what = "FullDuplexCall with a 1 ms deadline";
    let stub =
        TestServiceAsyncStub::new(channel.clone()).with_deadline_after(SLEEPING_SERVER_TIMEOUT);
    let request = StreamingOutputCallRequest {
        payload: check::zeros(REQUEST_SIZE),
        ..StreamingOutputCallRequest::default()
    };
    // One request, then a stream that never ends: no half-close.
    let requests = futures::stream::iter([request]).chain(futures::stream::pending());
    let mut responses = stub.full_duplex_call(requests);
    match block_on(responses.next()) {
        Some(Err(status)) if status.code() == Code::DeadlineExceeded => Ok(()),
        Some(Err(status)) => Err(format!(
            "{what}: ended with {status}, expected DEADLINE_EXCEEDED"
        )),
        Some(Ok(_)) => Err(format!(
            "{what}: got a response, expected the call to end with DEADLINE_EXCEEDED"
        )),
        None => Err(format!("{what}: ended OK, expected DEADLINE_EXCEEDED")),
    }
}
