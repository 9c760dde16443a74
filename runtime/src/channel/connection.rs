//! The seam between the channel and its connections (layer: channel).
//!
//! The channel's state machine (the core) is generic over a [`Connector`]:
//! what opens a connection to an address, and the [`Connection`] it yields,
//! which opens calls. The public [`Channel`](crate::Channel) uses the
//! HTTP/2 one (`channel::h2`); the unit tests use a fake whose attempts
//! they finish by hand. The subchannels (`subchannel`) hold these
//! connections; the picker reads their load to spread calls.
//!
//! Dispatch is static: `Connection::new_call` is generic and takes the
//! connection by value, so a call costs what it did before the seam (one
//! clone of the connection handle, one `Arc` for the real call).
//!
//! A connection hears from its channel, and talks back, through a
//! [`ChannelLink`]: it reports its end once, and it is where a
//! transparently retried call gets its next ready connection. The link
//! sees its channel as [`ChannelEvents`], which the core implements: this
//! file sits below the core and names no channel state. Those events come
//! on a connection's close and on a transparent retry, never per call, so
//! they go through a trait object.
//!
//! Must not: name h2 or the transport's connection types (that is
//! `channel::h2`'s job), or hold the channel strongly.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::address::Address;
use crate::call::SharedCall;
use crate::call::h2::CallSpec;
use crate::status::Status;

/// Opens connections for a channel. One per channel; it holds the
/// connection settings, so the channel only names where and how long.
pub(crate) trait Connector: Send + Sync + Sized + 'static {
    /// The connection this connector yields.
    type Connection: Connection;

    /// Connects to `address`, giving up after `timeout`, and drives the
    /// connection on `runtime` from then on. The connection reports its
    /// end, once, through `link` ([`ChannelLink::closed`]), and, before
    /// that, that it takes no new calls ([`ChannelLink::going_away`]).
    fn connect(
        &self,
        address: &Address,
        timeout: Duration,
        runtime: &tokio::runtime::Handle,
        link: ChannelLink<Self>,
    ) -> impl Future<Output = Result<Self::Connection, Status>> + Send;
}

/// A ready connection, as the channel needs it. Cloning it gives another
/// handle to the same connection.
pub(crate) trait Connection: Clone + Send + Sync + 'static {
    /// Whether new calls on this connection are bound to fail (it is going
    /// away); the channel then stops handing it out.
    fn is_broken(&self) -> bool;

    /// How many calls it carries now (made by `new_call` and not ended).
    fn load(&self) -> usize;

    /// How many calls it can carry at once: the server's
    /// MAX_CONCURRENT_STREAMS (`usize::MAX` if it set none).
    fn max_streams(&self) -> usize;

    /// A call for `spec` on this connection, not started yet. Takes the
    /// handle the call will own: the channel clones it once per call.
    fn new_call<Req: Send + 'static, Resp: Send + 'static>(
        self,
        spec: CallSpec<Req, Resp>,
    ) -> SharedCall<Req, Resp>;
}

/// What [`ChannelEvents::next_ready`] decided: a connection or failure now
/// (`Err`), or a wait for the next attempt's outcome (`Ok`).
pub(crate) type NextReady<C> = Result<oneshot::Receiver<Result<C, Status>>, Result<C, Status>>;

/// A channel as its connections see it, through a [`ChannelLink`]:
/// implemented by the channel's core for connections of type `C`.
pub(crate) trait ChannelEvents<C>: Send + Sync {
    /// Connection `id` ended with `status`: it leaves its subchannel.
    fn closed(self: Arc<Self>, id: u64, status: Status);

    /// Connection `id` takes no new calls (the server sent GOAWAY) while
    /// its calls go on: it leaves its subchannel, and new calls go
    /// elsewhere (`channel::goaway`).
    fn going_away(self: Arc<Self>, id: u64);

    /// For a transparently retried call: what the picker gives now, or a
    /// wait for what it gives next. Fails at once on a shut-down channel.
    fn next_ready(self: Arc<Self>, wait_for_ready: bool) -> NextReady<C>;
}

/// One connection attempt's line back to its channel. Holds the channel
/// weakly: a connection never keeps its channel alive.
pub(crate) struct ChannelLink<K: Connector> {
    channel: Weak<dyn ChannelEvents<K::Connection>>,
    /// Which attempt of the channel this is.
    id: u64,
}

impl<K: Connector> Clone for ChannelLink<K> {
    fn clone(&self) -> Self {
        ChannelLink {
            channel: self.channel.clone(),
            id: self.id,
        }
    }
}

impl<K: Connector> ChannelLink<K> {
    /// The link for attempt `id` of `channel`.
    pub(crate) fn new(channel: Weak<dyn ChannelEvents<K::Connection>>, id: u64) -> Self {
        ChannelLink { channel, id }
    }

    /// The connection ended: it leaves its subchannel.
    pub(crate) fn closed(&self, status: Status) {
        if let Some(channel) = self.channel.upgrade() {
            channel.closed(self.id, status);
        }
    }

    /// The connection takes no new calls (GOAWAY); its calls go on, new
    /// calls go elsewhere.
    pub(crate) fn going_away(&self) {
        if let Some(channel) = self.channel.upgrade() {
            channel.going_away(self.id);
        }
    }

    /// The channel's next ready connection, other than a broken one,
    /// connecting if need be (for a transparently retried call). Fails like
    /// a connection attempt would, unless `wait_for_ready`: then it waits
    /// through failed attempts and fails only when the channel shuts down.
    ///
    /// Decides, and registers the wait, now; the future only awaits it.
    pub(crate) fn ready_connection(
        &self,
        wait_for_ready: bool,
    ) -> impl Future<Output = Result<K::Connection, Status>> + Send + use<K> {
        let decided = match self.channel.upgrade() {
            Some(channel) => channel.next_ready(wait_for_ready),
            None => Err(Err(Status::unavailable("channel was dropped"))),
        };
        async move {
            match decided {
                Ok(waiting) => waiting
                    .await
                    .unwrap_or_else(|_| Err(Status::unavailable("channel was shut down"))),
                Err(now) => now,
            }
        }
    }
}
