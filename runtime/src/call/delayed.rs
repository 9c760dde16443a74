//! The pending call: `DelayedClientCall` (layer: call).
//!
//! A call made before the channel has a ready transport starts life here.
//! Everything the caller does is buffered, in order: `start`, `request`,
//! `send_message`, `half_close`, `cancel`. When the channel gets a transport
//! it creates the real call and calls [`DelayedClientCall::set_call`], which
//! (rule 5 of the design):
//! 1. starts the real call synchronously, on the channel's thread;
//! 2. returns a drain task, to be run on the call's own executor, that replays
//!    the buffered operations in order and then switches the call to
//!    pass-through.
//!
//! Listener callbacks from the real call pass through a gate that holds them
//! back until the drain has finished, so the listener never hears of a
//! response before the caller's buffered operations reached the real call.
//!
//! A cancel before `set_call` closes the call right away (its `on_close` is
//! scheduled on the call's executor) and a later `set_call` is refused, so no
//! stream is ever opened for it.
//!
//! ```text
//!   pending ──set_call──► draining ──drain task done──► pass-through
//!      │                      │ (ops still buffered)
//!      └──cancel──► cancelled (set_call refused)
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::call::failed::close_on;
use crate::call::{ClientCall, Listener, SharedCall, catch_user_panic};
use crate::executor::{Task, ThreadlessExecutor};
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

    /// Hands the call over to `real`.
    ///
    /// Starts `real` now if the caller already started this call, and
    /// returns the task that replays the other buffered operations; run it on
    /// this call's executor. Returns `None`, and leaves `real` unstarted, if
    /// this call was cancelled or already has a real call.
    pub fn set_call(self: &Arc<Self>, real: Arc<dyn ClientCall<Req, Resp>>) -> Option<Task> {
        let start = {
            let mut state = lock(&self.state);
            if !matches!(state.phase, Phase::Pending) {
                return None;
            }
            state.phase = Phase::Draining;
            match state.ops.first() {
                Some(Op::Start(..)) => Some(state.ops.remove(0)),
                _ => None,
            }
        };
        if let Some(Op::Start(listener, headers)) = start {
            real.start(listener, headers);
        }
        let this = self.clone();
        Some(Box::new(move || this.drain(real)))
    }

    /// Replays buffered operations until none is left, then passes through.
    fn drain(&self, real: Arc<dyn ClientCall<Req, Resp>>) {
        loop {
            let (gate, waker) = {
                let mut state = lock(&self.state);
                if state.ops.is_empty() {
                    state.phase = Phase::PassThrough(real.clone());
                    (state.gate.take(), state.ready_waker.take())
                } else {
                    let ops = std::mem::take(&mut state.ops);
                    drop(state);
                    for op in ops {
                        apply(&*real, op);
                    }
                    continue;
                }
            };
            if let Some(waker) = waker {
                waker.wake();
            }
            if let Some(gate) = gate
                && let Err(panic) = gate.open()
            {
                real.cancel(Status::cancelled(panic));
            }
            return;
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

/// Holds listener callbacks until the drain task opens it.
struct Gate<Resp> {
    state: Mutex<GateState<Resp>>,
}

struct GateState<Resp> {
    listener: Option<Box<dyn Listener<Resp>>>,
    held: VecDeque<Event<Resp>>,
    open: bool,
}

impl<Resp: Send + 'static> Gate<Resp> {
    fn new(listener: Box<dyn Listener<Resp>>) -> Arc<Self> {
        Arc::new(Gate {
            state: Mutex::new(GateState {
                listener: Some(listener),
                held: VecDeque::new(),
                open: false,
            }),
        })
    }

    /// Delivers `event` now if the gate is open, else holds it.
    fn push(&self, event: Event<Resp>) {
        let mut state = lock(&self.state);
        if !state.open || !state.held.is_empty() {
            state.held.push_back(event);
            return;
        }
        let Some(mut listener) = state.listener.take() else {
            return;
        };
        drop(state);
        let outcome = catch_user_panic("listener", || deliver(&mut *listener, event));
        lock(&self.state).listener = Some(listener);
        if let Err(panic) = outcome {
            // Let the real call see the panic, so it cancels and closes (rule 6).
            std::panic::resume_unwind(Box::new(panic));
        }
    }

    /// Delivers what was held, then lets later events straight through.
    /// On a listener panic the held messages are dropped and a held close,
    /// if any, is delivered as CANCELLED; the error says the caller must
    /// cancel the real call if no close was held.
    fn open(&self) -> Result<(), String> {
        loop {
            let mut state = lock(&self.state);
            let Some(event) = state.held.pop_front() else {
                state.open = true;
                return Ok(());
            };
            let Some(mut listener) = state.listener.take() else {
                state.held.clear();
                state.open = true;
                return Ok(());
            };
            drop(state);
            let is_close = matches!(event, Event::Close(..));
            let outcome = catch_user_panic("listener", || deliver(&mut *listener, event));
            let mut state = lock(&self.state);
            if is_close {
                state.open = true;
                state.held.clear();
                if let Err(panic) = outcome {
                    tracing::error!("{panic}; the call was already closed");
                }
                return Ok(());
            }
            if let Err(panic) = outcome {
                let close = state.held.drain(..).find(|e| matches!(e, Event::Close(..)));
                state.open = true;
                drop(state);
                if close.is_some() {
                    let status = Status::cancelled(panic.clone());
                    let _ = catch_user_panic("listener on_close", || {
                        listener.on_close(status, Metadata::new())
                    });
                    return Ok(());
                }
                lock(&self.state).listener = Some(listener);
                return Err(panic);
            }
            state.listener = Some(listener);
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
