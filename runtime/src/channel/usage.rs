//! Calls in use (layer: channel).
//!
//! Owns the count of calls in use ([`InUse`], one per `ChannelCall`) and
//! when the channel was last used ([`Usage`]): what the idle timer (`idle`)
//! reads. A call in use sees its channel only as [`Used`], whatever the
//! connector; the core implements it.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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

    /// Records that a call started or ended now.
    fn touch(&self) {
        let nanos = self.created.elapsed().as_nanos() as u64;
        self.last_used.store(nanos, Ordering::Relaxed);
    }

    /// Whether the channel has a call in use.
    pub(crate) fn in_use(&self) -> bool {
        self.calls_in_use.load(Ordering::Acquire) > 0
    }

    /// How long the channel has had no call in use, if it has none.
    pub(crate) fn idle_for(&self) -> Option<Duration> {
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
