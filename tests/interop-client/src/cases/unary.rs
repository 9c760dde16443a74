//! The plain unary cases: `empty_unary` (blocking stub) and `large_unary`
//! (async stub).

use switchboard::Channel;

use super::{CaseResult, async_stub, blocking_stub};
use crate::check;
use crate::pb::{Empty, SimpleRequest};

/// Response payload size the large unary cases ask for.
pub(crate) const LARGE_RESPONSE_SIZE: usize = 314_159;

/// Request payload size the large unary cases send.
pub(crate) const LARGE_REQUEST_SIZE: usize = 271_828;

/// The spec's large request: `response_size: 314159`, a payload of 271828
/// zeros. The compression and metadata cases start from it too.
pub(crate) fn large_request() -> SimpleRequest {
    SimpleRequest {
        response_size: LARGE_RESPONSE_SIZE as i32,
        payload: check::zeros(LARGE_REQUEST_SIZE),
        ..SimpleRequest::default()
    }
}

/// `empty_unary`: EmptyCall with the default `Empty` succeeds and returns
/// an `Empty` (blocking stub).
///
/// With prost a response is never null; decoding it as `Empty` is the
/// check that there is one.
pub fn empty_unary(channel: &Channel) -> CaseResult {
    let response = check::success("EmptyCall", blocking_stub(channel).empty_call(Empty {}))?;
    if response != (Empty {}) {
        return Err(format!(
            "EmptyCall: got {response:?}, expected an empty message"
        ));
    }
    Ok(())
}

/// `large_unary`: UnaryCall with 271828 zero bytes asking for 314159
/// succeeds, and the response payload is 314159 zero bytes (async stub).
pub fn large_unary(channel: &Channel) -> CaseResult {
    let call = async_stub(channel).unary_call(large_request());
    let response = check::success("UnaryCall", futures::executor::block_on(call))?;
    check::payload("UnaryCall", response.payload.as_ref(), LARGE_RESPONSE_SIZE)
}
