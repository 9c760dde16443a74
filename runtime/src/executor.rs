//! `ThreadlessExecutor`: runs a call's listener callbacks on the caller's own
//! thread (layer: executor, below `call`).
//!
//! The transport never runs user-visible work itself. It enqueues tasks here,
//! and the thread that waits for the call drains and runs them: a blocking
//! caller parks in [`ThreadlessExecutor::wait_and_drain`], a future drains in
//! `poll` through [`ThreadlessExecutor::poll_drain`], its waiter being a
//! [`Waker`]. One type, two waiters. A completion queue is one executor
//! shared by many calls: its `next` parks in
//! [`ThreadlessExecutor::wait_and_drain_until`], one thread at a time (the
//! queue picks which; the executor still has one waiter).
//!
//! Invariants (rules 1 and 2):
//! - No lost wake-up. [`execute`](ThreadlessExecutor::execute) pushes the task
//!   and reads the waiter under the same lock that the waiter holds while it
//!   re-checks the queue and publishes itself (parks on the condvar, or stores
//!   its waker). Whichever comes second sees the other. `tests/loom.rs`
//!   model-checks this.
//! - Tasks that arrive after [`shutdown`](ThreadlessExecutor::shutdown) (the
//!   caller stopped waiting: the call closed or its future was dropped) are
//!   dropped, not run, with a `trace` event. Dropping a task never runs user
//!   code, so a late task can neither panic nor hang anyone.
//! - The lock is never held while a task runs (rule 7).
//! - A task that panics does not unwind into the waiter: every task the
//!   runtime queues already turns user panics into a call's status, so a
//!   panic here is a bug; it is logged, and the other tasks still run.

use std::collections::VecDeque;
use std::fmt;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::sync::{Arc, Condvar, Mutex, lock, wait, wait_timeout};

/// A unit of work for the caller's thread.
pub type Task = Box<dyn FnOnce() + Send + 'static>;

/// A queue of tasks drained by the thread that waits on a call.
///
/// Cloning gives another handle to the same queue: the transport keeps one to
/// enqueue, the caller keeps one to drain.
#[derive(Clone)]
pub struct ThreadlessExecutor {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    parked: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Task>,
    /// The queue's previous buffer, emptied by a drain and kept for reuse,
    /// so a steady call does not allocate a queue per drain.
    spare: VecDeque<Task>,
    /// The waiting future's waker, if a future is the waiter.
    waker: Option<Waker>,
    /// Whether a thread is parked on the condvar.
    thread_parked: bool,
    shut_down: bool,
}

impl ThreadlessExecutor {
    /// An empty executor with no waiter.
    pub fn new() -> ThreadlessExecutor {
        ThreadlessExecutor {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                parked: Condvar::new(),
            }),
        }
    }

    /// Enqueues `task` and wakes the waiter. Callable from any thread.
    ///
    /// After [`shutdown`](Self::shutdown) the task is dropped instead.
    pub fn execute(&self, task: Task) {
        let (waker, parked) = {
            let mut state = lock(&self.shared.state);
            if state.shut_down {
                drop(state);
                tracing::trace!("task arrived after its call's executor shut down; dropped");
                drop(task);
                return;
            }
            state.queue.push_back(task);
            (state.waker.take(), state.thread_parked)
        };
        if parked {
            self.shared.parked.notify_one();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Blocks the calling thread until at least one task is queued, then runs
    /// every queued task. Returns how many ran.
    pub fn wait_and_drain(&self) -> usize {
        let tasks = {
            let mut state = lock(&self.shared.state);
            while state.queue.is_empty() {
                state.thread_parked = true;
                state = wait(&self.shared.parked, state);
                state.thread_parked = false;
            }
            take_queue(&mut state)
        };
        self.run_all(tasks)
    }

    /// Like [`wait_and_drain`](Self::wait_and_drain), but gives up at
    /// `deadline`: returns 0, having run nothing, if no task came by then.
    ///
    /// The same single waiter as `wait_and_drain` (the parked thread is the
    /// one [`execute`](Self::execute) wakes, and the one
    /// `execute_if_parked` hands reads to); callers sharing an executor
    /// must let one thread wait at a time.
    pub fn wait_and_drain_until(&self, deadline: Instant) -> usize {
        let tasks = {
            let mut state = lock(&self.shared.state);
            while state.queue.is_empty() {
                let now = Instant::now();
                if now >= deadline {
                    return 0;
                }
                state.thread_parked = true;
                state = wait_timeout(&self.shared.parked, state, deadline - now);
                state.thread_parked = false;
            }
            take_queue(&mut state)
        };
        self.run_all(tasks)
    }

    /// Runs every queued task; if none is queued, registers `cx`'s waker so
    /// the next [`execute`](Self::execute) wakes the task, and returns
    /// `Pending`. `Ready(n)` says `n > 0` tasks ran.
    pub fn poll_drain(&self, cx: &mut Context<'_>) -> Poll<usize> {
        let tasks = {
            let mut state = lock(&self.shared.state);
            if state.queue.is_empty() {
                match &state.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => state.waker = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            take_queue(&mut state)
        };
        Poll::Ready(self.run_all(tasks))
    }

    /// Runs whatever is queued now, without waiting. Returns how many ran.
    pub fn drain_now(&self) -> usize {
        let tasks = take_queue(&mut lock(&self.shared.state));
        self.run_all(tasks)
    }

    /// Enqueues `task` only if a thread is parked in
    /// [`wait_and_drain`](Self::wait_and_drain) now; that thread then runs
    /// it before it returns, whatever woke it. Otherwise gives `task` back:
    /// nobody is sure to run it soon (a future's waker may never poll
    /// again), so the transport does the work itself.
    pub(crate) fn execute_if_parked(&self, task: Task) -> Result<(), Task> {
        {
            let mut state = lock(&self.shared.state);
            if !state.thread_parked || state.shut_down {
                return Err(task);
            }
            state.queue.push_back(task);
        }
        self.shared.parked.notify_one();
        Ok(())
    }

    /// Stops accepting tasks: queued and later tasks are dropped unrun.
    ///
    /// The waiter calls this once it no longer drains (its call closed, or
    /// its future was dropped).
    pub fn shutdown(&self) {
        let dropped = {
            let mut state = lock(&self.shared.state);
            state.shut_down = true;
            state.waker = None;
            std::mem::take(&mut state.queue)
        };
        if !dropped.is_empty() {
            tracing::trace!(
                count = dropped.len(),
                "executor shut down with queued tasks; dropped"
            );
        }
        drop(dropped);
    }
}

impl Default for ThreadlessExecutor {
    fn default() -> Self {
        ThreadlessExecutor::new()
    }
}

impl fmt::Debug for ThreadlessExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("ThreadlessExecutor")
            .field("queued", &state.queue.len())
            .field("shut_down", &state.shut_down)
            .finish()
    }
}

