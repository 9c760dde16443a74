//! The connection's receive window, grown for streams whose caller stopped
//! reading (layer: transport).
//!
//! HTTP/2 flow control counts a stream's received-but-unread bytes against
//! both the stream's window and the connection's. A call keeps at most
//! [`HIGH_WATER_BYTES`](crate::call::delivery::HIGH_WATER_BYTES) of
//! undelivered messages; past that its reader stops taking data from h2, and
//! h2 then holds up to one stream window of that call's data unread. A few
//! such calls (a stream nobody iterates, a consumer far behind) would hold
//! the whole connection window and stall every other call on the
//! connection.
//!
//! So, as grpc-go does in effect (it returns connection window as soon as
//! data arrives), each stalled stream gets its own room in the connection
//! window: the connection's target window becomes the configured one plus
//! one stream window per stalled stream, at the most stalled streams seen
//! at once. The per-stream windows still bound what any one call buffers.
//! The target never shrinks: h2 cannot take back window it already
//! granted, and a larger connection window costs nothing while unused.

use std::task::{Context, Waker};

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{Mutex, lock};

/// The largest HTTP/2 window (RFC 9113, section 6.9.1).
const MAX_WINDOW: u64 = (1 << 31) - 1;

/// Counts a connection's stalled streams and tells its driver when the
/// connection window should grow.
pub(crate) struct StalledStreams {
    base: u32,
    per_stream: u32,
    stalled: AtomicUsize,
    /// The most stalled streams the driver has made room for.
    granted: AtomicUsize,
    driver: Mutex<Option<Waker>>,
}

/// A stream's stall; the count drops when it is dropped.
pub(crate) struct Stall<'a>(&'a StalledStreams);

impl StalledStreams {
    /// For a connection whose window is `base` and whose streams' windows
    /// are `per_stream`.
    pub(crate) fn new(base: u32, per_stream: u32) -> StalledStreams {
        StalledStreams {
            base,
            per_stream,
            stalled: AtomicUsize::new(0),
            granted: AtomicUsize::new(0),
            driver: Mutex::new(None),
        }
    }

    /// Counts one more stalled stream until the guard drops, and wakes the
    /// driver if the connection has no room for it yet.
    pub(crate) fn stall(&self) -> Stall<'_> {
        let now = self.stalled.fetch_add(1, Ordering::AcqRel) + 1;
        if now > self.granted.load(Ordering::Acquire)
            && let Some(waker) = lock(&self.driver).take()
        {
            waker.wake();
        }
        Stall(self)
    }

    /// For the driver, before each poll of the connection: registers its
    /// waker, and returns the connection's new target window if it must
    /// grow.
    pub(crate) fn poll_target(&self, cx: &mut Context<'_>) -> Option<u32> {
        {
            let mut driver = lock(&self.driver);
            if !driver.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *driver = Some(cx.waker().clone());
            }
        }
        let now = self.stalled.load(Ordering::Acquire);
        let granted = self.granted.load(Ordering::Acquire);
        if now <= granted {
            return None;
        }
        self.granted.store(now, Ordering::Release);
        let target = u64::from(self.base) + now as u64 * u64::from(self.per_stream);
        Some(target.min(MAX_WINDOW) as u32)
    }
}

impl Drop for Stall<'_> {
    fn drop(&mut self) {
        self.0.stalled.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_target_grows_one_stream_window_per_stalled_stream_and_never_shrinks() {
        let window = StalledStreams::new(1000, 100);
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert_eq!(window.poll_target(&mut cx), None, "nothing stalled");
        let a = window.stall();
        let b = window.stall();
        assert_eq!(window.poll_target(&mut cx), Some(1200));
        assert_eq!(window.poll_target(&mut cx), None, "already granted");
        drop(a);
        let c = window.stall();
        assert_eq!(
            window.poll_target(&mut cx),
            None,
            "two stalled, room for two"
        );
        let d = window.stall();
        assert_eq!(window.poll_target(&mut cx), Some(1300));
        drop((b, c, d));
        assert_eq!(window.poll_target(&mut cx), None, "never shrinks");
    }

    #[test]
    fn the_target_is_capped_at_the_largest_window() {
        let window = StalledStreams::new(u32::MAX / 2, u32::MAX / 2);
        let waker = futures::task::noop_waker();
        let _stalls: Vec<_> = (0..3).map(|_| window.stall()).collect();
        let target = window.poll_target(&mut Context::from_waker(&waker));
        assert_eq!(target, Some((1u32 << 31) - 1));
    }
}
