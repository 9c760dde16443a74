//! A call whose outcome was decided before it began (layer: call).
//!
//! The channel returns one for a fail-fast call on a channel in
//! `TRANSIENT_FAILURE` or `SHUTDOWN`: `start` schedules `on_close(status)` on
//! the call's executor, and nothing ever reaches the network.

use std::task::{Context, Poll};

use crate::call::{ClientCall, Listener, catch_user_panic};
use crate::executor::ThreadlessExecutor;
use crate::metadata::Metadata;
use crate::status::Status;
use crate::sync::{Mutex, lock};

/// A call that closes with a fixed status as soon as it starts.
pub struct FailedCall {
    status: Mutex<Option<Status>>,
    executor: ThreadlessExecutor,
}

impl FailedCall {
    /// A call that will close with `status` on `executor`.
    pub fn new(status: Status, executor: ThreadlessExecutor) -> FailedCall {
        FailedCall {
            status: Mutex::new(Some(status)),
            executor,
        }
    }
}

/// Schedules `listener.on_close(status)` on `executor`.
pub(crate) fn close_on<Resp: 'static>(
    executor: &ThreadlessExecutor,
    mut listener: Box<dyn Listener<Resp>>,
    status: Status,
) {
    executor.execute(Box::new(move || {
        if let Err(panic) = catch_user_panic("listener on_close", || {
            listener.on_close(status, Metadata::new())
        }) {
            tracing::error!("{panic}; the call was already closed");
        }
    }));
}

impl<Req, Resp: 'static> ClientCall<Req, Resp> for FailedCall {
    fn start(&self, listener: Box<dyn Listener<Resp>>, _headers: Metadata) {
        let status = lock(&self.status)
            .take()
            .unwrap_or_else(|| Status::internal("call started twice"));
        close_on(&self.executor, listener, status);
    }
    fn request(&self, _n: usize) {}
    fn send_message(&self, _message: Req) {}
    fn half_close(&self) {}
    fn cancel(&self, _status: Status) {}
    fn poll_ready(&self, _cx: &mut Context<'_>) -> Poll<bool> {
        Poll::Ready(false)
    }
}
