//! The queue's shared state (layer: stub): its one [`ThreadlessExecutor`],
//! the events ready to be taken, and the accounting that decides when a
//! shut-down queue is drained.
//!
//! Owns: which calls are on the queue (kept alive here so their deadline
//! timers and in-use counts live until they close), how many operations
//! are outstanding (accepted, their event not yet taken), refusing new
//! calls after `shutdown` and new operations once the queue is drained or
//! dropped, and waking the threads in `next` when that changes.
//!
//! A call is on the queue while something can still make an event for it:
//! until it closed and, for a stream, until its end came back from its
//! finish and a read (a client stream: its finish), or its handle was
//! dropped (a live handle can start reads, even after the call closed:
//! buffered messages are still there to read).
//!
//! It never runs user code: events are closures that `next` calls after it
//! let go of the lock (rule 7), and whatever this file drops (calls,
//! events) is dropped after the lock is released.
//!
//! Drained means: shut down, no call on the queue, no operation
//! outstanding: nothing can make another event. So `Next::Shutdown` is
//! final: new calls and operations are refused from then on (a finished
//! stream's handle may still be around to try).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::call::ClientCall;
use crate::channel::ChannelCall;
use crate::executor::ThreadlessExecutor;
use crate::status::Status;
use crate::sync::{Condvar, Mutex, lock};

/// A completed operation, turned into the user's event by `next` (the tag
/// function runs there, on the thread that takes the event, with no lock
/// held).
pub(crate) type Event<E> = Box<dyn FnOnce() -> E + Send>;

