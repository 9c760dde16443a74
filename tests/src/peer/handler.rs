//! The behaviour of the `Echo` methods: counting, waiting at the gate
//! (see [`Counters::hold`]), sleeping, echoing `x-echo-*` metadata, and
//! answering with the echoed message(s) or the requested error status.
//!
//! Streaming responses are produced lazily, one message each time tonic polls
//! for the next (which it only does when HTTP/2 flow control has room), so a
//! client that stops reading stalls the handler instead of making the server
//! buffer the whole stream. The [`CallGuard`] of a streaming response lives in
//! the response stream: dropping the stream early (client cancelled,
//! RST_STREAM, connection lost) counts the call as cancelled.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt as _};
use http::HeaderMap;
use tonic::codegen::BoxStream;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::peer::counters::{CallGuard, Counters};
use crate::peer::echo::{EchoRequest, EchoResponse, StreamRequest};

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
/// (see `crate::peer::trailers`), since a tonic handler cannot set those.
pub(crate) async fn unary(
    counters: Counters,
    request: Request<EchoRequest>,
) -> Result<Response<EchoResponse>, Status> {
    let guard = counters.start_call();
    counters.pass_gate().await;
    let echoed = echo_headers(request.metadata().as_ref());
    let request = request.into_inner();

    if request.sleep_ms > 0 {
        tokio::time::sleep(Duration::from_millis(request.sleep_ms)).await;
    }

    let result = if request.status_code != 0 {
        Err(requested_status(
            request.status_code,
            request.status_message,
            &request.message,
            echoed,
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
            ..EchoResponse::default()
        });
        *response.metadata_mut() = MetadataMap::from_headers(echoed);
        Ok(response)
    };
    guard.complete();
    result
}

/// The error status a request asked for: `code` and `message`, details
/// `details:<echoed>`, and metadata `extra` plus `x-error-trailer: yes`.
fn requested_status(code: i32, message: String, echoed: &str, extra: HeaderMap) -> Status {
    let mut metadata = MetadataMap::from_headers(extra);
    metadata.insert("x-error-trailer", "yes".parse().expect("static value"));
    let mut details = b"details:".to_vec();
    details.extend_from_slice(echoed.as_bytes());
    Status::with_details_and_metadata(
        Code::from_i32(code),
        message,
        Bytes::from(details),
        metadata,
    )
}

/// A response whose initial metadata is `echoed`.
fn with_metadata<T>(message: T, echoed: HeaderMap) -> Response<T> {
    let mut response = Response::new(message);
    *response.metadata_mut() = MetadataMap::from_headers(echoed);
    response
}

async fn sleep_ms(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// Handles one `Echo/ServerStream` call: `count` messages of `size` bytes of
/// `0xAB`, `sleep_ms` apart, then OK or the requested status.
///
/// The `x-echo-*` entries go into the initial metadata; the service copies
/// them into the trailers, also those of a requested error status.
pub(crate) async fn server_stream(
    counters: Counters,
    request: Request<StreamRequest>,
) -> Result<Response<BoxStream<EchoResponse>>, Status> {
    struct State {
        request: StreamRequest,
        next: u32,
        guard: CallGuard,
    }

    let guard = counters.start_call();
    counters.pass_gate().await;
    let echoed = echo_headers(request.metadata().as_ref());
    let state = State {
        request: request.into_inner(),
        next: 0,
        guard,
    };
    // `None` once the stream has ended with an error status.
    let responses = stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        let request = &state.request;
        if state.next < request.count {
            if state.next > 0 {
                sleep_ms(request.sleep_ms).await;
            }
            let response = EchoResponse {
                message: request.message.clone(),
                payload: vec![0xAB; request.size as usize],
                index: state.next,
                total_bytes: 0,
            };
            state.next += 1;
            return Some((Ok(response), Some(state)));
        }
        let State { request, guard, .. } = state;
        guard.complete();
        if request.status_code == 0 {
            return None;
        }
        let status = requested_status(
            request.status_code,
            request.status_message,
            &request.message,
            HeaderMap::new(),
        );
        Some((Err(status), None))
    });
    Ok(with_metadata(responses.boxed(), echoed))
}

