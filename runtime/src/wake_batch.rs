//! Batched wake-ups for the connection task (layer: transport support).
//!
//! One read from the socket often holds a call's response HEADERS, its DATA
//! and its trailers, and h2 wakes the call's reader once per frame while the
//! connection task processes that read. Waking the caller's thread three
//! times, mid-read, would cost three thread switches and make the reader
//! fight the connection task for h2's lock. So while the connection task
//! polls h2 ([`batched`]), a call's wake-up is only noted ([`defer`]); each
//! noted call is woken once, after the poll returns, with the whole read
//! processed.
//!
//! Outside a batch (any other thread, or the connection task outside its
//! poll), [`defer`] declines and the caller wakes at once.

use std::cell::RefCell;
use std::sync::Arc;

/// A wake-up that can wait until the connection task's poll is over.
pub(crate) trait Deferred: Send + Sync {
    /// Runs the wake-up.
    fn run_deferred(self: Arc<Self>);
}

thread_local! {
    /// The wake-ups noted during the current batch; `None` outside one.
    static BATCH: RefCell<Option<Vec<Arc<dyn Deferred>>>> = const { RefCell::new(None) };
    /// The batch vector, kept between batches so a batch does not allocate.
    static SPARE: RefCell<Vec<Arc<dyn Deferred>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `poll` with this thread's wake-ups batched, then runs every wake-up
/// [`defer`]red meanwhile, in order, each with no batch open.
pub(crate) fn batched<R>(poll: impl FnOnce() -> R) -> R {
    let spare = SPARE.with(|spare| std::mem::take(&mut *spare.borrow_mut()));
    let outer = BATCH.with(|batch| batch.borrow_mut().replace(spare));
    let result = poll();
    let mut noted = BATCH
        .with(|batch| std::mem::replace(&mut *batch.borrow_mut(), outer))
        .unwrap_or_default();
    for wake in noted.drain(..) {
        wake.run_deferred();
    }
    SPARE.with(|spare| *spare.borrow_mut() = noted);
    result
}

/// Notes `wake` to run when the current batch ends. Returns `false`, and
/// notes nothing, when this thread is not in a batch: the caller wakes now.
pub(crate) fn defer(wake: Arc<dyn Deferred>) -> bool {
    BATCH.with(|batch| match batch.borrow_mut().as_mut() {
        Some(noted) => {
            noted.push(wake);
            true
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counter(AtomicUsize);

    impl Deferred for Counter {
        fn run_deferred(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn wake_ups_in_a_batch_run_after_it_and_outside_one_are_declined() {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        assert!(!defer(counter.clone()), "no batch is open");
        let seen_inside = batched(|| {
            assert!(defer(counter.clone()));
            assert!(defer(counter.clone()));
            counter.0.load(Ordering::SeqCst)
        });
        assert_eq!(seen_inside, 0, "deferred wake-ups wait for the batch");
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
        assert!(!defer(counter.clone()), "the batch is closed");
    }

    #[test]
    fn a_wake_up_run_by_a_batch_is_not_deferred_again() {
        struct Nested(Arc<Counter>);
        impl Deferred for Nested {
            fn run_deferred(self: Arc<Self>) {
                // Runs after the batch closed: wakes at once.
                assert!(!defer(self.0.clone()));
                self.0.clone().run_deferred();
            }
        }
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        batched(|| assert!(defer(Arc::new(Nested(counter.clone())))));
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    }
}
