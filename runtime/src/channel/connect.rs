//! The connect loop (layer: channel).
//!
//! One task per stretch of CONNECTING (`Core::connect_loop`, which the core
//! spawns when it starts connecting): it asks the channel's [`Connector`]
//! for a connection, reports the outcome to the state machine, and after a
//! failure waits out the backoff and tries again, until it connects or the
//! channel no longer wants it (idle, shut down, dropped).
//!
//! Holds the channel only weakly, and never across an await: a dropped
//! channel ends the loop at its next step.

use std::sync::Weak;

use crate::channel::connection::{ChannelLink, Connector};
use crate::channel::core::Core;
use crate::sync::lock;

impl<K: Connector> Core<K> {
    /// Tries to connect until it succeeds or the channel no longer wants it
    /// from this loop (`generation`: see `Locked::connect_loop`).
    pub(crate) async fn connect_loop(
        channel: Weak<Self>,
        runtime: tokio::runtime::Handle,
        generation: u64,
    ) {
        let (mut timeout, connector, target) = match channel.upgrade() {
            Some(core) => (
                lock(&core.state).backoff.connect_timeout(),
                core.connector.clone(),
                core.target.clone(),
            ),
            None => return,
        };
        loop {
            let Some(core) = channel.upgrade() else {
                return;
            };
            let id = {
                let mut locked = lock(&core.state);
                locked.next_connection_id += 1;
                locked.next_connection_id
            };
            drop(core);
            let link = ChannelLink::new(channel.clone(), id);
            let result = connector.connect(&target, timeout, &runtime, link).await;
            let Some(core) = channel.upgrade() else {
                return;
            };
            let delay = match result {
                Ok(connection) => return core.on_connected(id, connection),
                Err(status) => match core.on_connect_failed(status) {
                    Some(delay) => delay,
                    None => return,
                },
            };
            drop(core);
            tokio::time::sleep(delay).await;
            let Some(core) = channel.upgrade() else {
                return;
            };
            timeout = match core.begin_retry(generation) {
                Some(timeout) => timeout,
                None => return,
            };
        }
    }
}
