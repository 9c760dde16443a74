//! The counting global allocator: [`Counting`] forwards every request to
//! [`System`] and, while counting is switched on, adds it to two process-wide
//! atomic counters (allocations and bytes requested).
//!
//! Counting is off by default, so the timed scenarios pay one relaxed load per
//! allocation and nothing else; [`measure`] switches it on around one closure.
//! Every thread of this process counts while it is on (the clients' I/O and
//! runtime threads do part of each call's work); the server runs in its own
//! process and never counts. This is the crate's only `unsafe` code.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A global allocator that counts allocations while [`measure`] runs.
pub struct Counting;

static ENABLED: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// Adds one allocation of `size` bytes, if counting is on.
fn record(size: usize) {
    if ENABLED.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

#[expect(
    unsafe_code,
    reason = "GlobalAlloc is an unsafe trait; this impl only forwards to System"
)]
// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds `GlobalAlloc`'s contract; the counting touches no memory it returns.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    /// A reallocation counts as one allocation of `new_size` bytes.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: `ptr` came from `System` through this allocator; the rest
        // of the caller's contract is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations counted during one [`measure`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Calls to `alloc`, `alloc_zeroed` and `realloc`.
    pub allocations: u64,
    /// Bytes those calls asked for (for `realloc`: the new size).
    pub bytes: u64,
}

/// Runs `f` with counting on and returns its result with what it allocated,
/// on every thread of this process, while it ran.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Counts) {
    let before = (
        ALLOCATIONS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    ENABLED.store(true, Ordering::SeqCst);
    let result = f();
    ENABLED.store(false, Ordering::SeqCst);
    let counts = Counts {
        allocations: ALLOCATIONS.load(Ordering::SeqCst) - before.0,
        bytes: BYTES.load(Ordering::SeqCst) - before.1,
    };
    (result, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_allocations_only_while_measuring() {
        let outside: Vec<u8> = Vec::with_capacity(10);
        let (inner, counts) = measure(|| Vec::<u8>::with_capacity(1000));
        assert!(counts.allocations >= 1, "{counts:?}");
        assert!(counts.bytes >= 1000, "{counts:?}");
        drop((outside, inner));
    }
}
