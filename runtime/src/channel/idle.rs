//! Idle mode (layer: channel).
//!
//! Owns the idle timer: a READY (or TRANSIENT_FAILURE) channel with no call
//! in use for the idle timeout drops its connection and returns to IDLE.
//! The count of calls in use it reads is `usage`'s; the core starts the
//! timer (`Core::idle_timer`) when it starts connecting.
//!
//! The timer decides under the channel's state lock, which `new_call` also
//! holds while it counts a call in use and picks a connection: a call
//! either counts, or finds the channel IDLE.

use std::sync::Weak;

use crate::channel::connection::Connector;
use crate::channel::core::Core;
use crate::channel::state::{State, lock_state};

impl<K: Connector> Core<K> {
    /// Returns the channel to IDLE after its idle timeout with no call in use.
    /// Ends when the channel goes IDLE, shuts down or is dropped.
    pub(crate) async fn idle_timer(channel: Weak<Self>) {
        loop {
            let Some(core) = channel.upgrade() else {
                return;
            };
            let timeout = core.idle_timeout;
            let wait = {
                // Decided under the state lock, which `new_call` holds while
                // it counts a call in use and picks the connection: a call
                // either counts here, or finds the channel IDLE.
                let mut locked = lock_state(&core.state);
                match core.usage.idle_for() {
                    Some(idle) if idle >= timeout => match locked.state {
                        State::Ready { .. } | State::TransientFailure { .. }
                            if locked.pending.iter().all(|p| !p.is_waiting()) =>
                        {
                            tracing::debug!("channel idle for {timeout:?}; going IDLE");
                            locked.set_state(State::Idle);
                            locked.pending.clear();
                            locked.idle_timer_running = false;
                            return;
                        }
                        State::Idle | State::Shutdown => {
                            locked.idle_timer_running = false;
                            return;
                        }
                        _ => timeout,
                    },
                    Some(idle) => timeout - idle,
                    None => timeout,
                }
            };
            drop(core);
            tokio::time::sleep(wait).await;
        }
    }
}
