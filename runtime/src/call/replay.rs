//! Transparent retry of calls the server never processed (layer: call).
//!
//! gRPC lets a client re-send, once and without telling anyone, a call whose
//! stream the server provably did not process: refused with
//! `RST_STREAM(REFUSED_STREAM)`, or above the last stream id of a `GOAWAY`
//! (the server is going away, as on every graceful restart), or that could
//! not even be opened because the connection was already going away.
//!
//! A [`Replay`] keeps what the call sent (its request metadata and the
//! DATA it handed to h2, up to [`REPLAY_LIMIT`] bytes) until response
//! headers arrive; past the limit the call is no longer retried. A
//! [`ConnectionSource`](crate::transport::ConnectionSource) (the channel)
//! hands out the next ready connection.

use bytes::Bytes;

use crate::metadata::Metadata;

/// Most request bytes a call keeps for a transparent retry.
pub(crate) const REPLAY_LIMIT: usize = 64 * 1024;

/// What a call sent, kept so it can be sent again.
pub(crate) struct Replay {
    /// The request metadata given at `start`.
    pub(crate) headers: Metadata,
    /// The first DATA handed to h2 (a unary call's only one), kept apart so
    /// that the common case needs no list.
    first: Option<Bytes>,
    /// Later DATA, in order.
    more: Vec<Bytes>,
    sent_len: usize,
}

impl Replay {
    pub(crate) fn new(headers: Metadata) -> Replay {
        Replay {
            headers,
            first: None,
            more: Vec::new(),
            sent_len: 0,
        }
    }

    /// Records DATA sent; false once the call sent too much to replay.
    pub(crate) fn record(&mut self, data: &Bytes) -> bool {
        self.sent_len += data.len();
        if self.first.is_none() {
            self.first = Some(data.clone());
        } else {
            self.more.push(data.clone());
        }
        self.sent_len <= REPLAY_LIMIT
    }

    /// The DATA sent, in order (shared, not copied).
    pub(crate) fn sent(&self) -> impl Iterator<Item = Bytes> + '_ {
        self.first.iter().chain(&self.more).cloned()
    }
}
