//! Who polls an h2 call's reader, and the pump that delivers to its
//! listener (layer: call).
//!
//! Owns the call's waker (h2 waking the reader), the choice of the thread
//! that reads after a wake-up (a parked blocking caller, else the I/O thread
//! at once, through [`crate::wake_batch`]), queueing at most one pump task
//! on the call's executor, and the pump itself: it polls the reader, then
//! runs every [`Step`] that can run now, decoding messages on the caller's
//! thread. No lock is held while the reader or a listener runs (rule 7).

use std::sync::Arc;
use std::task::{Wake, Waker};

use crate::call::catch_user_panic;
use crate::call::delivery::{Initiator, LocalEnd, Step};
use crate::executor::{Task, ThreadlessExecutor};
use crate::metadata::Metadata;
use crate::status::Status;
use crate::sync::lock;
use crate::wake_batch::{self, Deferred};

use super::Shared;

/// How the pump ends a call whose callback or codec failed.
const FAILURE: Initiator = Initiator::Local(LocalEnd::Failure);

impl<Req: Send + 'static, Resp: Send + 'static> Shared<Req, Resp> {
    /// Polls the response reader, unless it finished or was stopped. If it
    /// is being polled elsewhere, that poll runs again instead, so no wake-up
    /// is lost. The reader's waker is the call itself (see the [`Wake`]
    /// impl): h2 waking it queues a pump on the call's executor.
    fn poll_reader(self: &Arc<Self>) {
        self.reader.poll(|| Waker::from(self.clone()));
    }

    /// Polls the reader on this thread, and queues a pump if that gave the
    /// caller something to deliver.
    pub(super) fn read_now(self: &Arc<Self>) {
        self.poll_reader();
        if lock(&self.inbound).has_work() {
            self.schedule_pump();
        }
    }

    /// h2 has news for the reader: poll it again, on the call's executor,
    /// once the connection task's current poll is over (if this runs inside
    /// it).
    fn wake_reader(self: &Arc<Self>) {
        if !self.reader.note_wake() {
            return;
        }
        if !wake_batch::defer(self.clone()) {
            // h2 may call this with its own lock held: the reader, which
            // takes that lock, must not run here. The caller's pump polls it.
            self.reader.clear_wake_note();
            self.schedule_pump();
        }
    }

    /// Queues one pump task on the executor unless one is already queued.
    pub(super) fn schedule_pump(self: &Arc<Self>) {
        self.queue_pump(|executor, task| {
            executor.execute(task);
            Ok(())
        });
    }

    /// Queues one pump with `queue` unless one is already queued; `queue`
    /// may decline (giving the task back). Returns whether a pump was
    /// queued by this call.
    fn queue_pump(
        self: &Arc<Self>,
        queue: impl FnOnce(&ThreadlessExecutor, Task) -> Result<(), Task>,
    ) -> bool {
        {
            let mut inbound = lock(&self.inbound);
            if inbound.pump_queued {
                return false;
            }
            inbound.pump_queued = true;
        }
        let shared = self.clone();
        if queue(&self.spec.executor, Box::new(move || shared.pump())).is_err() {
            lock(&self.inbound).pump_queued = false;
            return false;
        }
        true
    }

    /// Queues a pump for a caller parked in its blocking wait, who then
    /// reads on its own thread before its wait returns. False, with
    /// nothing queued, if no thread is parked, or if a pump is already
    /// queued and not run (its caller may be gone: the connection reads).
    fn hand_to_parked_caller(self: &Arc<Self>) -> bool {
        self.queue_pump(ThreadlessExecutor::execute_if_parked)
    }

    /// Polls the reader, then delivers every step that can run now. Runs on
    /// the call's executor.
    fn pump(self: &Arc<Self>) {
        // Cleared first: a wake-up from here on queues another pump.
        lock(&self.inbound).pump_queued = false;
        self.poll_reader();
        loop {
            let Some(step) = lock(&self.inbound).next_step() else {
                return;
            };
            match step {
                Step::Headers(mut listener, headers) => {
                    let outcome =
                        catch_user_panic("listener on_headers", || listener.on_headers(headers));
                    lock(&self.inbound).return_listener(listener);
                    if let Err(panic) = outcome
                        && self.close(FAILURE, Status::cancelled(panic), Metadata::new())
                    {
                        self.schedule_pump();
                    }
                }
                Step::Messages(mut listener, batch) => {
                    let mut outcome = Ok(());
                    for frame in batch {
                        let body = frame.into_body(self.spec.max_inbound);
                        let decoded = body.and_then(|body| {
                            catch_user_panic("Codec::decode", || self.spec.codec.decode(body))
                                .map_err(Status::internal)?
                        });
                        outcome = match decoded {
                            Ok(message) => catch_user_panic("listener on_message", || {
                                listener.on_message(message)
                            })
                            .map_err(Status::cancelled),
                            Err(status) => Err(status),
                        };
                        if outcome.is_err() {
                            // The call fails; the rest of the batch is dropped.
                            break;
                        }
                    }
                    let room = {
                        let mut inbound = lock(&self.inbound);
                        inbound.return_listener(listener);
                        inbound.take_reader_if_room().is_some()
                    };
                    if let Err(status) = outcome {
                        if self.close(FAILURE, status, Metadata::new()) {
                            self.schedule_pump();
                        }
                    } else if room {
                        // The reader was parked on a full queue: it reads on
                        // in this pump.
                        self.poll_reader();
                    }
                }
                Step::Close(listener, status, trailers) => {
                    self.deliver_close(listener, status, trailers);
                    return;
                }
            }
        }
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> Wake for Shared<Req, Resp> {
    fn wake(self: Arc<Self>) {
        self.wake_reader();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_reader();
    }
}

impl<Req: Send + 'static, Resp: Send + 'static> Deferred for Shared<Req, Resp> {
    fn run_deferred(self: Arc<Self>) {
        self.reader.clear_wake_note();
        if self.hand_to_parked_caller() {
            return;
        }
        // Nobody is sure to read soon (a future's waker may never poll
        // again; an iterator may not be iterated): read here, on the
        // connection task's thread with h2's lock free, so what arrived
        // leaves h2 at once and its flow-control windows reopen whether or
        // not the caller ever comes back. Other calls on the connection
        // never wait for this one's caller. Decoding and callbacks stay on
        // the caller's executor: `read_now` queues a pump for them.
        self.read_now();
    }
}