/// An event that calls `tag` with `value`.
pub(crate) fn event<T, E>(tag: impl FnOnce(T) -> E + Send + 'static, value: T) -> Event<E>
where
    T: Send + 'static,
    E: 'static,
{
    Box::new(move || tag(value))
}

/// What the queue needs of a call, with its request type erased.
pub(crate) trait CallControl: Send + Sync {
    /// Asks for `n` more response messages.
    fn request(&self, n: usize);
    /// Ends the call with `status` (no-op once it closed).
    fn cancel(&self, status: Status);
}

impl<Req: Send + 'static, Resp: Send + 'static> CallControl for ChannelCall<Req, Resp> {
    fn request(&self, n: usize) {
        ClientCall::request(self, n);
    }
    fn cancel(&self, status: Status) {
        ClientCall::cancel(self, status);
    }
}

/// The state every handle, listener and `next` caller of one queue shares.
pub(crate) struct Core<E> {
    /// The one executor of every call on the queue: listener callbacks and
    /// operations run on it, drained by the thread whose turn it is in
    /// `next`.
    pub(super) executor: ThreadlessExecutor,
    pub(super) state: Mutex<State<E>>,
    /// Wakes threads in `next` that wait for another's turn to end, an
    /// event, or the queue to drain.
    pub(super) changed: Condvar,
}

/// A call's place on the queue.
struct Slot {
    /// The call, once started (for cancelling it if the queue is dropped).
    call: Option<Arc<dyn CallControl>>,
    /// What keeps it on the queue: the call being open, and a stream's
    /// handle being alive.
    holds: u8,
}

pub(crate) struct State<E> {
    pub(super) events: VecDeque<Event<E>>,
    /// Operations accepted whose event has not been taken yet.
    outstanding: usize,
    /// The calls on the queue, by id.
    calls: HashMap<u64, Slot>,
    next_id: u64,
    shut_down: bool,
    /// The `CompletionQueue` was dropped: everything is refused.
    dropped: bool,
    /// A thread in `next` has the turn: it waits in (and drains) the executor.
    pub(super) draining: bool,
    /// Threads in `next` waiting on `changed`.
    pub(super) waiters: usize,
}

impl<E> State<E> {
    pub(super) fn is_drained(&self) -> bool {
        self.shut_down && self.calls.is_empty() && self.outstanding == 0
    }

    /// Takes the oldest event, counting its operation done.
    pub(super) fn take_event(&mut self) -> Option<Event<E>> {
        let event = self.events.pop_front()?;
        self.outstanding = self.outstanding.saturating_sub(1);
        Some(event)
    }

    /// Who must hear that the queue drained, if it did.
    pub(super) fn drained_wake(&self) -> Wake {
        if self.is_drained() {
            Wake {
                waiters: self.waiters > 0,
                drainer: self.draining,
            }
        } else {
            Wake::NOBODY
        }
    }
}

/// Whom to wake after the lock is released.
#[must_use]
pub(super) struct Wake {
    /// Threads waiting on `changed`.
    waiters: bool,
    /// The thread whose turn it is, parked in the executor.
    drainer: bool,
}

impl Wake {
    const NOBODY: Wake = Wake {
        waiters: false,
        drainer: false,
    };
}

impl<E> Core<E> {
    pub(crate) fn new() -> Core<E> {
        Core {
            executor: ThreadlessExecutor::new(),
            state: Mutex::new(State {
                events: VecDeque::new(),
                outstanding: 0,
                calls: HashMap::new(),
                next_id: 0,
                shut_down: false,
                dropped: false,
                draining: false,
                waiters: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// Wakes whom `wake` names. Call with the lock released.
    pub(super) fn wake(&self, wake: Wake) {
        if wake.waiters {
            self.changed.notify_all();
        }
        if wake.drainer {
            // An empty task ends the executor wait; the drainer then looks
            // at the queue again.
            self.executor.execute(Box::new(|| {}));
        }
    }

    /// Reserves a place for a new call, held by its being open and, if
    /// `with_handle`, by its handle (each let go with [`release`]), and
    /// counts its first operation if `with_operation`. UNAVAILABLE after
    /// `shutdown`.
    ///
    /// [`release`]: Self::release
    pub(crate) fn register(&self, with_handle: bool, with_operation: bool) -> Result<u64, Status> {
        let mut state = lock(&self.state);
        if state.shut_down {
            return Err(Status::unavailable(
                "the completion queue is shut down: it takes no new calls",
            ));
        }
        let id = state.next_id;
        state.next_id += 1;
        let holds = if with_handle { 2 } else { 1 };
        state.calls.insert(id, Slot { call: None, holds });
        if with_operation {
            state.outstanding += 1;
        }
        Ok(id)
    }

    /// Puts the started call `id` in its place, unless it already closed.
    pub(crate) fn attach(&self, id: u64, call: Arc<dyn CallControl>) {
        let late = {
            let mut state = lock(&self.state);
            match state.calls.get_mut(&id) {
                Some(slot) => slot.call.replace(call),
                None => Some(call),
            }
        };
        drop(late);
    }

    /// One hold on the call `id` is gone (it closed, or its handle was
    /// dropped); with the last, it leaves the queue.
    pub(crate) fn release(&self, id: u64) {
        let (slot, wake) = {
            let mut state = lock(&self.state);
            let slot = match state.calls.get_mut(&id) {
                Some(slot) if slot.holds > 1 => {
                    slot.holds -= 1;
                    None
                }
                Some(_) => state.calls.remove(&id),
                None => None,
            };
            (slot, state.drained_wake())
        };
        drop(slot);
        self.wake(wake);
    }

    /// Counts one more operation on a call already on the queue; false
    /// (the operation is dropped, its tag never called) once the queue is
    /// drained or dropped.
    pub(crate) fn accept(&self) -> bool {
        let mut state = lock(&self.state);
        if state.dropped || state.is_drained() {
            return false;
        }
        state.outstanding += 1;
        true
    }

    /// Queues the event of an accepted operation.
    pub(crate) fn post(&self, event: Event<E>) {
        let waiters = {
            let mut state = lock(&self.state);
            if state.dropped {
                drop(state);
                drop(event);
                return;
            }
            state.events.push_back(event);
            state.waiters > 0
        };
        if waiters {
            self.changed.notify_all();
        }
    }

    /// Refuses new calls from now on.
    pub(crate) fn shutdown(&self) {
        let wake = {
            let mut state = lock(&self.state);
            state.shut_down = true;
            state.drained_wake()
        };
        self.wake(wake);
    }

    /// The queue's owner is gone: refuse everything, stop the executor
    /// (queued and later tasks are dropped unrun), cancel the calls still
    /// on the queue and drop the events nobody will take.
    pub(crate) fn abandon(&self) {
        let (calls, events) = {
            let mut state = lock(&self.state);
            state.dropped = true;
            state.shut_down = true;
            (
                std::mem::take(&mut state.calls),
                std::mem::take(&mut state.events),
            )
        };
        self.executor.shutdown();
        for call in calls.values().filter_map(|slot| slot.call.as_ref()) {
            call.cancel(Status::cancelled("the completion queue was dropped"));
        }
        drop(calls);
        drop(events);
    }

    /// Events queued, calls on the queue, and whether it is shut down.
    pub(crate) fn counts(&self) -> (usize, usize, bool) {
        let state = lock(&self.state);
        (state.events.len(), state.calls.len(), state.shut_down)
    }
}
