//! Idle mode, and closing idle extra connections (layer: channel).
//!
//! Owns two timers:
//! - the idle timer (`Core::idle_timer`): an active channel that is not
//!   connecting, with no call in use for the idle timeout, goes IDLE: it
//!   drops its resolver, subchannels and connections. The count of calls
//!   in use it reads is `usage`'s; leaving IDLE starts the timer.
//! - the trim timer (`Core::trim_extra_connections`): runs while a
//!   subchannel has extra connections (beyond `ConnectionLimits::min`), and
//!   closes one that carried no call at two checks in a row, half the
//!   extra-idle time apart.
//!
//! The idle timer decides under the channel's state lock, which `new_call`
//! also holds while it counts a call in use and picks a connection: a call
//! either counts, or finds the channel IDLE.

use std::sync::Weak;

use crate::channel::ConnectivityState;
use crate::channel::connection::{Connection, Connector};
use crate::channel::core::Core;
use crate::channel::state::{Locked, Mode, lock_state};
use crate::channel::subchannel::SubState;

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
                let mut locked = lock_state(&core.state);
                if locked.mode != Mode::Active {
                    locked.idle_timer_running = false;
                    return;
                }
                match core.usage.idle_for() {
                    Some(idle) if idle >= timeout => {
                        if locked.reported() != ConnectivityState::Connecting
                            && locked.pending.iter().all(|p| !p.is_waiting())
                        {
                            tracing::debug!("channel idle for {timeout:?}; going IDLE");
                            locked.mode = Mode::Idle;
                            locked.clear();
                            locked.pending.clear();
                            locked.idle_timer_running = false;
                            return;
                        }
                        timeout
                    }
                    Some(idle) => timeout - idle,
                    None => timeout,
                }
            };
            drop(core);
            tokio::time::sleep(wait).await;
        }
    }

    /// Closes extra connections that carry no call (see the module doc).
    /// Ends when no subchannel has an extra connection.
    pub(crate) async fn trim_extra_connections(channel: Weak<Self>) {
        loop {
            let Some(core) = channel.upgrade() else {
                return;
            };
            let interval = core.limits.extra_idle / 2;
            drop(core);
            tokio::time::sleep(interval).await;
            let Some(core) = channel.upgrade() else {
                return;
            };
            let mut locked = lock_state(&core.state);
            let Locked {
                subchannels,
                dropped,
                trim_running,
                ..
            } = &mut *locked;
            let mut extras = 0;
            for subchannel in subchannels.iter_mut() {
                let SubState::Ready { connections, .. } = &mut subchannel.state else {
                    continue;
                };
                for conn in connections.iter_mut().filter(|c| c.extra) {
                    conn.idle_checks = match conn.connection.load() {
                        0 => conn.idle_checks + 1,
                        _ => 0,
                    };
                }
                let (idle, kept): (Vec<_>, Vec<_>) = std::mem::take(connections)
                    .into_iter()
                    .partition(|c| c.extra && c.idle_checks >= 2);
                *connections = kept;
                if !idle.is_empty() {
                    tracing::debug!(closed = idle.len(), "closing idle extra connections");
                    // It may grow again when busy.
                    subchannel.growth_failed = false;
                }
                dropped
                    .connections
                    .extend(idle.into_iter().map(|c| c.connection));
                extras += connections.iter().filter(|c| c.extra).count();
            }
            if extras == 0 {
                *trim_running = false;
                return;
            }
        }
    }
}