/// Handles one `Echo/ClientStream` call: reads every request message, then
/// answers with their count (as `message`), the sum of their payload lengths
/// and the last payload.
///
/// Each request message's `sleep_ms` is slept after reading it; a request
/// message with `status_code != 0` then fails the call at once, without
/// reading further. Metadata is echoed as by [`unary`]. A request stream that
/// fails (reset, malformed or oversized message) ends the call with that
/// status and counts it as cancelled.
pub(crate) async fn client_stream(
    counters: Counters,
    request: Request<Streaming<EchoRequest>>,
) -> Result<Response<EchoResponse>, Status> {
    let guard = counters.start_call();
    counters.pass_gate().await;
    let echoed = echo_headers(request.metadata().as_ref());
    let mut requests = request.into_inner();

    let mut count: u64 = 0;
    let mut total_bytes: u64 = 0;
    let mut last_payload = Vec::new();
    // On a read error the guard is dropped unfinished: cancelled.
    while let Some(request) = requests.message().await? {
        count += 1;
        total_bytes += request.payload.len() as u64;
        sleep_ms(request.sleep_ms).await;
        if request.status_code != 0 {
            guard.complete();
            return Err(requested_status(
                request.status_code,
                request.status_message,
                &request.message,
                echoed,
            ));
        }
        last_payload = request.payload;
    }

    let response = EchoResponse {
        message: count.to_string(),
        payload: last_payload,
        total_bytes,
        index: 0,
    };
    guard.complete();
    Ok(with_metadata(response, echoed))
}

/// Handles one `Echo/Bidi` call: one response per request message, as
/// [`unary`] would answer it, plus its `index` and the running `total_bytes`
/// of the request payloads. Each request message's `sleep_ms` is slept
/// before answering it; one with `status_code != 0` ends the stream with that
/// status instead. The client's half-close ends the stream with OK.
///
/// Metadata is echoed as by [`server_stream`]. A request stream that fails
/// ends the response stream with that status and counts as cancelled.
pub(crate) async fn bidi(
    counters: Counters,
    request: Request<Streaming<EchoRequest>>,
) -> Result<Response<BoxStream<EchoResponse>>, Status> {
    struct State {
        requests: Streaming<EchoRequest>,
        index: u32,
        total_bytes: u64,
        guard: CallGuard,
    }

    let guard = counters.start_call();
    counters.pass_gate().await;
    let echoed = echo_headers(request.metadata().as_ref());
    let state = State {
        requests: request.into_inner(),
        index: 0,
        total_bytes: 0,
        guard,
    };
    // `None` once the stream has ended with an error status.
    let responses = stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        let request = match state.requests.message().await {
            Ok(Some(request)) => request,
            Ok(None) => {
                state.guard.complete();
                return None;
            }
            // The guard is dropped unfinished: cancelled.
            Err(status) => return Some((Err(status), None)),
        };
        state.total_bytes += request.payload.len() as u64;
        sleep_ms(request.sleep_ms).await;
        if request.status_code != 0 {
            state.guard.complete();
            let status = requested_status(
                request.status_code,
                request.status_message,
                &request.message,
                HeaderMap::new(),
            );
            return Some((Err(status), None));
        }
        let payload = if request.response_size > 0 {
            vec![0xAB; request.response_size as usize]
        } else {
            request.payload
        };
        let response = EchoResponse {
            message: request.message,
            payload,
            index: state.index,
            total_bytes: state.total_bytes,
        };
        state.index += 1;
        Some((Ok(response), Some(state)))
    });
    Ok(with_metadata(responses.boxed(), echoed))
}
