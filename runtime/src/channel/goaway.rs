//! A connection closing or going away (layer: channel).
//!
//! Owns what the channel does when one of its subchannels' connections
//! ends (`Core::on_connection_closed`) or says it takes no new calls (the
//! server sent GOAWAY; the transport notices it as it arrives, see
//! `transport::frames` and `transport::goaway`): the connection leaves its
//! subchannel at once, so new calls never wait for it to drain. Its calls
//! go on, holding their own handles; it closes when they are done.
//!
//! A subchannel left with no connection goes IDLE. Then it reconnects at
//! once if the policy is eager (round_robin), or, after a GOAWAY, if the
//! channel has calls in use: a busy channel (a server's max connection age
//! under load) gets its next connection while the old one drains. Else it
//! connects on the next call, as grpc-java's pick_first does: an unused
//! channel does not reconnect every time a server ages out its
//! connection. Either way the resolver is asked for a fresh look.
//!
//! Must not: start or fail a call under the channel's lock (rule 7).

use std::sync::Arc;

use crate::channel::connection::Connector;
use crate::channel::core::Core;
use crate::channel::state::{Locked, lock_state};
use crate::status::Status;

impl<K: Connector> Core<K> {
    /// Connection `id` ended with `status`.
    pub(crate) fn on_connection_closed(self: &Arc<Self>, id: u64, status: Status) {
        if self.lose_connection(id, false) {
            tracing::debug!(%status, "a subchannel's connection closed");
            self.resolve_now();
        }
    }

    /// Connection `id` takes no new calls (GOAWAY).
    pub(crate) fn on_connection_going_away(self: &Arc<Self>, id: u64) {
        if self.lose_connection(id, true) {
            tracing::debug!("a subchannel's connection is going away");
            self.resolve_now();
        }
    }

    /// Takes connection `id` out of its subchannel, reconnecting it as the
    /// module doc says. Whether it was one of the channel's.
    fn lose_connection(self: &Arc<Self>, id: u64, going_away: bool) -> bool {
        let mut locked = lock_state(&self.state);
        let Locked {
            subchannels,
            dropped,
            ..
        } = &mut *locked;
        let Some(subchannel) = subchannels.iter_mut().find(|s| s.holds(id)) else {
            return false;
        };
        let key = subchannel.key;
        // `new_call` counts a call in use under this lock too: a call
        // either counts here, or finds the subchannel IDLE and connects it.
        if subchannel.remove(id, &mut dropped.connections)
            && (self.policy.eager() || (going_away && self.usage.in_use()))
        {
            // Watchers hear the IDLE before the CONNECTING.
            locked.observe();
            self.connect_subchannel(&mut locked, key);
        }
        true
    }
}
