//! The handle to one ready HTTP/2 connection (layer: transport).
//!
//! An [`H2Connection`] is what a call is handed: the stream opener and what
//! every call on the connection shares (scheme, authority, user agent, the
//! broken flag, stalled-stream accounting, where a retried call gets its
//! next connection, keepalive's view of the connection).

use std::sync::Arc;

use bytes::Bytes;
use h2::client::SendRequest;
use http::HeaderValue;
use http::uri::{Authority, Scheme};

use crate::status::Status;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::transport::error::status_from_h2_owned;
use crate::transport::keepalive::{ActiveStream, Liveness};
use crate::transport::source::ConnectionSource;
use crate::transport::window::StalledStreams;

/// A ready HTTP/2 connection, as a call needs it: where to open streams and
/// what to put in their headers.
///
/// Cloning it clones h2's `SendRequest`, which takes h2's connection-wide
/// lock (so does dropping one): a call makes exactly one clone, and moves
/// it into the call.
#[derive(Clone)]
pub(crate) struct H2Connection {
    pub(crate) send: SendRequest<Bytes>,
    pub(crate) shared: Arc<ConnectionShared>,
}

/// What every call on one connection shares, besides the stream opener.
pub(crate) struct ConnectionShared {
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) scheme: Scheme,
    pub(crate) authority: Authority,
    pub(crate) user_agent: HeaderValue,
    /// Set once the connection can take no new streams.
    pub(crate) broken: Arc<AtomicBool>,
    /// Streams whose reader stopped at the per-call buffer limit; the
    /// connection window grows for them.
    pub(crate) stalled: Arc<StalledStreams>,
    /// Where a call that the server did not process gets its next
    /// connection (the channel); `None` disables transparent retry.
    pub(crate) source: Option<Arc<dyn ConnectionSource>>,
    /// Keepalive's view of the connection; `None` with keepalive off.
    pub(crate) liveness: Option<Arc<Liveness>>,
    /// Calls made on this connection and not ended ([`CallClaim`]s).
    pub(crate) calls: AtomicUsize,
    /// The server's MAX_CONCURRENT_STREAMS once the connection was
    /// established (`usize::MAX` if it set none).
    pub(crate) max_streams: usize,
}

/// Counts one call on its connection, from when the channel picked the
/// connection for it until the call ends (or moves to another connection):
/// what the channel's picker reads as the connection's load.
pub(crate) struct CallClaim(Arc<ConnectionShared>);

impl Drop for CallClaim {
    fn drop(&mut self) {
        self.0.calls.fetch_sub(1, Ordering::Relaxed);
    }
}

impl H2Connection {
    /// Whether new streams on this connection are bound to fail.
    pub(crate) fn is_broken(&self) -> bool {
        self.shared.broken.load(Ordering::Acquire)
    }
}

impl ConnectionShared {
    /// Marks the connection as taking no new streams (it is going away).
    pub(crate) fn mark_broken(&self) {
        self.broken.store(true, Ordering::Release);
    }

    /// Counts a call on this connection until the claim drops.
    pub(crate) fn claim(self: &Arc<Self>) -> CallClaim {
        self.calls.fetch_add(1, Ordering::Relaxed);
        CallClaim(self.clone())
    }

    /// How many calls the connection carries now.
    pub(crate) fn load(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// A call opened a stream here: with keepalive on, the stream counts
    /// as a call to keep the connection alive for until the guard drops.
    pub(crate) fn stream_opened(&self) -> Option<ActiveStream> {
        self.liveness.as_ref().map(Liveness::stream_opened)
    }

    /// The status a call gets for `error` on one of its streams while
    /// `context`: the usual mapping, except on a connection keepalive
    /// declared dead, whose streams only see h2's "broken pipe": then the
    /// verdict (UNAVAILABLE, "keepalive timeout"), with `error` as source.
    pub(crate) fn stream_failure(&self, error: h2::Error, context: &str) -> Status {
        match self.liveness.as_ref().and_then(|l| l.verdict()) {
            Some(verdict) => Status::unavailable(format!("{context}: {}", verdict.message()))
                .with_origin(verdict.origin())
                .with_source(error),
            None => status_from_h2_owned(error, context),
        }
    }
}
