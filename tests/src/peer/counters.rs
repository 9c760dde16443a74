//! Call accounting shared between a running Echo peer and its handle: how
//! many calls reached the handler, how many finished, and how many were
//! dropped (cancelled) before finishing, plus the gate that holds handlers.
//!
//! Every change is signalled, so a test waits for the server to reach a
//! state ([`Counters::wait_for`], [`Counters::reached`]) instead of sleeping
//! or polling: a handler that counts a call wakes the test that waits for it.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use crate::wait::WAIT_LIMIT;

/// The three counts at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// See [`Counters::calls`].
    pub calls: u64,
    /// See [`Counters::completed`].
    pub completed: u64,
    /// See [`Counters::cancelled`].
    pub cancelled: u64,
}

/// Counters of the echo handler's calls. Cloning shares the same counters.
#[derive(Clone, Debug)]
pub struct Counters {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    counts: Mutex<Counts>,
    /// Wakes blocking waiters on every change.
    changed: Condvar,
    /// Wakes async waiters on every change.
    notify: Notify,
    /// `true` while handlers are held (see [`Counters::hold`]).
    held: watch::Sender<bool>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            inner: Arc::new(Inner {
                counts: Mutex::new(Counts::default()),
                changed: Condvar::new(),
                notify: Notify::new(),
                held: watch::Sender::new(false),
            }),
        }
    }
}

impl Counters {
    /// Calls that reached the handler: for `Unary` and `ServerStream` once
    /// the request message was decoded, for `ClientStream` and `Bidi` once
    /// the request headers arrived.
    pub fn calls(&self) -> u64 {
        self.counts().calls
    }

    /// Handlers that ran to the end, whether they answered OK or with an error status
    /// (for streaming responses: once the last message or the status is produced).
    pub fn completed(&self) -> u64 {
        self.counts().completed
    }

    /// Handlers that were dropped before finishing (client cancelled, RST_STREAM, deadline).
    /// For `ServerStream` and `Bidi` this includes response streams dropped
    /// mid-way; for `ClientStream` and `Bidi`, request streams that failed.
    pub fn cancelled(&self) -> u64 {
        self.counts().cancelled
    }

    /// All three counts, read together.
    pub fn counts(&self) -> Counts {
        *self.lock()
    }

    /// Blocks until `check` holds for the counts, woken by every change,
    /// and returns them.
    ///
    /// # Panics
    /// If `check` still does not hold after [`WAIT_LIMIT`]: the server never
    /// got there, and `what` says what the test waited for.
    pub fn wait_for(&self, what: &str, check: impl Fn(Counts) -> bool) -> Counts {
        if self.wait_within(WAIT_LIMIT, &check) {
            return self.counts();
        }
        panic!("the server never reached {what}: {:?}", self.counts());
    }

    /// Blocks until `check` holds for the counts, woken by every change, or
    /// until `timeout` has passed; returns whether it held.
    pub fn wait_within(&self, timeout: Duration, check: impl Fn(Counts) -> bool) -> bool {
        let until = Instant::now() + timeout;
        let mut counts = self.lock();
        loop {
            if check(*counts) {
                return true;
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return false;
            };
            counts = self
                .inner
                .changed
                .wait_timeout(counts, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// [`Counters::wait_for`] for async tests: resolves once `check` holds,
    /// woken by every change. Runs on any executor; bounding the wait is
    /// the caller's business (e.g. a `tokio::time::timeout`).
    pub async fn reached(&self, check: impl Fn(Counts) -> bool) -> Counts {
        loop {
            let changed = self.inner.notify.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let counts = self.counts();
            if check(counts) {
                return counts;
            }
            changed.await;
        }
    }

    /// Holds every handler from now on right after it counted its call:
    /// it sends no response headers and reads no request message until
    /// [`Counters::release`]. Calls held when the client goes away count as
    /// cancelled, as usual.
    pub fn hold(&self) {
        self.inner.held.send_replace(true);
    }

    /// Lets held handlers (and later ones) go on.
    pub fn release(&self) {
        self.inner.held.send_replace(false);
    }

    /// Counts a new call and returns the guard that records how it ends.
    pub(crate) fn start_call(&self) -> CallGuard {
        self.update(|counts| counts.calls += 1);
        CallGuard {
            counters: self.clone(),
            finished: false,
        }
    }

    /// Waits while handlers are held (see [`Counters::hold`]).
    pub(crate) async fn pass_gate(&self) {
        let mut held = self.inner.held.subscribe();
        let _ = held.wait_for(|held| !*held).await;
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.inner.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut Counts)) {
        change(&mut self.lock());
        self.inner.changed.notify_all();
        self.inner.notify.notify_waiters();
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
        self.counters.update(|counts| counts.completed += 1);
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.counters.update(|counts| counts.cancelled += 1);
        }
    }
}
