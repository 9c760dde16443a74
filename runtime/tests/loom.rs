//! Model checks (loom) of the hand-written concurrency every call relies
//! on: `ThreadlessExecutor`, `DelayedClientCall`, the h2 call's reader slot
//! (`ReaderSlot`), a `UnaryFuture` dropped while its completion arrives,
//! the blocking bidi sender parked for flow control (`wait_ready_parked`),
//! the completion queue's threads taking turns in `next`, and the poller
//! role's hand-off between the I/O thread and callers (`Handoff`).
//! Each model names the bug it guards against.
//!
//! Built only with `RUSTFLAGS="--cfg switchboard_loom"`, which swaps the
//! crate's locks and atomics for loom's. `cargo test --workspace` runs this
//! file through `tests/tests/loom_models.rs`; to run it alone:
//!
//! ```text
//! RUSTFLAGS="--cfg switchboard_loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p switchboard --test loom --release
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
#![cfg(switchboard_loom)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

use switchboard::call::reader_slot::ReaderSlot;
use switchboard::call::{ClientCall, DelayedClientCall, Listener};
use switchboard::completion_queue::Next;
use switchboard::executor::{Task, ThreadlessExecutor};
use switchboard::handoff::Handoff;
use switchboard::stub::{UnaryFuture, wait_ready_parked};
use switchboard::{Code, CompletionQueue, Deadline, Metadata, Status};

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

/// Guards against grpc-java's lost wake-up (rule 1): a task enqueued
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

/// Wakes a [`ReaderSlot`] as the h2 call's waker does: notes the wake-up
/// and, if that asks for a poll, polls at once (as the connection task's
/// batched wake-up or the caller's pump would).
struct SlotWaker<F>(Arc<ReaderSlot<F>>);

impl<F: Future + Unpin + Send + 'static> SlotWaker<F> {
    fn waker(slot: &Arc<ReaderSlot<F>>) -> Waker {
        Waker::from(std::sync::Arc::new(SlotWaker(slot.clone())))
    }

    fn poll(slot: &Arc<ReaderSlot<F>>) {
        slot.poll(|| SlotWaker::waker(slot));
    }
}

impl<F: Future + Unpin + Send + 'static> Wake for SlotWaker<F> {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        if self.0.note_wake() {
            self.0.clear_wake_note();
            SlotWaker::poll(&self.0);
        }
    }
}

/// Events produced by a "connection" and consumed by a reader future.
struct Events {
    produced: AtomicUsize,
    consumed: AtomicUsize,
    in_poll: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// A reader that registers its waker before it consumes every event
/// produced so far, as a correct future must, so the events alone lose no
/// wake-up: any loss is the slot's.
struct Consumer(Arc<Events>);

impl Future for Consumer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let events = &self.0;
        assert!(
            !events.in_poll.swap(true, Ordering::SeqCst),
            "the reader was polled by two threads at once"
        );
        *events.waker.lock().unwrap() = Some(cx.waker().clone());
        // Not a fetch_add: consuming is read-then-write, as a reader's
        // buffer handling is, which only one poller at a time may do.
        let produced = events.produced.load(Ordering::SeqCst);
        events.consumed.store(produced, Ordering::SeqCst);
        events.in_poll.store(false, Ordering::SeqCst);
        Poll::Pending
    }
}