/// Takes the queued tasks, leaving the spare buffer as the new queue.
fn take_queue(state: &mut State) -> VecDeque<Task> {
    let spare = std::mem::take(&mut state.spare);
    std::mem::replace(&mut state.queue, spare)
}

impl ThreadlessExecutor {
    /// Runs `tasks` with no lock held, then keeps their buffer as the spare.
    fn run_all(&self, mut tasks: VecDeque<Task>) -> usize {
        let n = tasks.len();
        for task in tasks.drain(..) {
            if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task)) {
                let detail = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!("a task on a call's executor panicked: {detail}");
            }
        }
        let mut state = lock(&self.shared.state);
        if state.spare.capacity() == 0 && !state.shut_down {
            state.spare = tasks;
        }
        n
    }
}

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn runs_tasks_in_order_on_the_draining_thread() {
        let exec = ThreadlessExecutor::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let me = std::thread::current().id();
        let producer = {
            let exec = exec.clone();
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..3 {
                    let log = log.clone();
                    exec.execute(Box::new(move || {
                        assert_eq!(std::thread::current().id(), me);
                        lock(&log).push(i)
                    }));
                }
            })
        };
        let mut ran = 0;
        while ran < 3 {
            ran += exec.wait_and_drain();
        }
        producer.join().unwrap();
        assert_eq!(*lock(&log), vec![0, 1, 2]);
    }

    #[test]
    fn poll_drain_registers_waker_and_is_woken() {
        let exec = ThreadlessExecutor::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let fut = {
            let exec = exec.clone();
            std::future::poll_fn(move |cx| match exec.poll_drain(cx) {
                Poll::Ready(n) => Poll::Ready(n),
                Poll::Pending => Poll::Pending,
            })
        };
        let sender = {
            let exec = exec.clone();
            let ran = ran.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                exec.execute(Box::new(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                }));
            })
        };
        assert_eq!(futures::executor::block_on(fut), 1);
        sender.join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn wait_until_gives_up_at_the_deadline_or_runs_what_came() {
        let exec = ThreadlessExecutor::new();
        let soon = Instant::now() + Duration::from_millis(20);
        assert_eq!(exec.wait_and_drain_until(soon), 0, "nothing came");
        assert!(Instant::now() >= soon);
        let producer = {
            let exec = exec.clone();
            std::thread::spawn(move || exec.execute(Box::new(|| {})))
        };
        let far = Instant::now() + Duration::from_secs(60);
        assert_eq!(exec.wait_and_drain_until(far), 1);
        producer.join().unwrap();
    }

    #[test]
    fn tasks_after_shutdown_are_dropped_not_run() {
        let exec = ThreadlessExecutor::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        exec.execute(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        exec.shutdown();
        let r = ran.clone();
        exec.execute(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(exec.drain_now(), 0);
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }
}
