//! Waiting on a channel's connectivity (layer: channel).
//!
//! What `Channel::wait_for_state_change`, `Channel::state_changed`,
//! `Channel::wait_for_ready` and `Channel::ready` run, on the core:
//! registering a `watch::Watcher` under the state lock, its deadline timer
//! on the channel's runtime, and the wait-for-ready loop (connect if IDLE,
//! wait for each change, remember the last connection error, until READY,
//! SHUTDOWN or the deadline).
//!
//! The futures need no tokio context: they wait on a watcher's waker, and
//! only the deadline timer runs on the channel's runtime. Nothing here is
//! on the per-call path.

use std::future::Future;
use std::sync::Arc;

use tokio::task::AbortHandle;

use crate::channel::ConnectivityState;
use crate::channel::connection::Connector;
use crate::channel::core::Core;
use crate::channel::state::lock_state;
use crate::channel::watch::{Outcome, Watch, Watcher};
use crate::deadline::Deadline;
use crate::status::Status;

impl<K: Connector> Core<K> {
    /// A future for the first change of the reported state away from
    /// `from` (at once if the channel already reports another state), or
    /// for `deadline`, whichever comes first.
    pub(crate) fn watch(
        self: &Arc<Self>,
        from: ConnectivityState,
        deadline: Option<Deadline>,
    ) -> Watch {
        let watcher = {
            let mut guard = lock_state(&self.state);
            let locked = &mut *guard;
            let now = locked.reported();
            let error = locked.error().cloned();
            locked.watchers.watch(from, now, error.as_ref())
        };
        let timer = match deadline {
            Some(deadline) => self.deadline_timer(&watcher, deadline),
            None => None,
        };
        Watch::new(watcher, timer)
    }

    /// Resolves `watcher` as timed out at `deadline`, from a task on the
    /// channel's runtime (at once if the channel has no runtime).
    fn deadline_timer(&self, watcher: &Arc<Watcher>, deadline: Deadline) -> Option<AbortHandle> {
        let runtime = match self.runtime() {
            Ok(runtime) => runtime,
            Err(status) => {
                tracing::debug!(%status, "no runtime for a watch's deadline; timing out");
                if let Some(waker) = watcher.resolve(Outcome::TimedOut) {
                    waker.wake();
                }
                return None;
            }
        };
        let watcher = Arc::downgrade(watcher);
        let timer = runtime.spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(deadline.instant())).await;
            if let Some(watcher) = watcher.upgrade()
                && let Some(waker) = watcher.resolve(Outcome::TimedOut)
            {
                waker.wake();
            }
        });
        Some(timer.abort_handle())
    }

    /// Waits until the channel is READY (`Ok`), starting to connect
    /// whenever it is IDLE. Fails with UNAVAILABLE once it is shut down,
    /// and with DEADLINE_EXCEEDED at `deadline`, naming the last
    /// connection error seen since the wait began.
    pub(crate) fn ready(
        self: &Arc<Self>,
        deadline: Deadline,
    ) -> impl Future<Output = Result<(), Status>> + Send + 'static {
        let core = self.clone();
        async move {
            let mut last_error: Option<Status> = None;
            loop {
                let now = {
                    let mut locked = lock_state(&core.state);
                    match locked.reported() {
                        ConnectivityState::Ready => return Ok(()),
                        ConnectivityState::Shutdown => {
                            return Err(Status::unavailable("channel was shut down"));
                        }
                        ConnectivityState::Idle => core.request_connection(&mut locked),
                        _ => {}
                    }
                    if let Some(error) = locked.error() {
                        last_error = Some(error.clone());
                    }
                    locked.reported()
                };
                match core.watch(now, Some(deadline)).await {
                    Outcome::Changed { error, .. } => {
                        if error.is_some() {
                            last_error = error;
                        }
                    }
                    Outcome::TimedOut | Outcome::Abandoned => {
                        let state = core.connectivity(false);
                        return Err(not_ready(state, last_error));
                    }
                }
            }
        }
    }
}

/// The DEADLINE_EXCEEDED of a wait for READY that ran out, in `state`,
/// naming the last connection error (also as its source).
fn not_ready(state: ConnectivityState, last_error: Option<Status>) -> Status {
    match last_error {
        Some(error) => Status::deadline_exceeded(format!(
            "channel not ready before the deadline ({state}); last connection error: {}: {}",
            error.code().as_str(),
            error.message()
        ))
        .with_source(error),
        None => Status::deadline_exceeded(format!(
            "channel not ready before the deadline ({state}); no connection attempt failed"
        )),
    }
}
