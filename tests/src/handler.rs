//! The behaviour of `Echo/Unary`: counting, sleeping, echoing `x-echo-*`
//! metadata, and answering with the echoed message or the requested error
//! status.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Response, Status};

use crate::counters::Counters;
use crate::echo::{EchoRequest, EchoResponse};

/// Prefix of the request metadata keys that are echoed back.
const ECHO_PREFIX: &str = "x-echo-";

/// The entries of `headers` whose name starts with `x-echo-` (ASCII and `-bin`).
pub(crate) fn echo_headers(headers: &HeaderMap) -> HeaderMap {
    let mut echoed = HeaderMap::new();
    for (name, value) in headers {
        if name.as_str().starts_with(ECHO_PREFIX) {
            echoed.append(name.clone(), value.clone());
        }
    }
    echoed
}

/// Handles one `Echo/Unary` call.
///
/// The `x-echo-*` entries go into the response's initial metadata on success,
/// or into the status's metadata (trailers-only response) on failure. The
/// copy into the trailers of a successful response is done by the service
/// (see `crate::trailers`), since a tonic handler cannot set those.
pub(crate) async fn unary(
    counters: Counters,
    request: Request<EchoRequest>,
) -> Result<Response<EchoResponse>, Status> {
    let guard = counters.start_call();
    let echoed = echo_headers(request.metadata().as_ref());
    let request = request.into_inner();

    if request.sleep_ms > 0 {
        tokio::time::sleep(Duration::from_millis(request.sleep_ms)).await;
    }

    let result = if request.status_code != 0 {
        let mut metadata = MetadataMap::from_headers(echoed);
        metadata.insert("x-error-trailer", "yes".parse().expect("static value"));
        let mut details = b"details:".to_vec();
        details.extend_from_slice(request.message.as_bytes());
        Err(Status::with_details_and_metadata(
            Code::from_i32(request.status_code),
            request.status_message,
            Bytes::from(details),
            metadata,
        ))
    } else {
        let payload = if request.response_size > 0 {
            vec![0xAB; request.response_size as usize]
        } else {
            request.payload
        };
        let mut response = Response::new(EchoResponse {
            message: request.message,
            payload,
        });
        *response.metadata_mut() = MetadataMap::from_headers(echoed);
        Ok(response)
    };
    guard.complete();
    result
}
