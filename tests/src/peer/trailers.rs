//! Adds extra entries to the trailers of a successful gRPC response.
//!
//! tonic writes the trailers of an OK response itself (`grpc-status: 0`) and
//! gives a unary handler no way to add to them, so the echo service wraps the
//! response body and merges the echoed `x-echo-*` entries into the trailers
//! frame as it passes by. Trailers-only responses (errors) carry no trailers
//! frame and pass through unchanged.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::Status;
use tonic::body::Body;

/// Returns `response` with `extra` appended to its trailers frame, if any.
pub(crate) fn with_extra_trailers(
    response: http::Response<Body>,
    extra: HeaderMap,
) -> http::Response<Body> {
    if extra.is_empty() {
        return response;
    }
    response.map(|inner| {
        Body::new(ExtraTrailers {
            inner,
            extra: Some(extra),
        })
    })
}

/// Body wrapper that extends the inner body's trailers with `extra`.
struct ExtraTrailers {
    inner: Body,
    extra: Option<HeaderMap>,
}

impl HttpBody for ExtraTrailers {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        match frame.into_trailers() {
            Ok(mut trailers) => {
                if let Some(extra) = this.extra.take() {
                    for (name, value) in &extra {
                        trailers.append(name.clone(), value.clone());
                    }
                }
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
            Err(frame) => Poll::Ready(Some(Ok(frame))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
