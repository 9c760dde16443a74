//! A connection going away (layer: channel).
//!
//! Owns what the channel does when its connection says it takes no new
//! calls (the server sent GOAWAY; the transport notices it as it arrives,
//! see `transport::frames` and `transport::goaway`): the connection stops being the channel's at
//! once, so new calls never wait for it to drain. Its calls go on, holding
//! their own handles; it closes when they are done.
//!
//! Then, if the channel has calls in use, it starts connecting at once:
//! a busy channel (a server's max connection age under load) gets its next
//! connection while the old one drains, and new calls wait only for that
//! connect, as pending calls. A channel with no call in use goes IDLE and
//! connects on its next call, as grpc-java's pick_first does after a
//! GOAWAY: an unused channel does not reconnect every time a server ages
//! out its connection.
//!
//! Must not: start or fail a call under the channel's lock (rule 7).

use std::sync::Arc;

use crate::channel::connection::Connector;
use crate::channel::core::Core;
use crate::channel::state::{State, lock_state};

impl<K: Connector> Core<K> {
    /// READY → CONNECTING if calls are in use, else READY → IDLE:
    /// connection `id` takes no new calls. Ignored unless it is the
    /// channel's current connection.
    pub(crate) fn on_connection_going_away(self: &Arc<Self>, id: u64) {
        let mut locked = lock_state(&self.state);
        if !matches!(locked.state, State::Ready { id: current, .. } if current == id) {
            return;
        }
        // The old handle is dropped after the lock (it takes h2's lock).
        // Watchers hear of the change when the lock is released.
        let old = std::mem::replace(&mut locked.state, State::Idle);
        // `new_call` counts a call in use under this lock too: a call either
        // counts here, or finds the channel IDLE and connects itself.
        if self.usage.in_use() {
            tracing::debug!("channel's connection is going away; connecting a new one");
            self.start_connecting(&mut locked);
        } else {
            tracing::debug!("channel's connection is going away; going IDLE");
        }
        drop(locked);
        drop(old);
    }
}
