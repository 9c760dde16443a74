//! The wire layer of the tonic peer: a service wrapper, [`Wire`], that sits
//! between the HTTP/2 server and tonic's generated `TestServiceServer` and
//! does what tonic's handler API cannot:
//!
//! - **client compression, checked for real.** The request body is wrapped
//!   in `request::RequestFrames`, which reads the compressed-flag byte of
//!   every request frame as it streams past (before tonic decodes it) and
//!   appends it to the call's [`MessageFlags`]. Handlers take one flag per
//!   message they receive, in order, and compare it with the message's
//!   `expect_compressed`.
//! - **server compression per message.** tonic compresses all or none of a
//!   response stream; the interop cases need it per message
//!   (`ResponseParameters.compressed`). So tonic itself never compresses
//!   responses (`send_compressed` stays off); handlers plan one flag per
//!   response message in [`MessageFlags`] before yielding it, and
//!   `response::ResponseFrames` gzips exactly the planned frames. When the
//!   client's `grpc-accept-encoding` lists gzip the response carries
//!   `grpc-encoding: gzip` (as tonic's own does) and unplanned messages go
//!   out with the flag clear; otherwise nothing is compressed.
//! - **Echo Metadata.** `x-grpc-test-echo-initial` is copied into the
//!   response headers and `x-grpc-test-echo-trailing-bin` into the trailers
//!   (into the headers of a trailers-only response).
//!
//! Invariants: frames are never reordered, split or merged across data
//! chunks beyond what reassembly needs; both flag queues are FIFO in wire
//! order; nothing here panics on malformed input (a truncated frame passes
//! through unchanged and tonic reports it).

pub(crate) mod request;
pub(crate) mod response;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use http::{HeaderMap, HeaderName, HeaderValue};
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service};
use tonic::server::NamedService;

use crate::metadata::{ECHO_INITIAL_KEY, ECHO_TRAILING_KEY};

/// The per-call link between [`Wire`] and the handlers: which request
/// messages arrived compressed, and which response messages to compress.
///
/// [`Wire`] puts one into the request extensions of every call; a handler
/// finds it with `request.extensions().get::<MessageFlags>()`.
#[derive(Clone, Debug, Default)]
pub struct MessageFlags {
    queues: Arc<Mutex<Queues>>,
}

#[derive(Debug, Default)]
struct Queues {
    /// Compressed flag of each request frame seen and not yet taken.
    received: VecDeque<bool>,
    /// Whether to compress each response message planned and not yet sent.
    planned: VecDeque<bool>,
}

impl MessageFlags {
    /// Empty queues.
    pub fn new() -> MessageFlags {
        MessageFlags::default()
    }

    /// Takes the compressed flag of the oldest request message not taken
    /// yet. `None` if no further frame header has arrived.
    ///
    /// A frame's header arrives before its message can be decoded, so a
    /// handler that takes one flag per decoded message always finds it.
    pub fn next_received(&self) -> Option<bool> {
        self.lock().received.pop_front()
    }

    /// Plans the next response message (after those already planned):
    /// `compress` says whether it should go out compressed. Call it just
    /// before handing that message to tonic.
    pub fn plan_response(&self, compress: bool) {
        self.lock().planned.push_back(compress);
    }

    pub(crate) fn record_received(&self, compressed: bool) {
        self.lock().received.push_back(compressed);
    }

    /// Takes the plan of the next response message; unplanned messages are
    /// not compressed.
    pub(crate) fn next_planned(&self) -> bool {
        self.lock().planned.pop_front().unwrap_or(false)
    }

    fn lock(&self) -> MutexGuard<'_, Queues> {
        // The queues stay consistent even if a holder panicked: each
        // operation is a single push or pop.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Wraps a gRPC service (tonic's generated `TestServiceServer`) with the
/// compression and metadata handling described in the [module docs](self).
#[derive(Clone, Debug)]
pub struct Wire<S> {
    inner: S,
}

impl<S> Wire<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Wire<S> {
        Wire { inner }
    }
}

impl<S: NamedService> NamedService for Wire<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for Wire<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // Call the instance that was polled ready; leave a fresh clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);

        let echo = Echo::from_request(request.headers());
        let accepts_gzip = accepts_gzip(request.headers());
        let flags = MessageFlags::new();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(flags.clone());
        let body = Body::new(request::RequestFrames::new(body, flags.clone()));
        let request = http::Request::from_parts(parts, body);

        Box::pin(async move {
            let response = inner.call(request).await?;
            Ok(finish_response(
                response,
                echo,
                accepts_gzip.then_some(flags),
            ))
        })
    }
}

/// The echoed metadata of one call.
#[derive(Debug, Default)]
struct Echo {
    initial: Option<HeaderValue>,
    trailing: Option<HeaderValue>,
}

impl Echo {
    fn from_request(headers: &HeaderMap) -> Echo {
        Echo {
            initial: headers.get(ECHO_INITIAL_KEY).cloned(),
            trailing: headers.get(ECHO_TRAILING_KEY).cloned(),
        }
    }
}

/// Adds the echoed metadata to `response` and, if `compression` is set (the
/// client accepts gzip), announces gzip and compresses the planned messages.
fn finish_response(
    response: http::Response<Body>,
    echo: Echo,
    compression: Option<MessageFlags>,
) -> http::Response<Body> {
    let (mut parts, body) = response.into_parts();
    if let Some(value) = echo.initial {
        parts
            .headers
            .insert(HeaderName::from_static(ECHO_INITIAL_KEY), value);
    }
    if parts.headers.contains_key("grpc-status") {
        // Trailers-only: there is no body and no trailers frame.
        if let Some(value) = echo.trailing {
            parts
                .headers
                .insert(HeaderName::from_static(ECHO_TRAILING_KEY), value);
        }
        return http::Response::from_parts(parts, body);
    }
    if compression.is_some() {
        parts
            .headers
            .insert("grpc-encoding", HeaderValue::from_static("gzip"));
    }
    let body = Body::new(response::ResponseFrames::new(
        body,
        compression,
        echo.trailing,
    ));
    http::Response::from_parts(parts, body)
}

/// Whether the request's `grpc-accept-encoding` lists gzip.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all("grpc-accept-encoding")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|encoding| encoding.trim().eq_ignore_ascii_case("gzip"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_fifo_and_unplanned_responses_stay_uncompressed() {
        let flags = MessageFlags::new();
        flags.record_received(true);
        flags.record_received(false);
        assert_eq!(flags.next_received(), Some(true));
        assert_eq!(flags.next_received(), Some(false));
        assert_eq!(flags.next_received(), None);

        flags.plan_response(true);
        flags.plan_response(false);
        assert!(flags.next_planned());
        assert!(!flags.next_planned());
        assert!(!flags.next_planned());
    }

    #[test]
    fn gzip_is_found_in_any_accept_encoding_entry() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert("grpc-accept-encoding", HeaderValue::from_static("identity"));
        assert!(!accepts_gzip(&headers));
        headers.append(
            "grpc-accept-encoding",
            HeaderValue::from_static("deflate, GZIP"),
        );
        assert!(accepts_gzip(&headers));
    }
}