/// Guards against a lost reader wake-up: h2 wakes the reader while another
/// thread is polling it (the caller's pump and the I/O thread's batched
/// wake-up race for it). Without the `again` re-poll the wake-up is dropped,
/// the future goes back to its slot with an event unread, and the call
/// hangs. Two pollers race one producer; every produced event must be
/// consumed, and the reader is never polled by two threads at once.
#[test]
fn reader_slot_loses_no_wake_up() {
    model(|| {
        let events = Arc::new(Events {
            produced: AtomicUsize::new(0),
            consumed: AtomicUsize::new(0),
            in_poll: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        let slot = Arc::new(ReaderSlot::new());
        assert!(slot.install(Consumer(events.clone())));
        let poller = {
            let slot = slot.clone();
            thread::spawn(move || SlotWaker::poll(&slot))
        };
        let connection = {
            let events = events.clone();
            thread::spawn(move || {
                events.produced.fetch_add(1, Ordering::SeqCst);
                let waker = events.waker.lock().unwrap().take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            })
        };
        SlotWaker::poll(&slot);
        poller.join().unwrap();
        connection.join().unwrap();
        assert_eq!(
            events.consumed.load(Ordering::SeqCst),
            events.produced.load(Ordering::SeqCst),
            "an event was produced and its wake-up lost"
        );
        // Breaks the slot → reader → waker → slot cycle.
        events.waker.lock().unwrap().take();
    });
}

/// What a stoppable reader saw.
#[derive(Default)]
struct StopLog {
    polls: AtomicUsize,
    drops: AtomicUsize,
    /// Set once `stop` returned.
    stopped: AtomicBool,
    /// Polls that began after `stop` returned: at most the one the poller
    /// had already decided on before `stop` took the lock.
    late_polls: AtomicUsize,
    /// Set once `stop` returned and every poller finished: no poll may
    /// begin after this.
    settled: AtomicBool,
}

/// A reader that wakes itself during its first two polls (so the poller
/// polls again, racing `stop`), and whose drop wakes its waker, as dropping
/// h2's stream handles may: that takes the slot's lock, so a drop under the
/// lock deadlocks.
struct Stoppable {
    log: Arc<StopLog>,
    waker: Option<Waker>,
}

impl Future for Stoppable {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        assert!(
            !self.log.settled.load(Ordering::SeqCst),
            "the reader was polled after it was stopped"
        );
        if self.log.stopped.load(Ordering::SeqCst) {
            let late = self.log.late_polls.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(late <= 1, "the reader was re-polled after it was stopped");
        }
        if self.log.polls.fetch_add(1, Ordering::SeqCst) < 2 {
            cx.waker().wake_by_ref();
        }
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Stoppable {
    fn drop(&mut self) {
        self.log.drops.fetch_add(1, Ordering::SeqCst);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// Guards against a reader that outlives its call: `stop` (the call ended
/// locally, through the h2 call's `close`) racing a poll that has the
/// future out of its slot. If the poller put the future back regardless, or re-polled it for
/// a wake-up after `stop`, the stopped reader would be polled again and
/// never dropped (the call's state and its reader hold each other: a leak).
/// Once `stop` returned and the poll under way finished, the reader was
/// dropped exactly once, with no lock held, and is never polled again.
#[test]
fn stopped_reader_is_dropped_once_and_never_polled() {
    model(|| {
        let log = Arc::new(StopLog::default());
        let slot = Arc::new(ReaderSlot::new());
        assert!(slot.install(Stoppable {
            log: log.clone(),
            waker: None,
        }));
        let poller = {
            let slot = slot.clone();
            thread::spawn(move || SlotWaker::poll(&slot))
        };
        let stopper = {
            let slot = slot.clone();
            let log = log.clone();
            thread::spawn(move || {
                slot.stop();
                log.stopped.store(true, Ordering::SeqCst);
            })
        };
        poller.join().unwrap();
        stopper.join().unwrap();
        assert_eq!(log.drops.load(Ordering::SeqCst), 1);
        log.settled.store(true, Ordering::SeqCst);
        SlotWaker::poll(&slot);
        assert!(!slot.note_wake(), "a stopped reader asked to be polled");
        assert!(!slot.install(Stoppable {
            log: log.clone(),
            waker: None,
        }));
        assert_eq!(log.drops.load(Ordering::SeqCst), 2);
    });
}

/// Guards against a dropped `UnaryFuture` being called back (rules 2 and
/// 8): the owner drops the future (which cancels the call and shuts its
/// executor down) while the transport's thread queues the completion. No
/// task may run once `drop` returned, even on a thread that still drains
/// the executor, nothing may panic, and nothing may leak (loom checks its
/// `Arc`s): the listener and the tasks holding it are freed.
#[test]
fn unary_future_dropped_while_its_completion_arrives() {
    model(|| {
        let exec = ThreadlessExecutor::new();
        // The listener, held by the call until one end takes it.
        let call: Arc<Mutex<Option<Box<dyn Listener<u32>>>>> = Arc::new(Mutex::new(None));
        let dropped = Arc::new(AtomicBool::new(false));
        let late = Arc::new(AtomicUsize::new(0));
        let task = {
            let late = late.clone();
            let dropped = dropped.clone();
            move |listener: Box<dyn Listener<u32>>, status: Status| -> Task {
                Box::new(move || {
                    if dropped.load(Ordering::SeqCst) {
                        late.fetch_add(1, Ordering::SeqCst);
                    }
                    let mut listener = listener;
                    if status.is_ok() {
                        listener.on_message(7);
                    }
                    listener.on_close(status, Metadata::new());
                })
            }
        };
        // As the real call does: a cancel closes the listener through the
        // call's executor.
        let cancel = {
            let exec = exec.clone();
            let call = call.clone();
            let task = task.clone();
            Box::new(move |status: Status| {
                let listener = call.lock().unwrap().take();
                if let Some(listener) = listener {
                    exec.execute(task(listener, status));
                }
            })
        };
        let (mut future, listener) = UnaryFuture::<u32>::from_parts(exec.clone(), cancel);
        *call.lock().unwrap() = Some(listener);
        let transport = {
            let exec = exec.clone();
            let call = call.clone();
            thread::spawn(move || {
                let listener = call.lock().unwrap().take();
                if let Some(listener) = listener {
                    exec.execute(task(listener, Status::ok()));
                }
            })
        };
        // The owner polls once (the completion may be queued already), then
        // drops the future.
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(result) = Pin::new(&mut future).poll(&mut cx) {
            assert_eq!(result.unwrap(), 7);
        }
        drop(future);
        dropped.store(true, Ordering::SeqCst);
        exec.drain_now();
        transport.join().unwrap();
        exec.drain_now();
        assert_eq!(late.load(Ordering::SeqCst), 0, "a task ran after drop");
    });
}

/// A stream's outbound flow control, as the connection grants it.
#[derive(Default)]
struct Window {
    open: bool,
    ended: bool,
    waker: Option<Waker>,
}

/// A call whose `poll_ready` follows [`Window`], registering the waker
/// before it says `Pending`, as the h2 call does.
#[derive(Default)]
struct FlowControlled(Mutex<Window>);

impl FlowControlled {
    /// The connection's thread changes the window and wakes the sender.
    fn update(&self, change: impl FnOnce(&mut Window)) {
        let waker = {
            let mut window = self.0.lock().unwrap();
            change(&mut window);
            window.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl ClientCall<u32, u32> for FlowControlled {
    fn start(&self, _: Box<dyn Listener<u32>>, _: Metadata) {}
    fn request(&self, _: usize) {}
    fn send_message(&self, _: u32) {}
    fn half_close(&self) {}
    fn cancel(&self, _: Status) {}
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut window = self.0.lock().unwrap();
        if window.ended {
            return Poll::Ready(false);
        }
        if window.open {
            return Poll::Ready(true);
        }
        window.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Guards against a lost unpark of a blocking bidi sender: the connection
/// grants window and wakes the sender's thread between its `poll_ready`
/// and its `park`. The sender must still return, ready (a lost unpark is a
/// loom deadlock).
#[test]
fn parked_sender_wakes_when_window_opens() {
    model(|| {
        let call = Arc::new(FlowControlled::default());
        let connection = {
            let call = call.clone();
            thread::spawn(move || call.update(|window| window.open = true))
        };
        assert!(wait_ready_parked(&*call));
        connection.join().unwrap();
    });
}

/// Guards against a blocking bidi sender that waits on, or sends into, a
/// call that ended: another thread ends the call (cancel, reset, the
/// receiver saw its end) while the sender is parked waiting for window.
/// The sender must wake and return `false`.
#[test]
fn parked_sender_returns_false_when_the_call_ends() {
    model(|| {
        let call = Arc::new(FlowControlled::default());
        let ender = {
            let call = call.clone();
            thread::spawn(move || call.update(|window| window.ended = true))
        };
        assert!(!wait_ready_parked(&*call));
        ender.join().unwrap();
    });
}

/// A waker that unparks a loom thread.
struct Unpark(thread::Thread);

impl Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// The I/O thread's turn until it steps aside: polls the step-aside future,
/// parking between polls as `block_on` would.
fn step_aside(handoff: &Handoff) {
    let waker = Waker::from(std::sync::Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    while handoff.poll_step_aside(&mut cx).is_pending() {
        thread::park();
    }
}

/// Guards against a caller that asks for the poller role while the I/O
/// thread is between "no caller wants it" and "wait": its arrival must
/// wake the I/O thread, which must step aside (else the caller would never
/// get the runtime's core, and its I/O would wait on the I/O thread's
/// next wake-up). A lost wake-up is a deadlock here.
#[test]
fn a_caller_arriving_always_makes_the_io_thread_step_aside() {
    model(|| {
        let handoff = Arc::new(Handoff::new());
        let caller = {
            let handoff = handoff.clone();
            thread::spawn(move || handoff.arrive())
        };
        step_aside(&handoff);
        caller.join().unwrap();
    });
}

/// Guards against a connection left with no poller: once the last of two
/// callers leaves, the I/O thread, waiting for that, must take the role
/// back, whatever the interleaving of their leaving and its wait. A lost
/// notify is a deadlock here.
#[test]
fn the_io_thread_takes_the_role_back_when_the_last_caller_leaves() {
    model(|| {
        let handoff = Arc::new(Handoff::new());
        handoff.arrive();
        handoff.arrive();
        let callers: Vec<_> = (0..2)
            .map(|_| {
                let handoff = handoff.clone();
                thread::spawn(move || handoff.leave())
            })
            .collect();
        // The I/O thread has stepped aside (model 1), and waits.
        handoff.wait_until_free(std::time::Duration::from_millis(1));
        for caller in callers {
            caller.join().unwrap();
        }
    });
}

/// Takes events from `cq` until it reports `Shutdown`.
fn take_until_shutdown(cq: &CompletionQueue<u32>) -> Vec<u32> {
    let mut got = Vec::new();
    loop {
        match cq.next(Deadline::after(Duration::from_secs(3600))) {
            Next::Event(event) => got.push(event),
            Next::Shutdown => return got,
            Next::Timeout => panic!("no timeout under loom"),
        }
    }
}

/// Guards the completion queue's turn-taking (one executor, one waiter,
/// several threads in `next`): two threads wait in `next` while a third
/// completes an operation and shuts the queue down. Each event goes to
/// exactly one of them, and both hear `Shutdown`: a wake-up lost between
/// the turn's holder (parked in the executor) and the others (on the
/// queue's condvar) shows up as a loom deadlock.
#[test]
fn completion_queue_gives_each_event_to_one_of_two_waiters() {
    model(|| {
        let cq = Arc::new(CompletionQueue::<u32>::new());
        assert!(cq.post(|| 1));
        let producer = {
            let cq = cq.clone();
            thread::spawn(move || {
                assert!(cq.post(|| 2));
                cq.shutdown();
            })
        };
        let other = {
            let cq = cq.clone();
            thread::spawn(move || take_until_shutdown(&cq))
        };
        let mut got = take_until_shutdown(&cq);
        got.extend(other.join().unwrap());
        producer.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}
