//! Model checks (loom) of the two concurrency primitives every call relies
//! on: `ThreadlessExecutor` and `DelayedClientCall`.
//!
//! Built only with `RUSTFLAGS="--cfg switchboard_loom"`, which swaps the
//! crate's locks and atomics for loom's. `cargo test --workspace` runs this
//! file through `tests/tests/loom_models.rs`; to run it alone:
//!
//! ```text
//! RUSTFLAGS="--cfg switchboard_loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p switchboard --test loom --release
//! ```
#![cfg(switchboard_loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

use switchboard::call::{ClientCall, DelayedClientCall, Listener};
use switchboard::executor::ThreadlessExecutor;
use switchboard::{Code, Metadata, Status};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

/// Guards against grpc-java's lost wake-up (design rule 1): a task enqueued
/// while the caller is between "queue is empty" and "park" must still wake it.
/// A lost wake-up shows up here as a loom deadlock.
#[test]
fn blocking_waiter_never_misses_a_task() {
    model(|| {
        let exec = ThreadlessExecutor::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let producer = {
            let exec = exec.clone();
            let ran = ran.clone();
            thread::spawn(move || {
                exec.execute(Box::new(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                }));
            })
        };
        while ran.load(Ordering::SeqCst) == 0 {
            exec.wait_and_drain();
        }
        producer.join().unwrap();
    });
}

/// The same for the async waiter: the waker registered by `poll_drain` must
/// be woken by a task enqueued concurrently.
#[test]
fn waker_waiter_never_misses_a_task() {
    model(|| {
        let exec = ThreadlessExecutor::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let producer = {
            let exec = exec.clone();
            let ran = ran.clone();
            thread::spawn(move || {
                exec.execute(Box::new(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                }));
            })
        };
        let ran2 = ran.clone();
        loom::future::block_on(std::future::poll_fn(move |cx| {
            loop {
                if ran2.load(Ordering::SeqCst) == 1 {
                    return std::task::Poll::Ready(());
                }
                if exec.poll_drain(cx).is_pending() {
                    return std::task::Poll::Pending;
                }
            }
        }));
        producer.join().unwrap();
    });
}

/// Rule 2: a task racing with `shutdown` runs at most once, never panics,
/// and never runs after `shutdown` returned: a caller that shut its
/// executor down (its future was dropped) is not called back later.
#[test]
fn nothing_runs_after_shutdown_returns() {
    model(|| {
        let exec = ThreadlessExecutor::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let after_shutdown = Arc::new(AtomicUsize::new(0));
        let shut = Arc::new(AtomicUsize::new(0));
        let producer = {
            let exec = exec.clone();
            let ran = ran.clone();
            let after_shutdown = after_shutdown.clone();
            let shut = shut.clone();
            thread::spawn(move || {
                exec.execute(Box::new(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                    if shut.load(Ordering::SeqCst) == 1 {
                        after_shutdown.fetch_add(1, Ordering::SeqCst);
                    }
                }));
            })
        };
        exec.drain_now();
        exec.shutdown();
        shut.store(1, Ordering::SeqCst);
        exec.drain_now();
        producer.join().unwrap();
        exec.drain_now();
        assert!(ran.load(Ordering::SeqCst) <= 1);
        assert_eq!(after_shutdown.load(Ordering::SeqCst), 0);
    });
}

/// What a fake real call saw, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Start,
    Request(usize),
    Send(u32),
    HalfClose,
    Cancel(Code),
}

/// A real call that records operations and closes its listener on cancel,
/// through the call's executor, as the h2 call does.
struct FakeReal {
    seen: Mutex<Vec<Seen>>,
    listener: Mutex<Option<Box<dyn Listener<u32>>>>,
    exec: ThreadlessExecutor,
}

