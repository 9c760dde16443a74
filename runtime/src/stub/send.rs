//! The sending side of streaming calls (layer: stub).
//!
//! Every sender waits for [`ClientCall::poll_ready`] before each message, so
//! outbound data never piles up past the stream's HTTP/2 window, and stops as
//! soon as the call can send nothing more.
//!
//! - [`RequestPump`] feeds an async request `Stream` into a call. It is
//!   polled by the response future or stream that owns it, on the caller's
//!   executor, a bounded number of messages per poll so that receiving is
//!   never starved.
//! - [`wait_ready_draining`] waits on the calling thread while running the
//!   call's callbacks (the thread owns the executor).
//! - [`wait_ready_parked`] waits on a thread that does not drain the
//!   executor (a bidi sender beside a receiver): readiness never depends on
//!   the executor, since the connection's thread wakes a waiting sender
//!   (more window, the stream ended, the pending call went through).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;

use crate::call::ClientCall;
use crate::channel::ChannelCall;
use crate::executor::ThreadlessExecutor;
use crate::sync::thread;

/// Messages a pump sends per poll before yielding.
const PUMP_BUDGET: usize = 32;

/// Wakes a waiter that is draining `executor`, by queueing an empty task.
struct ExecutorWaker(ThreadlessExecutor);

impl Wake for ExecutorWaker {
    fn wake(self: Arc<Self>) {
        self.0.execute(Box::new(|| {}));
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.execute(Box::new(|| {}));
    }
}

/// A waker that wakes whoever waits in `executor`.
pub(crate) fn executor_waker(executor: &ThreadlessExecutor) -> Waker {
    Waker::from(Arc::new(ExecutorWaker(executor.clone())))
}

/// Waits until `call` can take a message, running the call's callbacks on
/// this thread meanwhile. Returns false if the call can send nothing more.
pub(crate) fn wait_ready_draining<Req, Resp>(
    call: &dyn ClientCall<Req, Resp>,
    executor: &ThreadlessExecutor,
) -> bool {
    let waker = executor_waker(executor);
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(ready) = call.poll_ready(&mut cx) {
            return ready;
        }
        executor.wait_and_drain();
    }
}

/// Waits until `call` can take a message by parking this thread, holding
/// nothing another thread needs. Returns false if the call can send
/// nothing more.
///
/// No lost unpark: `call` stores the waker before it says `Pending`, and an
/// unpark that comes before the `park` leaves the thread's token set, so
/// that `park` returns at once and `poll_ready` looks again. Internal:
/// public only for the loom models in `tests/loom.rs`.
#[doc(hidden)]
pub fn wait_ready_parked<Req, Resp>(call: &dyn ClientCall<Req, Resp>) -> bool {
    let waker = thread::waker(thread::current());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(ready) = call.poll_ready(&mut cx) {
            return ready;
        }
        thread::park();
    }
}

/// Something a response future or stream polls to make progress on sending.
pub(crate) trait Pump: Send {
    /// `Ready` once there is nothing more to send.
    fn poll_pump(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// Sends the items of a request stream, then half-closes.
pub(crate) struct RequestPump<Req, Resp, S> {
    call: Arc<ChannelCall<Req, Resp>>,
    requests: Pin<Box<S>>,
}

impl<Req, Resp, S> RequestPump<Req, Resp, S> {
    pub(crate) fn new(call: Arc<ChannelCall<Req, Resp>>, requests: S) -> Self {
        RequestPump {
            call,
            requests: Box::pin(requests),
        }
    }
}

impl<Req, Resp, S> Pump for RequestPump<Req, Resp, S>
where
    Req: Send + 'static,
    Resp: Send + 'static,
    S: Stream<Item = Req> + Send + 'static,
{
    fn poll_pump(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..PUMP_BUDGET {
            match self.call.poll_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(false) => return Poll::Ready(()),
                Poll::Ready(true) => {}
            }
            match self.requests.as_mut().poll_next(cx) {
                Poll::Ready(Some(request)) => self.call.send_message(request),
                Poll::Ready(None) => {
                    self.call.half_close();
                    return Poll::Ready(());
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
