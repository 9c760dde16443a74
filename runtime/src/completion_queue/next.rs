//! `next`: taking events, and taking turns at waiting (layer: stub).
//!
//! Several threads may call `next` at once; the executor has one waiter.
//! So the threads take turns: the one whose turn it is (`draining`) waits
//! in the executor and runs what the calls queued there (listener
//! callbacks, operations), which turns completions into events; the others
//! wait on the queue's condvar, and take events as they are posted, or the
//! turn once it is free.
//!
//! No lost wake-up, no event taken twice:
//! - events, `draining` and `waiters` change only under the queue's lock,
//!   and a thread checks all three under it before it waits;
//! - posting an event, ending a turn and draining notify every waiter
//!   (`notify_all`: a waiter that times out cannot swallow a wake-up
//!   another needed);
//! - the thread whose turn it is waits in the executor, not on the
//!   condvar: everything that can produce an event runs as a task there
//!   (so it wakes that thread), and what can change its answer from
//!   outside (draining) queues an empty task (`Core::wake`);
//! - an event leaves the queue under the lock, once; its tag function runs
//!   after the lock is released (rule 7).
//!
//! `tests/loom.rs` model-checks two threads in `next` with a producer.

use crate::deadline::Deadline;
use crate::sync::{lock, wait_timeout};

use super::Next;
use super::core::Core;

impl<E: 'static> Core<E> {
    /// The next event, `Timeout` at `deadline`, or `Shutdown` once drained.
    pub(super) fn next(&self, deadline: Deadline) -> Next<E> {
        let mut state = lock(&self.state);
        loop {
            if let Some(event) = state.take_event() {
                let wake = state.drained_wake();
                drop(state);
                self.wake(wake);
                return Next::Event(event());
            }
            if state.is_drained() {
                return Next::Shutdown;
            }
            if deadline.is_expired() {
                return Next::Timeout;
            }
            if state.draining {
                state.waiters += 1;
                state = wait_timeout(&self.changed, state, deadline.remaining());
                state.waiters -= 1;
                continue;
            }
            state.draining = true;
            drop(state);
            {
                let _turn = Turn(self);
                self.wait(deadline);
            }
            state = lock(&self.state);
        }
    }

    /// The one place a thread waits for the queue's calls: it parks in the
    /// shared executor until a task comes or `deadline` passes, and runs
    /// the tasks here (decoding, listener callbacks, operations).
    ///
    /// The thread whose turn it is takes the poller role of the shared
    /// default runtime while it waits (`rt::drive`): it reads the sockets
    /// and runs the connections itself, so the calls on the queue need no
    /// hop to the I/O thread. Inside a tokio runtime (where it cannot), it
    /// parks instead, and the channel's I/O thread reads.
    fn wait(&self, deadline: Deadline) {
        let until = tokio::time::Instant::from_std(deadline.instant());
        let executor = &self.executor;
        let driven = crate::rt::drive(async {
            let drained = std::future::poll_fn(|cx| executor.poll_drain(cx));
            let _ = tokio::time::timeout_at(until, drained).await;
        });
        if driven.is_err() {
            self.executor.wait_and_drain_until(deadline.instant());
        }
    }
}

/// The turn to wait in the executor; handed back on drop, waking the
/// threads that wait for it.
struct Turn<'a, E: 'static>(&'a Core<E>);

impl<E: 'static> Drop for Turn<'_, E> {
    fn drop(&mut self) {
        let waiters = {
            let mut state = lock(&self.0.state);
            state.draining = false;
            state.waiters > 0
        };
        if waiters {
            self.0.changed.notify_all();
        }
    }
}
