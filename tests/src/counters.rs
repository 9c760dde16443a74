//! Call accounting shared between a running server and its handle: how many
//! calls reached the handler, how many finished, and how many were dropped
//! (cancelled) before finishing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of the echo handler's calls. Cloning shares the same counters.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    calls: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
}

impl Counters {
    /// Calls that reached the handler: for `Unary` and `ServerStream` once
    /// the request message was decoded, for `ClientStream` and `Bidi` once
    /// the request headers arrived.
    pub fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::SeqCst)
    }

    /// Handlers that ran to the end, whether they answered OK or with an error status
    /// (for streaming responses: once the last message or the status is produced).
    pub fn completed(&self) -> u64 {
        self.inner.completed.load(Ordering::SeqCst)
    }

    /// Handlers that were dropped before finishing (client cancelled, RST_STREAM, deadline).
    /// For `ServerStream` and `Bidi` this includes response streams dropped
    /// mid-way; for `ClientStream` and `Bidi`, request streams that failed.
    pub fn cancelled(&self) -> u64 {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Counts a new call and returns the guard that records how it ends.
    pub(crate) fn start_call(&self) -> CallGuard {
        self.inner.calls.fetch_add(1, Ordering::SeqCst);
        CallGuard {
            counters: self.clone(),
            finished: false,
        }
    }
}

/// Lives inside a handler future: counts `completed` when [`CallGuard::complete`]
/// is called, and `cancelled` when dropped before that.
#[derive(Debug)]
pub(crate) struct CallGuard {
    counters: Counters,
    finished: bool,
}

impl CallGuard {
    /// Marks the call as having run to the end.
    pub(crate) fn complete(mut self) {
        self.finished = true;
        self.counters.inner.completed.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.counters.inner.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}
