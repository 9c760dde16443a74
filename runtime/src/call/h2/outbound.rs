//! The send side of an h2 call (layer: call).
//!
//! Owns [`Outbound`]: the request stream while the call may send on it,
//! encoded messages not yet handed to h2 (coalesced into one DATA frame),
//! half-close, the sender waiting for window, and what was sent while the
//! call may still be retried transparently. It never blocks and never runs
//! user code; its owner holds its lock.

use std::task::Waker;

use bytes::{Bytes, BytesMut};
use h2::SendStream;

use crate::call::replay::Replay;
use crate::transport::CallClaim;
use crate::transport::keepalive::ActiveStream;

/// Queued outbound bytes that are flushed at once rather than by the
/// flush task.
pub(super) const FLUSH_THRESHOLD: usize = 32 * 1024;

/// How much send window a call asks h2 for while a sender waits to send.
pub(super) const OUTBOUND_RESERVE: usize = 64 * 1024;

/// The send side of one call.
#[derive(Default)]
pub(super) struct Outbound {
    /// The request stream; `None` before it opened, between a refused
    /// stream and its retry, and once the call ended.
    pub(super) stream: Option<SendStream<Bytes>>,
    /// With keepalive on, counts `stream` on its connection (an open call
    /// keeps the connection's keepalive pinging); dropped with it.
    pub(super) active: Option<ActiveStream>,
    /// Counts the call on its connection's load until it ends.
    pub(super) claim: Option<CallClaim>,
    /// The caller said no more messages follow.
    pub(super) half_closed: bool,
    /// The stream is over for sending: reset, or the call closed.
    pub(super) done: bool,
    /// A sender waiting in `poll_ready`, woken when the stream ends.
    pub(super) ready_waker: Option<Waker>,
    /// Encoded messages not yet handed to h2 (see `send_message`).
    pub(super) pending: BytesMut,
    /// A flush task is queued on the runtime.
    pub(super) flush_scheduled: bool,
    /// What was sent, while the call may still be retried transparently.
    pub(super) replay: Option<Replay>,
}

impl Outbound {
    /// Queues one encoded message; an empty queue adopts its buffer.
    pub(super) fn queue(&mut self, frame: BytesMut) {
        if self.pending.is_empty() {
            self.pending = frame;
        } else {
            self.pending.extend_from_slice(&frame);
        }
    }

    /// Hands the queued messages to h2 as one DATA frame (h2 splits it at
    /// the frame size limit). Without a stream (not started, or between a
    /// refused stream and its retry) they stay queued.
    pub(super) fn flush(&mut self) {
        if self.pending.is_empty() || self.done {
            return;
        }
        self.send_pending(false);
    }

    /// Sends the queued messages with END_STREAM (once there is a stream).
    pub(super) fn half_close(&mut self) {
        self.half_closed = true;
        self.send_pending(true);
    }

    /// Hands everything queued to the stream, kept for a transparent retry
    /// while the call may still be retried; a no-op without a stream.
    fn send_pending(&mut self, end_of_stream: bool) {
        if self.stream.is_none() {
            return;
        }
        // Taken whole, not split: splitting would first move the buffer
        // into a shared allocation.
        let data = std::mem::take(&mut self.pending).freeze();
        if let Some(replay) = self.replay.as_mut()
            && !replay.record(&data)
        {
            self.replay = None;
        }
        if let Some(stream) = self.stream.as_mut() {
            // A failed send means the stream already ended; the reader reports why.
            let _ = stream.send_data(data, end_of_stream);
        }
    }
}
