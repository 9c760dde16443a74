//! The request side of [`Wire`](super::Wire): a body wrapper that records
//! the compressed flag of every request frame in the call's
//! [`MessageFlags`] as the bytes stream past to tonic's decoder.
//!
//! It only observes: every frame of the inner body is passed on unchanged
//! and unbuffered, so flow control and tonic's own checks (size limits,
//! unknown flags, truncation) behave exactly as without it.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::Status;
use tonic::body::Body;

use super::MessageFlags;
use crate::frame::FrameScanner;

/// A request body that reports each frame header to [`MessageFlags`].
pub(crate) struct RequestFrames {
    inner: Body,
    scanner: FrameScanner,
    flags: MessageFlags,
}

impl RequestFrames {
    /// Wraps `inner`, reporting into `flags`.
    pub(crate) fn new(inner: Body, flags: MessageFlags) -> RequestFrames {
        RequestFrames {
            inner,
            scanner: FrameScanner::new(),
            flags,
        }
    }
}

impl HttpBody for RequestFrames {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let flags = &this.flags;
            this.scanner
                .scan(data, |header| flags.record_received(header.compressed));
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
