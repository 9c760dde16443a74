//! Synchronisation shim (lowest layer).
//!
//! Every lock, condition variable, atomic and thread park/unpark the runtime
//! uses comes from here, so that `RUSTFLAGS="--cfg switchboard_loom"` swaps in
//! loom's model-checked versions and the same code runs under the model
//! checker (see `tests/loom.rs` in this crate). It also owns the one place
//! that decides what a poisoned lock means: nothing, because the runtime
//! never calls user code while holding a lock (rule 7), so a poisoned
//! lock still guards consistent data.

#[cfg(switchboard_loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(switchboard_loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Atomics, from loom under `--cfg loom`.
pub(crate) mod atomic {
    #[cfg(switchboard_loom)]
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    #[cfg(not(switchboard_loom))]
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
}

/// Parking and unparking threads, from loom under `--cfg switchboard_loom`.
pub(crate) mod thread {
    #[cfg(switchboard_loom)]
    pub(crate) use loom::thread::{Thread, current, park};
    #[cfg(not(switchboard_loom))]
    pub(crate) use std::thread::{Thread, current, park};

    /// A waker that unparks `thread`.
    pub(crate) fn waker(thread: Thread) -> std::task::Waker {
        std::task::Waker::from(std::sync::Arc::new(Unparker(thread)))
    }

    /// Unparks one thread when woken.
    struct Unparker(Thread);

    impl std::task::Wake for Unparker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
}

/// Locks `mutex`, ignoring poisoning (see the module docs for why that is sound).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `condvar`, ignoring poisoning like [`lock`].
pub(crate) fn wait<'a, T>(condvar: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    condvar
        .wait(guard)
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `condvar` for at most `timeout`, ignoring poisoning like
/// [`lock`]. The caller re-checks its condition and the clock: a return says
/// nothing about why it woke. (Under loom it never times out.)
pub(crate) fn wait_timeout<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: std::time::Duration,
) -> MutexGuard<'a, T> {
    match condvar.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}
