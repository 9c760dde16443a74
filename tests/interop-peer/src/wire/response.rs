//! The response side of [`Wire`](super::Wire): a body wrapper that gzips
//! the response messages the handler planned to compress, and appends the
//! echoed `x-grpc-test-echo-trailing-bin` entry to the trailers.
//!
//! Without compression (the client does not accept gzip) data frames pass
//! through untouched. With it, data is reassembled into whole gRPC frames;
//! each complete frame is rewritten (compressed, flag set) or passed on as
//! is, and all frames completed by one inner chunk leave as one chunk.
//! Bytes of an incomplete frame left at the end are passed on unchanged, so
//! the client sees the same truncation tonic produced.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::Status;
use tonic::body::Body;

use super::MessageFlags;
use crate::frame::{self, FrameBuffer};
use crate::metadata::ECHO_TRAILING_KEY;

/// A response body that compresses planned messages and extends trailers.
pub(crate) struct ResponseFrames {
    inner: Body,
    /// Set when the client accepts gzip: the plan to follow.
    compression: Option<MessageFlags>,
    buffer: FrameBuffer,
    trailing_echo: Option<HeaderValue>,
    /// Trailers held back while leftover bytes go out first.
    held_trailers: Option<HeaderMap>,
    inner_done: bool,
}

impl ResponseFrames {
    /// Wraps `inner`; compresses per `compression`'s plan if set, and
    /// appends `trailing_echo` to the trailers.
    pub(crate) fn new(
        inner: Body,
        compression: Option<MessageFlags>,
        trailing_echo: Option<HeaderValue>,
    ) -> ResponseFrames {
        ResponseFrames {
            inner,
            compression,
            buffer: FrameBuffer::new(),
            trailing_echo,
            held_trailers: None,
            inner_done: false,
        }
    }

    /// The whole frames now in the buffer, each compressed if planned.
    fn rewrite_complete_frames(&mut self, flags: &MessageFlags) -> Bytes {
        let mut out = BytesMut::new();
        while let Some(frame) = self.buffer.next_frame() {
            // One plan entry per message, whatever happens to it.
            let planned = flags.next_planned();
            if planned
                && !frame.compressed
                && let Ok(gzipped) = frame::gzip(&frame.payload)
                && frame::encode_frame(true, &gzipped, &mut out).is_ok()
            {
                continue;
            }
            // Cannot fail: the payload came out of a frame with a 4-byte
            // length.
            let _ = frame::encode_frame(frame.compressed, &frame.payload, &mut out);
        }
        out.freeze()
    }

    fn extend_trailers(&mut self, mut trailers: HeaderMap) -> HeaderMap {
        if let Some(value) = self.trailing_echo.take() {
            trailers.insert(HeaderName::from_static(ECHO_TRAILING_KEY), value);
        }
        trailers
    }
}

impl HttpBody for ResponseFrames {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        loop {
            if this.inner_done {
                return Poll::Ready(this.held_trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(status)) => return Poll::Ready(Some(Err(status))),
                None => {
                    this.inner_done = true;
                    let rest = this.buffer.take_rest();
                    if !rest.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(rest))));
                    }
                    continue;
                }
            };
            let frame = match frame.into_data() {
                Ok(data) => {
                    let Some(flags) = this.compression.clone() else {
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    };
                    this.buffer.push(&data);
                    let out = this.rewrite_complete_frames(&flags);
                    if out.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(Frame::data(out))));
                }
                Err(frame) => frame,
            };
            match frame.into_trailers() {
                Ok(trailers) => {
                    let trailers = this.extend_trailers(trailers);
                    let rest = this.buffer.take_rest();
                    if rest.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                    this.inner_done = true;
                    this.held_trailers = Some(trailers);
                    return Poll::Ready(Some(Ok(Frame::data(rest))));
                }
                // Neither data nor trailers: pass it on as is.
                Err(other) => return Poll::Ready(Some(Ok(other))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner_done && self.held_trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // Compression changes the length.
        SizeHint::default()
    }
}
