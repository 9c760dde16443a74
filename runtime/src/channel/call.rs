//! The call a channel hands out (layer: channel).
//!
//! [`ChannelCall`] wraps whichever call the channel chose (real, delayed or
//! failed) and adds what belongs to the call as a whole: the deadline timer
//! and the channel's count of calls in use (for idle mode).
//!
//! The deadline timer starts at `start` on the channel's runtime. When it
//! fires it cancels the call with `DEADLINE_EXCEEDED`; a call still waiting
//! for a connection says so in the message (rule 5). It is aborted as soon
//! as the listener hears `on_close`, or when the `ChannelCall` is dropped
//! (a future dropped before its end), and it holds the call only weakly:
//! no timer or call state outlives its call (rule 9).

use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::task::AbortHandle;

use crate::call::{ClientCall, DelayedClientCall, Listener};
use crate::channel::usage::InUse;
use crate::deadline::Deadline;
use crate::metadata::Metadata;
use crate::status::{Code, Status};
use crate::sync::{Mutex, lock};

/// A call made on a [`Channel`](crate::Channel).
pub struct ChannelCall<Req, Resp> {
    inner: Arc<dyn ClientCall<Req, Resp>>,
    delayed: Option<Arc<DelayedClientCall<Req, Resp>>>,
    deadline: Option<Deadline>,
    runtime: Option<tokio::runtime::Handle>,
    /// The deadline timer, once started.
    timer: Mutex<Option<AbortHandle>>,
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
            timer: Mutex::new(None),
            _in_use: in_use,
        }
    }

    fn start_deadline_timer(&self, deadline: Deadline) -> Option<AbortHandle> {
        let runtime = self.runtime.as_ref()?;
        let call: Weak<dyn ClientCall<Req, Resp>> = Arc::downgrade(&self.inner);
        let delayed = self.delayed.as_ref().map(Arc::downgrade);
        let started = Instant::now();
        let task = runtime.spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(deadline.instant())).await;
            let waited = started.elapsed().as_secs_f64();
            let Some(call) = call.upgrade() else {
                return;
            };
            let pending = delayed
                .and_then(|d| d.upgrade())
                .is_some_and(|d| d.is_pending());
            let message = if pending {
                format!("deadline exceeded after {waited:.3}s while waiting for a ready connection")
            } else {
                format!("deadline exceeded after {waited:.3}s")
            };
            call.cancel(Status::deadline_exceeded(message));
        });
        let handle = task.abort_handle();
        *lock(&self.timer) = Some(handle.clone());
        Some(handle)
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> ClientCall<Req, Resp> for ChannelCall<Req, Resp> {
    fn start(&self, listener: Box<dyn Listener<Resp>>, headers: Metadata) {
        let listener = match self
            .deadline
            .and_then(|d| Some((d, self.start_deadline_timer(d)?)))
        {
            Some((deadline, timer)) => Box::new(TimerGuard {
                inner: listener,
                timer,
                deadline,
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

impl<Req, Resp> Drop for ChannelCall<Req, Resp> {
    fn drop(&mut self) {
        if let Some(timer) = lock(&self.timer).take() {
            timer.abort();
        }
    }
}

/// Aborts the deadline timer when the call closes, and reports a close
/// that raced the deadline as the deadline.
struct TimerGuard<Resp> {
    inner: Box<dyn Listener<Resp>>,
    timer: AbortHandle,
    deadline: Deadline,
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
        // A server that enforces grpc-timeout itself may cancel the call
        // just before our own timer fires; the caller's deadline is what
        // happened (grpc-java reports it the same way).
        let status = if status.code() == Code::Cancelled && self.deadline.is_expired() {
            Status::deadline_exceeded(format!(
                "deadline exceeded (the server cancelled the call at its deadline: {})",
                status.message()
            ))
            .with_trailers(status.trailers().clone())
        } else {
            status
        };
        self.inner.on_close(status, trailers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    struct Record(Arc<Mutex<Option<Status>>>);
    impl Listener<()> for Record {
        fn on_message(&mut self, _: ()) {}
        fn on_close(&mut self, status: Status, _: Metadata) {
            *self.0.lock().unwrap() = Some(status);
        }
    }

    fn guard(
        deadline: Deadline,
        seen: &Arc<Mutex<Option<Status>>>,
    ) -> (TimerGuard<()>, tokio::runtime::Runtime) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let timer = runtime.spawn(std::future::pending::<()>()).abort_handle();
        let guard = TimerGuard {
            inner: Box::new(Record(seen.clone())),
            timer,
            deadline,
        };
        (guard, runtime)
    }

    #[test]
    fn a_server_cancel_at_the_deadline_is_reported_as_the_deadline() {
        let seen = Arc::new(Mutex::new(None));
        let (mut guard, _rt) = guard(
            Deadline::at(Instant::now() - Duration::from_millis(1)),
            &seen,
        );
        guard.on_close(Status::cancelled("Timeout expired"), Metadata::new());
        let status = seen.lock().unwrap().take().unwrap();
        assert_eq!(status.code(), Code::DeadlineExceeded);
        assert!(status.message().contains("Timeout expired"), "{status}");
    }

    #[test]
    fn a_cancel_before_the_deadline_stays_cancelled() {
        let seen = Arc::new(Mutex::new(None));
        let (mut guard, _rt) = guard(Deadline::after(Duration::from_secs(60)), &seen);
        guard.on_close(Status::cancelled("by the caller"), Metadata::new());
        assert_eq!(seen.lock().unwrap().take().unwrap().code(), Code::Cancelled);
    }
}
