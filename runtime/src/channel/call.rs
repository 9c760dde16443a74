//! The call a channel hands out (layer: channel).
//!
//! [`ChannelCall`] wraps whichever call the channel chose (real, delayed or
//! failed) and adds what belongs to the call as a whole: the deadline timer
//! and the channel's count of calls in use (for idle mode).
//!
//! The deadline timer starts at `start` on the channel's runtime. When it
//! fires it cancels the call with `DEADLINE_EXCEEDED`; a call still waiting
//! for a connection says so in the message (rule 5). It is aborted as soon
//! as the listener hears `on_close`, so finished calls hold no timer.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::task::AbortHandle;

use crate::call::{ClientCall, DelayedClientCall, Listener};
use crate::channel::InUse;
use crate::deadline::Deadline;
use crate::metadata::Metadata;
use crate::status::Status;

/// A call made on a [`Channel`](crate::Channel).
pub struct ChannelCall<Req, Resp> {
    inner: Arc<dyn ClientCall<Req, Resp>>,
    delayed: Option<Arc<DelayedClientCall<Req, Resp>>>,
    deadline: Option<Deadline>,
    runtime: Option<tokio::runtime::Handle>,
    _in_use: InUse,
}

impl<Req: Send + 'static, Resp: Send + 'static> ChannelCall<Req, Resp> {
    pub(crate) fn new(
        inner: Arc<dyn ClientCall<Req, Resp>>,
        delayed: Option<Arc<DelayedClientCall<Req, Resp>>>,
        deadline: Option<Deadline>,
        runtime: Option<tokio::runtime::Handle>,
        in_use: InUse,
    ) -> Self {
        ChannelCall {
            inner,
            delayed,
            deadline,
            runtime,
            _in_use: in_use,
        }
    }

    fn start_deadline_timer(&self, deadline: Deadline) -> Option<AbortHandle> {
        let runtime = self.runtime.as_ref()?;
        let call = self.inner.clone();
        let delayed = self.delayed.clone();
        let started = Instant::now();
        let task = runtime.spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(deadline.instant())).await;
            let waited = started.elapsed().as_secs_f64();
            let message = if delayed.is_some_and(|d| d.is_pending()) {
                format!("deadline exceeded after {waited:.3}s while waiting for a ready connection")
            } else {
                format!("deadline exceeded after {waited:.3}s")
            };
            call.cancel(Status::deadline_exceeded(message));
        });
        Some(task.abort_handle())
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> ClientCall<Req, Resp> for ChannelCall<Req, Resp> {
    fn start(&self, listener: Box<dyn Listener<Resp>>, headers: Metadata) {
        let listener = match self.deadline.and_then(|d| self.start_deadline_timer(d)) {
            Some(timer) => Box::new(TimerGuard {
                inner: listener,
                timer,
            }),
            None => listener,
        };
        self.inner.start(listener, headers);
    }

    fn request(&self, n: usize) {
        self.inner.request(n);
    }

    fn send_message(&self, message: Req) {
        self.inner.send_message(message);
    }

    fn send_last(&self, message: Req) {
        self.inner.send_last(message);
    }

    fn half_close(&self) {
        self.inner.half_close();
    }

    fn set_message_compression(&self, enabled: bool) {
        self.inner.set_message_compression(enabled);
    }

    fn cancel(&self, status: Status) {
        self.inner.cancel(status);
    }

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<bool> {
        self.inner.poll_ready(cx)
    }
}

/// Aborts the deadline timer when the call closes.
struct TimerGuard<Resp> {
    inner: Box<dyn Listener<Resp>>,
    timer: AbortHandle,
}

impl<Resp: 'static> Listener<Resp> for TimerGuard<Resp> {
    fn on_headers(&mut self, headers: Metadata) {
        self.inner.on_headers(headers);
    }
    fn on_message(&mut self, message: Resp) {
        self.inner.on_message(message);
    }
    fn on_close(&mut self, status: Status, trailers: Metadata) {
        self.timer.abort();
        self.inner.on_close(status, trailers);
    }
}
