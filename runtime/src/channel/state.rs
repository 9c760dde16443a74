//! What a channel keeps under its lock (layer: channel).
//!
//! Owns [`Locked`]: the channel's [`Mode`] (idle, active, shut down), its
//! resolver and the last thing it said, its subchannels, the pending calls
//! (grpc-java's `DelayedClientTransport`) and who watches the reported
//! state. The state users see is computed from these
//! ([`Locked::reported`]): in an active channel, the subchannels'
//! aggregate (`policy::aggregate`), or, before the resolver gave any
//! address, CONNECTING, or TRANSIENT_FAILURE with the resolver's error.
//!
//! The lock is taken with [`lock_state`]: on release the watchers hear the
//! reported state, and what the transitions took out (connections,
//! subchannels, a resolver) is dropped, after unlocking.
//!
//! Must not: call user code or start a call while holding the lock (rule
//! 7): the transitions (`core`) collect what to activate or fail and do it
//! after.

use std::task::Waker;

use crate::channel::ConnectivityState;
use crate::channel::pending::PendingCall;
use crate::channel::policy::aggregate;
use crate::channel::subchannel::Subchannel;
use crate::channel::watch::Watchers;
use crate::resolver::Resolver;
use crate::status::Status;
use crate::sync::{Mutex, MutexGuard, lock};

/// Where a channel is in its life.
///
/// ```text
///          call / state(true)
///   Idle ───────────────────────► Active ──── idle timeout ───► Idle
///                                             (no call in use)
///   any ──shutdown()──► Shutdown (final)
/// ```
///
/// Leaving IDLE starts the resolver; its addresses become subchannels,
/// which connect as the policy says. Going IDLE drops the resolver, the
/// subchannels and their connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No resolver, no subchannel. The next call starts them.
    Idle,
    /// Resolving and connecting: the subchannels say how far.
    Active,
    /// Shut down: every new call fails. Final.
    Shutdown,
}

/// The channel's resolver and what it last said.
#[derive(Default)]
pub(crate) struct ResolverSlot {
    /// Which start of the resolver is current: updates from an older one
    /// (before the channel went IDLE) are ignored.
    pub(crate) generation: u64,
    /// The running resolver (dropped when the channel goes IDLE).
    pub(crate) running: Option<Box<dyn Resolver>>,
    /// Its last error, or "no addresses": while the channel has no
    /// subchannel, fail-fast calls fail with it.
    pub(crate) error: Option<Status>,
}

/// Everything under a channel's state lock.
pub(crate) struct Locked<C> {
    /// Where the channel is in its life.
    pub(crate) mode: Mode,
    /// The resolver.
    pub(crate) resolver: ResolverSlot,
    /// The subchannels, in the resolver's order.
    pub(crate) subchannels: Vec<Subchannel<C>>,
    /// Calls waiting for a connection, and retried calls waiting for the
    /// next one (`pending`): picked again whenever that may help.
    pub(crate) pending: Vec<Box<dyn PendingCall<C>>>,
    /// Ids for subchannels and connection attempts.
    pub(crate) next_id: u64,
    /// The last failed connection attempt's error (of any subchannel).
    pub(crate) last_failure: Option<Status>,
    /// Whether an idle timer task is running.
    pub(crate) idle_timer_running: bool,
    /// Whether the task closing idle extra connections is running.
    pub(crate) trim_running: bool,
    /// Who waits for the reported state to change.
    pub(crate) watchers: Watchers,
    /// Taken out under the lock, dropped after it (see [`StateLock`]).
    pub(crate) dropped: Dropped<C>,
}

/// What a transition took out: dropped after the lock is released (a
/// connection handle takes h2's lock as it drops; a resolver is user code).
pub(crate) struct Dropped<C> {
    /// Connection handles.
    pub(crate) connections: Vec<C>,
    /// Subchannels.
    pub(crate) subchannels: Vec<Subchannel<C>>,
    /// A resolver.
    pub(crate) resolver: Option<Box<dyn Resolver>>,
}

impl<C> Locked<C> {
    /// A channel's starting point: IDLE, nothing pending.
    pub(crate) fn new() -> Self {
        Locked {
            mode: Mode::Idle,
            resolver: ResolverSlot::default(),
            subchannels: Vec::new(),
            pending: Vec::new(),
            next_id: 0,
            last_failure: None,
            idle_timer_running: false,
            trim_running: false,
            watchers: Watchers::new(),
            dropped: Dropped {
                connections: Vec::new(),
                subchannels: Vec::new(),
                resolver: None,
            },
        }
    }

