//! The status cases: a requested status code and message come back exactly
//! (`status_code_and_message`, `special_status_message`), and methods or
//! services the server lacks fail with UNIMPLEMENTED
//! (`unimplemented_method`, `unimplemented_service`).

use futures::executor::block_on;
use switchboard::prelude::*;
use switchboard::{Channel, Code, Status};

use super::{CALL_TIMEOUT, CaseResult, async_stub, blocking_stub};
use crate::check;
use crate::pb::unimplemented_service_client::UnimplementedServiceAsyncStub;
use crate::pb::{EchoStatus, Empty, SimpleRequest, StreamingOutputCallRequest};

/// The code the status cases ask for: 2, UNKNOWN.
const ECHO_CODE: Code = Code::Unknown;

/// The message `status_code_and_message` asks for.
const SIMPLE_MESSAGE: &str = "test status message";

/// The message `special_status_message` asks for: whitespace, a BMP and a
/// non-BMP character, all of which must survive the trip.
pub const SPECIAL_MESSAGE: &str =
    "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

fn echo_status(message: &str) -> Option<EchoStatus> {
    Some(EchoStatus {
        code: ECHO_CODE.as_i32(),
        message: message.to_owned(),
    })
}

/// `Ok` if `result` failed with exactly [`ECHO_CODE`] and `message`.
fn echoed<T>(what: &str, result: Result<T, Status>, message: &str) -> CaseResult {
    let status = check::failure(what, result, ECHO_CODE)?;
    check::message(what, &status, message)
}

/// `status_code_and_message`: UnaryCall (blocking stub) and FullDuplexCall
/// (blocking bidi handle, one request then half-close), each asking for
/// code 2 and "test status message", end with exactly that code and
/// message.
pub fn status_code_and_message(channel: &Channel) -> CaseResult {
    let stub = blocking_stub(channel);
    let request = SimpleRequest {
        response_status: echo_status(SIMPLE_MESSAGE),
        ..SimpleRequest::default()
    };
    echoed(
        "UnaryCall with response_status",
        stub.unary_call(request),
        SIMPLE_MESSAGE,
    )?;

    let what = "FullDuplexCall with response_status";
    let call = stub.full_duplex_call();
    let request = StreamingOutputCallRequest {
        response_status: echo_status(SIMPLE_MESSAGE),
        ..StreamingOutputCallRequest::default()
    };
    // If the server ended the call already, `send` fails and `recv` still
    // gives the status.
    let _ = call.send(request);
    call.half_close();
    let end = match call.recv() {
        Some(Ok(response)) => {
            return Err(format!(
                "{what}: got a response ({} bytes), expected the call to end with {ECHO_CODE} \
                 and no response",
                response.payload.map_or(0, |p| p.body.len())
            ));
        }
        Some(Err(status)) => Err::<(), _>(status),
        None => Ok(()),
    };
    echoed(what, end, SIMPLE_MESSAGE)
}

/// `special_status_message`: UnaryCall asking for code 2 and
/// `"\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"`
/// ends with exactly that code and message, whitespace included (async
/// stub).
pub fn special_status_message(channel: &Channel) -> CaseResult {
    let request = SimpleRequest {
        response_status: echo_status(SPECIAL_MESSAGE),
        ..SimpleRequest::default()
    };
    let result = block_on(async_stub(channel).unary_call(request));
    echoed(
        "UnaryCall with a special response_status",
        result,
        SPECIAL_MESSAGE,
    )
}

/// `unimplemented_method`: `grpc.testing.TestService/UnimplementedCall`
/// with an empty request fails with UNIMPLEMENTED (blocking stub).
pub fn unimplemented_method(channel: &Channel) -> CaseResult {
    let result = blocking_stub(channel).unimplemented_call(Empty {});
    check::failure("TestService/UnimplementedCall", result, Code::Unimplemented).map(drop)
}

/// `unimplemented_service`: `grpc.testing.UnimplementedService/
/// UnimplementedCall` with an empty request fails with UNIMPLEMENTED (async
/// stub).
pub fn unimplemented_service(channel: &Channel) -> CaseResult {
    let stub =
        UnimplementedServiceAsyncStub::new(channel.clone()).with_deadline_after(CALL_TIMEOUT);
    let result = block_on(stub.unimplemented_call(Empty {}));
    check::failure(
        "UnimplementedService/UnimplementedCall",
        result,
        Code::Unimplemented,
    )
    .map(drop)
}
