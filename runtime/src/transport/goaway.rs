//! Telling the channel, once, that its connection takes no new calls
//! (layer: transport).
//!
//! h2's client tells its user about a received GOAWAY only when a stream
//! fails because of it, so a connection that is going away would keep
//! being handed new calls until one of them fails. This file owns what
//! notices it at once instead:
//!
//! - The server's GOAWAY is spotted in the bytes h2 reads
//!   (`frames::ServerFrames`), which sets the connection's `broken` flag at
//!   once: no new call goes on it.
//! - [`GoingAway`] is the connection task's side: after each turn of the
//!   connection it tells the channel, once, that the connection is broken
//!   (by a GOAWAY, or because a call found it so), so the channel moves its
//!   new calls to a new connection without waiting for the old one to end.
//!
//! Calls already on the connection are untouched: h2 finishes the streams
//! at or below the GOAWAY's last stream id, and fails those above it, which
//! `call::h2::retry` sends again on the next connection.

use std::sync::Arc;

use crate::sync::atomic::{AtomicBool, Ordering};

/// The connection task's duty to tell the channel, once, that its
/// connection can take no new calls.
pub(crate) struct GoingAway {
    broken: Arc<AtomicBool>,
    /// `None` once run.
    notify: Option<Box<dyn FnOnce() + Send>>,
}

impl GoingAway {
    /// Runs `notify` once `broken` is set (checked by [`GoingAway::check`]).
    pub(crate) fn new(broken: Arc<AtomicBool>, notify: Box<dyn FnOnce() + Send>) -> Self {
        GoingAway {
            broken,
            notify: Some(notify),
        }
    }

    /// After a turn of the connection: if it is broken now, tells the
    /// channel (the first time only). Runs outside h2's poll, so h2 holds
    /// none of its locks.
    pub(crate) fn check(&mut self) {
        if self.notify.is_some()
            && self.broken.load(Ordering::Acquire)
            && let Some(notify) = self.notify.take()
        {
            notify();
        }
    }
}

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use super::*;

    #[test]
    fn going_away_notifies_once_when_broken() {
        let broken = Arc::new(AtomicBool::new(false));
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = count.clone();
        let mut going_away = GoingAway::new(
            broken.clone(),
            Box::new(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
        );
        going_away.check();
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
        broken.store(true, Ordering::Release);
        going_away.check();
        going_away.check();
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
