//! The pending call: `DelayedClientCall` (layer: call).
//!
//! A call made before the channel has a ready transport starts life here.
//! Everything the caller does is buffered, in order: `start`, `request`,
//! `send_message`, `half_close`, `cancel`. When the channel gets a transport
//! it creates the real call and calls [`DelayedClientCall::set_call`], which
//! (rule 5) replays the buffered operations on the real call,
//! in order, synchronously, on the channel's thread, and then switches the
//! call to pass-through. The replay runs no user code but the codec, so it
//! need not wait for the caller: a call starts when the stub method is
//! called, even on a cold channel whose future nobody polls yet, and a
//! cancel or deadline that lands meanwhile reaches the wire at once.
//!
//! Listener callbacks are user code, so they alone go through the call's
//! executor. The real call's callbacks pass through a gate that holds them
//! until a task on that executor opens it, after the replay: the listener
//! never hears of a response before the caller's buffered operations
//! reached the real call, and always on the caller's thread. A listener
//! that panics shuts the gate for good: nothing but a CANCELLED close
//! reaches it after that.
//!
//! A cancel before `set_call` closes the call right away (its `on_close` is
//! scheduled on the call's executor) and a later `set_call` is refused, so no
//! stream is ever opened for it.
//!
//! ```text
//!   pending ──set_call──► draining ──replay done──► pass-through
//!      │                 (set_call's thread; ops
//!      │                  added meanwhile replay too)
//!      └──cancel──► cancelled (set_call refused)
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::call::failed::close_on;
use crate::call::{ClientCall, Listener, SharedCall, catch_user_panic};
use crate::executor::ThreadlessExecutor;
use crate::metadata::Metadata;
use crate::status::Status;
use crate::sync::{Mutex, lock};

/// A call that buffers its operations until a real call is available.
pub struct DelayedClientCall<Req, Resp> {
    executor: ThreadlessExecutor,
    state: Mutex<State<Req, Resp>>,
}

enum Op<Req, Resp> {
    Start(Box<dyn Listener<Resp>>, Metadata),
    Request(usize),
    Send(Req),
    HalfClose,
    Cancel(Status),
    Compression(bool),
}

enum Phase<Req, Resp> {
    Pending,
    Draining,
    PassThrough(Arc<dyn ClientCall<Req, Resp>>),
    /// Cancelled before a real call arrived; holds the status for a late `start`.
    Cancelled(Status),
}

struct State<Req, Resp> {
    phase: Phase<Req, Resp>,
    ops: Vec<Op<Req, Resp>>,
    gate: Option<Arc<Gate<Resp>>>,
    /// A sender waiting in `poll_ready` until the call passes through.
    ready_waker: Option<Waker>,
}

impl<Req: Send + 'static, Resp: Send + 'static> DelayedClientCall<Req, Resp> {
    /// A pending call whose callbacks will run on `executor`.
    pub fn new(executor: ThreadlessExecutor) -> Self {
        DelayedClientCall {
            executor,
            state: Mutex::new(State {
                phase: Phase::Pending,
                ops: Vec::new(),
                gate: None,
                ready_waker: None,
            }),
        }
    }

    /// Whether the call still waits for a real call (not set, not cancelled).
    pub fn is_pending(&self) -> bool {
        matches!(lock(&self.state).phase, Phase::Pending)
    }

    /// Whether the call was cancelled before a real call arrived.
    pub fn is_cancelled(&self) -> bool {
        matches!(lock(&self.state).phase, Phase::Cancelled(_))
    }

    /// Hands the call over to `real`: replays every buffered operation on
    /// it now, in order, on this thread, then passes everything through.
    /// The listener hears of `real` once a task on this call's executor
    /// opened the gate. Returns false, and leaves `real` unstarted, if this
    /// call was cancelled or already has a real call.
    pub fn set_call(&self, real: Arc<dyn ClientCall<Req, Resp>>) -> bool {
        {
            let mut state = lock(&self.state);
            if !matches!(state.phase, Phase::Pending) {
                return false;
            }
            state.phase = Phase::Draining;
        }
        self.drain(real);
        true
    }

