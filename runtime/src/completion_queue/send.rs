//! One call's sending side on a completion queue (layer: stub): `write`
//! and `writes_done`, one at a time.
//!
//! A write completes once its message was handed to the call within the
//! stream's send window: it waits for [`ClientCall::poll_ready`], as the
//! stub's senders do, so a writer that writes again on each completion
//! never buffers past the window. The waker of a waiting write queues the
//! write again on the queue's executor (the connection's thread wakes it:
//! more window, the pending call went through, the call ended), and the
//! call's end completes it too (the end hook), with the end's status.
//!
//! Runs on the queue's executor only, like the receiving side, so writes,
//! their wake-ups and the end never race. Encoding happens here, on the
//! thread whose turn it is in `next`; no lock is held while it runs.

use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};

use crate::call::ClientCall;
use crate::channel::ChannelCall;
use crate::executor::ThreadlessExecutor;
use crate::status::Status;
use crate::sync::{Mutex, lock};

use super::call_state::CallState;
use super::core::{Core, event};

/// The tag of a `write` or `writes_done`.
pub(crate) type WriteTag<E> = Box<dyn FnOnce(Result<(), Status>) -> E + Send>;

enum SendOp<Req, E> {
    Write(Req, WriteTag<E>),
    Done(WriteTag<E>),
}

/// A call's sending side.
pub(crate) struct SendSide<Req, Resp, E> {
    core: Arc<Core<E>>,
    call: Arc<ChannelCall<Req, Resp>>,
    state: Arc<CallState<Resp, E>>,
    inner: Mutex<SendInner<Req, E>>,
}

struct SendInner<Req, E> {
    /// The operation waiting for the call to be ready.
    waiting: Option<SendOp<Req, E>>,
    /// An operation was accepted and has not completed.
    busy: bool,
    half_closed: bool,
}

impl<Req: Send + 'static, Resp: Send + 'static, E: 'static> SendSide<Req, Resp, E> {
    /// The sending side of `call`; a pending write completes when the call
    /// ends.
    pub(crate) fn new(
        core: Arc<Core<E>>,
        call: Arc<ChannelCall<Req, Resp>>,
        state: Arc<CallState<Resp, E>>,
    ) -> Arc<Self> {
        let send = Arc::new(SendSide {
            core,
            call,
            state: state.clone(),
            inner: Mutex::new(SendInner {
                waiting: None,
                busy: false,
                half_closed: false,
            }),
        });
        let weak = Arc::downgrade(&send);
        state.set_end_hook(Box::new(move || {
            if let Some(send) = weak.upgrade() {
                send.drive();
            }
        }));
        send
    }

    /// Starts a write (on the executor).
    pub(crate) fn write(self: &Arc<Self>, message: Req, tag: WriteTag<E>) {
        self.begin(SendOp::Write(message, tag));
    }

    /// Starts a writes-done (on the executor).
    pub(crate) fn writes_done(self: &Arc<Self>, tag: WriteTag<E>) {
        self.begin(SendOp::Done(tag));
    }

    fn begin(self: &Arc<Self>, op: SendOp<Req, E>) {
        let refused = {
            let mut inner = lock(&self.inner);
            if inner.busy {
                Some(op)
            } else {
                inner.busy = true;
                inner.waiting = Some(op);
                None
            }
        };
        match refused {
            Some(op) => self.core.post(event(
                op.into_tag(),
                Err(Status::failed_precondition(
                    "a write or writes_done is already pending on this call: one at a time",
                )),
            )),
            None => self.drive(),
        }
    }

    /// Moves the waiting operation on, if it can: on the executor, after a
    /// write began, its waker fired, or the call ended.
    fn drive(self: &Arc<Self>) {
        let (op, half_closed) = {
            let mut inner = lock(&self.inner);
            match inner.waiting.take() {
                Some(op) => (op, inner.half_closed),
                None => return,
            }
        };
        if let Some(end) = self.state.end() {
            let status = if end.is_ok() {
                Status::failed_precondition("the call has already ended")
            } else {
                end
            };
            return self.complete(op, Err(status));
        }
        if half_closed {
            return self.complete(
                op,
                Err(Status::failed_precondition(
                    "writes_done was already called on this call",
                )),
            );
        }
        match op {
            SendOp::Done(tag) => {
                lock(&self.inner).half_closed = true;
                self.call.half_close();
                self.complete(SendOp::Done(tag), Ok(()));
            }
            SendOp::Write(message, tag) => {
                let waker = Waker::from(Arc::new(DriveWaker {
                    executor: self.core.executor.clone(),
                    send: Arc::downgrade(self),
                }));
                match self.call.poll_ready(&mut Context::from_waker(&waker)) {
                    Poll::Ready(true) => {
                        self.call.send_message(message);
                        self.complete(SendOp::Done(tag), Ok(()));
                    }
                    // Pending: the waker drives it again. Ready(false): the
                    // call ended (it was not half-closed), and its end,
                    // coming through the executor, completes the write
                    // with the end's status.
                    Poll::Pending | Poll::Ready(false) => {
                        lock(&self.inner).waiting = Some(SendOp::Write(message, tag));
                    }
                }
            }
        }
    }

    /// Completes `op` with `result`; the next operation may begin.
    fn complete(&self, op: SendOp<Req, E>, result: Result<(), Status>) {
        lock(&self.inner).busy = false;
        self.core.post(event(op.into_tag(), result));
    }
}

impl<Req, E> SendOp<Req, E> {
    /// The operation's tag (a write's message, not sent, is dropped).
    fn into_tag(self) -> WriteTag<E> {
        match self {
            SendOp::Write(_, tag) | SendOp::Done(tag) => tag,
        }
    }
}

/// Wakes a waiting write: queues it again on the queue's executor.
struct DriveWaker<Req, Resp, E> {
    executor: ThreadlessExecutor,
    send: Weak<SendSide<Req, Resp, E>>,
}

impl<Req: Send + 'static, Resp: Send + 'static, E: 'static> Wake for DriveWaker<Req, Resp, E> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let send = self.send.clone();
        self.executor.execute(Box::new(move || {
            if let Some(send) = send.upgrade() {
                send.drive();
            }
        }));
    }
}