impl ClientCall<u32, u32> for FakeReal {
    fn start(&self, listener: Box<dyn Listener<u32>>, _: Metadata) {
        *self.listener.lock().unwrap() = Some(listener);
        self.seen.lock().unwrap().push(Seen::Start);
    }
    fn request(&self, n: usize) {
        self.seen.lock().unwrap().push(Seen::Request(n));
    }
    fn send_message(&self, m: u32) {
        self.seen.lock().unwrap().push(Seen::Send(m));
    }
    fn half_close(&self) {
        self.seen.lock().unwrap().push(Seen::HalfClose);
    }
    fn cancel(&self, status: Status) {
        self.seen.lock().unwrap().push(Seen::Cancel(status.code()));
        if let Some(mut listener) = self.listener.lock().unwrap().take() {
            self.exec
                .execute(Box::new(move || listener.on_close(status, Metadata::new())));
        }
    }
}

struct CountClose(Arc<Mutex<Vec<Code>>>);

impl Listener<u32> for CountClose {
    fn on_message(&mut self, _: u32) {}
    fn on_close(&mut self, status: Status, _: Metadata) {
        self.0.lock().unwrap().push(status.code());
    }
}

fn fake(exec: &ThreadlessExecutor) -> std::sync::Arc<FakeReal> {
    std::sync::Arc::new(FakeReal {
        seen: Mutex::new(Vec::new()),
        listener: Mutex::new(None),
        exec: exec.clone(),
    })
}

/// Rule 5: whatever the interleaving of `set_call` (channel thread) with the
/// caller's operations, the real call sees them once each, in order.
#[test]
fn set_call_replays_in_order_whatever_the_interleaving() {
    model(|| {
        let exec = ThreadlessExecutor::new();
        let delayed = std::sync::Arc::new(DelayedClientCall::<u32, u32>::new(exec.clone()));
        let real = fake(&exec);
        let channel_thread = {
            let delayed = delayed.clone();
            let real = real.clone();
            thread::spawn(move || {
                delayed.set_call(real as std::sync::Arc<dyn ClientCall<u32, u32>>);
            })
        };
        let closes = Arc::new(Mutex::new(Vec::new()));
        delayed.start(Box::new(CountClose(closes.clone())), Metadata::new());
        delayed.request(1);
        delayed.send_message(7);
        delayed.half_close();
        while real.seen.lock().unwrap().len() < 4 {
            exec.wait_and_drain();
        }
        channel_thread.join().unwrap();
        // As the stubs do once the call is over: drops the gate's task,
        // which holds the real call.
        exec.shutdown();
        assert_eq!(
            *real.seen.lock().unwrap(),
            vec![
                Seen::Start,
                Seen::Request(1),
                Seen::Send(7),
                Seen::HalfClose
            ]
        );
    });
}

/// Rules 3 and 5: a cancel racing `set_call` closes the listener exactly
/// once with CANCELLED; if the cancel won, the real call never started.
#[test]
fn cancel_racing_set_call_closes_exactly_once() {
    model(|| {
        let exec = ThreadlessExecutor::new();
        let delayed = std::sync::Arc::new(DelayedClientCall::<u32, u32>::new(exec.clone()));
        let real = fake(&exec);
        let closes = Arc::new(Mutex::new(Vec::new()));
        delayed.start(Box::new(CountClose(closes.clone())), Metadata::new());
        let channel_thread = {
            let delayed = delayed.clone();
            let real = real.clone();
            thread::spawn(move || {
                delayed.set_call(real as std::sync::Arc<dyn ClientCall<u32, u32>>);
            })
        };
        delayed.cancel(Status::cancelled("caller gave up"));
        // Rule 3: keep draining until on_close ran.
        while closes.lock().unwrap().is_empty() {
            exec.wait_and_drain();
        }
        channel_thread.join().unwrap();
        exec.drain_now();
        assert_eq!(*closes.lock().unwrap(), vec![Code::Cancelled]);
        let seen = real.seen.lock().unwrap().clone();
        assert!(
            seen.is_empty() || seen == vec![Seen::Start, Seen::Cancel(Code::Cancelled)],
            "{seen:?}"
        );
    });
}