    /// Replays buffered operations until none is left, then passes through
    /// and has the executor open the gate.
    fn drain(&self, real: Arc<dyn ClientCall<Req, Resp>>) {
        let (gate, waker) = loop {
            let ops = {
                let mut state = lock(&self.state);
                if state.ops.is_empty() {
                    state.phase = Phase::PassThrough(real.clone());
                    break (state.gate.take(), state.ready_waker.take());
                }
                std::mem::take(&mut state.ops)
            };
            for op in ops {
                apply(&*real, op);
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        if let Some(gate) = gate {
            self.executor.execute(Box::new(move || {
                if let Err(panic) = gate.open() {
                    real.cancel(Status::cancelled(panic));
                }
            }));
        }
    }

    /// Buffers `op`, or returns the real call to apply it to now.
    fn buffer_or_forward(
        &self,
        op: Op<Req, Resp>,
    ) -> Option<(SharedCall<Req, Resp>, Op<Req, Resp>)> {
        let mut state = lock(&self.state);
        match &state.phase {
            Phase::PassThrough(real) => Some((real.clone(), op)),
            Phase::Pending | Phase::Draining => {
                state.ops.push(op);
                None
            }
            Phase::Cancelled(_) => None,
        }
    }
}

fn apply<Req, Resp>(real: &dyn ClientCall<Req, Resp>, op: Op<Req, Resp>) {
    match op {
        Op::Start(listener, headers) => real.start(listener, headers),
        Op::Request(n) => real.request(n),
        Op::Send(message) => real.send_message(message),
        Op::HalfClose => real.half_close(),
        Op::Compression(enabled) => real.set_message_compression(enabled),
        Op::Cancel(status) => real.cancel(status),
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> ClientCall<Req, Resp>
    for DelayedClientCall<Req, Resp>
{
    fn start(&self, listener: Box<dyn Listener<Resp>>, headers: Metadata) {
        let mut state = lock(&self.state);
        match &state.phase {
            Phase::PassThrough(real) => {
                let real = real.clone();
                drop(state);
                real.start(listener, headers);
            }
            Phase::Cancelled(status) => {
                let status = status.clone();
                drop(state);
                close_on(&self.executor, listener, status);
            }
            Phase::Pending | Phase::Draining => {
                let gate = Gate::new(listener);
                state.gate = Some(gate.clone());
                state
                    .ops
                    .push(Op::Start(Box::new(GateListener(gate)), headers));
            }
        }
    }

    fn request(&self, n: usize) {
        if let Some((real, op)) = self.buffer_or_forward(Op::Request(n)) {
            apply(&*real, op);
        }
    }

    fn send_message(&self, message: Req) {
        if let Some((real, op)) = self.buffer_or_forward(Op::Send(message)) {
            apply(&*real, op);
        }
    }

    fn half_close(&self) {
        if let Some((real, op)) = self.buffer_or_forward(Op::HalfClose) {
            apply(&*real, op);
        }
    }

    fn set_message_compression(&self, enabled: bool) {
        if let Some((real, op)) = self.buffer_or_forward(Op::Compression(enabled)) {
            apply(&*real, op);
        }
    }

    fn cancel(&self, status: Status) {
        let mut state = lock(&self.state);
        match &state.phase {
            Phase::Pending => {
                state.phase = Phase::Cancelled(status.clone());
                let ops = std::mem::take(&mut state.ops);
                let gate = state.gate.take();
                let waker = state.ready_waker.take();
                drop(state);
                drop(ops);
                if let Some(waker) = waker {
                    waker.wake();
                }
                if let Some(gate) = gate {
                    // The listener was wrapped at start: close it through
                    // the gate, on the call's executor (rule 3: the caller
                    // keeps draining until this has run).
                    self.executor.execute(Box::new(move || {
                        gate.push(Event::Close(status, Metadata::new()));
                        if let Err(panic) = gate.open() {
                            tracing::error!("{panic}; the call was already closed");
                        }
                    }));
                }
            }
            Phase::Draining => state.ops.push(Op::Cancel(status)),
            Phase::PassThrough(real) => {
                let real = real.clone();
                drop(state);
                real.cancel(status);
            }
            Phase::Cancelled(_) => {}
        }
    }

    /// Not ready while pending or draining (so a sender cannot pile up
    /// messages before a stream exists); then the real call decides.
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut state = lock(&self.state);
        match &state.phase {
            Phase::PassThrough(real) => {
                let real = real.clone();
                drop(state);
                real.poll_ready(cx)
            }
            Phase::Cancelled(_) => Poll::Ready(false),
            Phase::Pending | Phase::Draining => {
                state.ready_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A listener callback held back by a [`Gate`].
enum Event<Resp> {
    Headers(Metadata),
    Message(Resp),
    Close(Status, Metadata),
}

/// Holds listener callbacks until a task on the call's executor opens it;
/// shut for good once the listener panicked.
struct Gate<Resp> {
    state: Mutex<GateState<Resp>>,
}

struct GateState<Resp> {
    listener: Option<Box<dyn Listener<Resp>>>,
    held: VecDeque<Event<Resp>>,
    open: bool,
    /// The listener panicked (the panic's message): later events are
    /// dropped, and a close reaches it only as CANCELLED.
    failed: Option<String>,
}

impl<Resp: Send + 'static> Gate<Resp> {
    fn new(listener: Box<dyn Listener<Resp>>) -> Arc<Self> {
        Arc::new(Gate {
            state: Mutex::new(GateState {
                listener: Some(listener),
                held: VecDeque::new(),
                open: false,
                failed: None,
            }),
        })
    }

    /// Delivers `event` now if the gate is open, else holds it. A listener
    /// panic is re-raised, so that the real call cancels (rule 6).
    fn push(&self, event: Event<Resp>) {
        let mut state = lock(&self.state);
        if let Some(panic) = state.failed.clone() {
            drop(state);
            return self.close_failed(event, panic);
        }
        if !state.open || !state.held.is_empty() {
            state.held.push_back(event);
            return;
        }
        let Some(mut listener) = state.listener.take() else {
            return;
        };
        drop(state);
        let outcome = catch_user_panic("listener", || deliver(&mut *listener, event));
        let mut state = lock(&self.state);
        state.listener = Some(listener);
        if let Err(panic) = outcome {
            state.failed = Some(panic.clone());
            drop(state);
            std::panic::resume_unwind(Box::new(panic));
        }
    }

    /// After a listener panic: a close reaches the listener as CANCELLED
    /// with the panic's message; anything else is dropped.
    fn close_failed(&self, event: Event<Resp>, panic: String) {
        if !matches!(event, Event::Close(..)) {
            return;
        }
        let Some(mut listener) = lock(&self.state).listener.take() else {
            return;
        };
        let status = Status::cancelled(panic);
        if let Err(again) = catch_user_panic("listener on_close", || {
            listener.on_close(status, Metadata::new())
        }) {
            tracing::error!("{again}; the call was already closed");
        }
    }

    /// Delivers what was held, then lets later events straight through.
    /// On a listener panic the gate shuts for good: the held messages are
    /// dropped and a held close, if any, is delivered as CANCELLED; if none
    /// was held, the error tells the caller to cancel the real call, whose
    /// close then arrives as CANCELLED.
    fn open(&self) -> Result<(), String> {
        loop {
            let mut state = lock(&self.state);
            let Some(event) = state.held.pop_front() else {
                state.open = true;
                return Ok(());
            };
            if state.failed.is_some() {
                state.held.clear();
                state.open = true;
                return Ok(());
            }
            let Some(mut listener) = state.listener.take() else {
                state.held.clear();
                state.open = true;
                return Ok(());
            };
            drop(state);
            let outcome = catch_user_panic("listener", || deliver(&mut *listener, event));
            let mut state = lock(&self.state);
            state.listener = Some(listener);
            if let Err(panic) = outcome {
                state.failed = Some(panic.clone());
                let close = state.held.drain(..).find(|e| matches!(e, Event::Close(..)));
                state.open = true;
                drop(state);
                return match close {
                    Some(close) => {
                        self.close_failed(close, panic);
                        Ok(())
                    }
                    None => Err(panic),
                };
            }
        }
    }
}

fn deliver<Resp: 'static>(listener: &mut dyn Listener<Resp>, event: Event<Resp>) {
    match event {
        Event::Headers(headers) => listener.on_headers(headers),
        Event::Message(message) => listener.on_message(message),
        Event::Close(status, trailers) => listener.on_close(status, trailers),
    }
}

/// The listener the real call sees: everything goes through the gate.
struct GateListener<Resp>(Arc<Gate<Resp>>);

impl<Resp: Send + 'static> Listener<Resp> for GateListener<Resp> {
    fn on_headers(&mut self, headers: Metadata) {
        self.0.push(Event::Headers(headers));
    }
    fn on_message(&mut self, message: Resp) {
        self.0.push(Event::Message(message));
    }
    fn on_close(&mut self, status: Status, trailers: Metadata) {
        self.0.push(Event::Close(status, trailers));
    }
}

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use super::*;
    use crate::status::Code;

    /// A listener that records what it hears and panics on message 1.
    struct Fragile(Arc<Mutex<Vec<String>>>);

    impl Listener<u32> for Fragile {
        fn on_headers(&mut self, _: Metadata) {
            lock(&self.0).push("headers".into());
        }
        fn on_message(&mut self, message: u32) {
            lock(&self.0).push(format!("message {message}"));
            assert_ne!(message, 1, "listener bug");
        }
        fn on_close(&mut self, status: Status, _: Metadata) {
            lock(&self.0).push(format!("close {}", status.code()));
        }
    }

    /// A real call that keeps the listener it was started with, so the
    /// test can play what a racing real call might still deliver.
    #[derive(Default)]
    struct Real(Mutex<Option<Box<dyn Listener<u32>>>>);

    impl ClientCall<u32, u32> for Real {
        fn start(&self, listener: Box<dyn Listener<u32>>, _: Metadata) {
            *lock(&self.0) = Some(listener);
        }
        fn request(&self, _: usize) {}
        fn send_message(&self, _: u32) {}
        fn half_close(&self) {}
        fn cancel(&self, _: Status) {}
    }

    /// Rule 6 (point 12 of issue 10): once the listener panicked, later
    /// messages and an OK close never reach it; it hears one CANCELLED close.
    #[test]
    fn a_listener_that_panicked_hears_nothing_but_a_cancelled_close() {
        let executor = ThreadlessExecutor::new();
        let delayed = DelayedClientCall::<u32, u32>::new(executor.clone());
        let heard = Arc::new(Mutex::new(Vec::new()));
        delayed.start(Box::new(Fragile(heard.clone())), Metadata::new());
        let real = Arc::new(Real::default());
        assert!(delayed.set_call(real.clone()));
        assert_eq!(executor.drain_now(), 1, "the gate opens on the executor");
        let mut listener = lock(&real.0).take().expect("started");
        listener.on_headers(Metadata::new());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            listener.on_message(1);
        }));
        assert!(panicked.is_err(), "the panic reaches the real call");
        // What a real call racing its own cancel might still deliver.
        listener.on_message(2);
        listener.on_close(Status::ok(), Metadata::new());
        listener.on_close(Status::ok(), Metadata::new());
        let heard = lock(&heard).clone();
        assert_eq!(
            heard,
            [
                "headers".to_string(),
                "message 1".into(),
                format!("close {}", Code::Cancelled)
            ]
        );
    }
}