    /// A fresh id (for a subchannel or a connection attempt).
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The state users see.
    pub(crate) fn reported(&self) -> ConnectivityState {
        match self.mode {
            Mode::Idle => ConnectivityState::Idle,
            Mode::Shutdown => ConnectivityState::Shutdown,
            Mode::Active => match aggregate(self.subchannels.iter().map(Subchannel::reported)) {
                Some(state) => state,
                None if self.resolver.error.is_some() => ConnectivityState::TransientFailure,
                None => ConnectivityState::Connecting,
            },
        }
    }

    /// The error behind a reported TRANSIENT_FAILURE.
    pub(crate) fn error(&self) -> Option<&Status> {
        if self.reported() != ConnectivityState::TransientFailure {
            return None;
        }
        failure(&self.subchannels, &self.resolver, &self.last_failure)
    }

    /// The subchannel named `key`.
    pub(crate) fn subchannel(&mut self, key: u64) -> Option<&mut Subchannel<C>> {
        self.subchannels.iter_mut().find(|s| s.key == key)
    }

    /// Drops the resolver and every subchannel (after the lock).
    pub(crate) fn clear(&mut self) {
        self.dropped.resolver = self.resolver.running.take();
        self.resolver.error = None;
        self.dropped.subchannels.append(&mut self.subchannels);
        self.last_failure = None;
    }

    /// Tells the watchers the reported state (nothing happens unless it
    /// changed since they last heard): called before a transition that
    /// follows another under one lock, so that each is seen.
    pub(crate) fn observe(&mut self) {
        // Runs at every release of the lock (every call): the state is
        // aggregated once, and the error looked up only in
        // TRANSIENT_FAILURE.
        let now = self.reported();
        let Locked {
            watchers,
            subchannels,
            resolver,
            last_failure,
            ..
        } = self;
        let error = match now {
            ConnectivityState::TransientFailure => failure(subchannels, resolver, last_failure),
            _ => None,
        };
        watchers.observe(now, error);
    }
}

/// The error a TRANSIENT_FAILURE reports (the caller checked that it is
/// one): the resolver's while there is no subchannel, else the last failed
/// attempt's.
fn failure<'a, C>(
    subchannels: &'a [Subchannel<C>],
    resolver: &'a ResolverSlot,
    last_failure: &'a Option<Status>,
) -> Option<&'a Status> {
    if subchannels.is_empty() {
        return resolver.error.as_ref();
    }
    last_failure
        .as_ref()
        .or_else(|| subchannels.iter().find_map(Subchannel::error))
}

/// The channel's state lock, held: on release it tells the watchers the
/// reported state, then, after unlocking, drops what the transitions took
/// out and wakes the watchers it resolved (rule 7).
pub(crate) struct StateLock<'a, C> {
    // Fields drop in order after `drop`: the lock first, then the rest.
    guard: MutexGuard<'a, Locked<C>>,
    dropped: Option<Dropped<C>>,
    wake: WakeOnDrop,
}

/// Wakers to wake when dropped (after the lock is released).
struct WakeOnDrop(Vec<Waker>);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        for waker in self.0.drain(..) {
            waker.wake();
        }
    }
}

/// Locks a channel's state (see [`StateLock`]).
pub(crate) fn lock_state<C>(mutex: &Mutex<Locked<C>>) -> StateLock<'_, C> {
    StateLock {
        guard: lock(mutex),
        dropped: None,
        wake: WakeOnDrop(Vec::new()),
    }
}

impl<C> std::ops::Deref for StateLock<'_, C> {
    type Target = Locked<C>;

    fn deref(&self) -> &Locked<C> {
        &self.guard
    }
}

impl<C> std::ops::DerefMut for StateLock<'_, C> {
    fn deref_mut(&mut self) -> &mut Locked<C> {
        &mut self.guard
    }
}

impl<C> Drop for StateLock<'_, C> {
    fn drop(&mut self) {
        self.guard.observe();
        self.wake.0 = self.guard.watchers.take_wakers();
        let dropped = &mut self.guard.dropped;
        if !dropped.connections.is_empty()
            || !dropped.subchannels.is_empty()
            || dropped.resolver.is_some()
        {
            self.dropped = Some(Dropped {
                connections: std::mem::take(&mut dropped.connections),
                subchannels: std::mem::take(&mut dropped.subchannels),
                resolver: dropped.resolver.take(),
            });
        }
    }
}
