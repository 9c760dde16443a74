//! Idle mode (layer: channel).
//!
//! Owns the count of calls in use ([`InUse`], one per `ChannelCall`), when
//! the channel was last used, and the idle timer: a READY (or
//! TRANSIENT_FAILURE) channel with no call in use for the idle timeout
//! drops its connection and returns to IDLE.
//!
//! The timer decides under the channel's state lock, which `new_call` also
//! holds while it counts a call in use and picks a connection: a call
//! either counts, or finds the channel IDLE.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use crate::channel::connection::Connector;
use crate::channel::core::Core;
use crate::channel::state::State;
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::sync::lock;

/// How many calls a channel has in use, and since when it has none.
///
/// Reads tokio's clock (the same as `std`'s outside tests), the clock the
/// idle timer sleeps on.
pub(crate) struct Usage {
    calls_in_use: AtomicUsize,
    created: Instant,
    /// Nanoseconds after `created` when a call last started or ended.
    last_used: AtomicU64,
}

impl Usage {
    /// No call in use yet.
    pub(crate) fn new() -> Usage {
        Usage {
            calls_in_use: AtomicUsize::new(0),
            created: Instant::now(),
            last_used: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let nanos = self.created.elapsed().as_nanos() as u64;
        self.last_used.store(nanos, Ordering::Relaxed);
    }

    /// How long the channel has had no call in use, if it has none.
    fn idle_for(&self) -> Option<Duration> {
        if self.calls_in_use.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.created.elapsed().as_nanos() as u64;
        let last = self.last_used.load(Ordering::Relaxed);
        Some(Duration::from_nanos(now.saturating_sub(last)))
    }
}

/// A channel as a call in use sees it: whatever the connector, it keeps
/// the channel alive (its pending calls are served) and counts the call.
pub(crate) trait Used: Send + Sync {
    /// The channel's usage count.
    fn usage(&self) -> &Usage;
}

impl<K: Connector> Used for Core<K> {
    fn usage(&self) -> &Usage {
        &self.usage
    }
}

/// Counts a call as in use for the idle timer while it lives.
pub(crate) struct InUse {
    channel: Arc<dyn Used>,
}

impl InUse {
    /// Counts one more call in use on `channel`.
    pub(crate) fn new<U: Used + 'static>(channel: Arc<U>) -> InUse {
        let usage = channel.usage();
        usage.calls_in_use.fetch_add(1, Ordering::AcqRel);
        usage.touch();
        InUse { channel }
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        let usage = self.channel.usage();
        usage.touch();
        usage.calls_in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Returns the channel to IDLE after its idle timeout with no call in use.
/// Ends when the channel goes IDLE, shuts down or is dropped.
pub(crate) async fn idle_timer<K: Connector>(channel: Weak<Core<K>>) {
    loop {
        let Some(core) = channel.upgrade() else {
            return;
        };
        let timeout = core.idle_timeout;
        let wait = {
            // Decided under the state lock, which `new_call` holds while
            // it counts a call in use and picks the connection: a call
            // either counts here, or finds the channel IDLE.
            let mut locked = lock(&core.state);
            match core.usage.idle_for() {
                Some(idle) if idle >= timeout => match locked.state {
                    State::Ready { .. } | State::TransientFailure { .. }
                        if locked.pending.iter().all(|p| !p.is_waiting()) =>
                    {
                        tracing::debug!("channel idle for {timeout:?}; going IDLE");
                        locked.state = State::Idle;
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
