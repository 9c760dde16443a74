//! Subchannels (layer: channel).
//!
//! A [`Subchannel`] is one group of addresses the channel keeps connected,
//! with its own connectivity state, reconnect backoff and connect loop: one
//! per address under round_robin, one over the whole list under pick_first
//! (which tries the addresses in order and sticks to the first that
//! connects). A READY subchannel holds one or more connections to the
//! address it reached: more than one when the busy ones are at the
//! server's MAX_CONCURRENT_STREAMS, or when the builder asks for several
//! (`ConnectionLimits`).
//!
//! This file is data and pure decisions under the channel's lock: what a
//! call gets from a subchannel ([`SubPick`]); the tasks (connect loop,
//! extra connections) are `connect`'s, the transitions `core`'s.
//!
//! ```text
//!           connect              attempt connected
//!   Idle ────────────► Connecting ─────────────────► Ready { address, connections }
//!    ▲                  │     ▲                         │
//!    │   attempt failed │     │ backoff elapsed          │ last connection closed
//!    │                  ▼     │ (after_failure: error)   │ or going away
//!    │            TransientFailure { error }             │
//!    └───────────────────────────────────────────────────┘
//! ```

use std::time::Duration;

use crate::address::Address;
use crate::channel::ConnectivityState;
use crate::channel::backoff::Backoff;
use crate::channel::connection::Connection;
use crate::status::Status;

/// How many connections a READY subchannel keeps to its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConnectionLimits {
    /// Opened as soon as the first one is ready, and kept.
    pub(crate) min: usize,
    /// Opened one at a time while every connection is at the server's
    /// MAX_CONCURRENT_STREAMS; beyond `min`, closed when idle.
    pub(crate) max: usize,
    /// How long an extra connection (beyond `min`) may carry no call
    /// before it is closed.
    pub(crate) extra_idle: Duration,
}

/// One connection of a READY subchannel.
pub(crate) struct Conn<C> {
    /// The attempt id its close and GOAWAY are reported under.
    pub(crate) id: u64,
    /// The handle calls are opened on.
    pub(crate) connection: C,
    /// Opened beyond `ConnectionLimits::min`: closed when idle.
    pub(crate) extra: bool,
    /// Consecutive trim checks that found it carrying no call.
    pub(crate) idle_checks: u32,
}

/// A subchannel's state.
pub(crate) enum SubState<C> {
    /// Not connected and not trying; the next call (or an eager policy)
    /// starts connecting.
    Idle,
    /// The connect loop is trying; `after_failure` is the previous
    /// attempt's error (the subchannel still reports TRANSIENT_FAILURE).
    Connecting {
        /// The last failed attempt's error (sticky TRANSIENT_FAILURE).
        after_failure: Option<Status>,
    },
    /// Connected to `address`, with at least one connection.
    Ready {
        /// The address the connections go to.
        address: Address,
        /// The connections, in the order they were opened.
        connections: Vec<Conn<C>>,
    },
    /// The last attempt failed; the connect loop waits out its backoff.
    TransientFailure {
        /// Why the attempt failed.
        error: Status,
    },
}

/// One group of addresses the channel keeps connected.
pub(crate) struct Subchannel<C> {
    /// Names the subchannel to its tasks (stable while it lives).
    pub(crate) key: u64,
    /// The addresses, tried in order on each attempt.
    pub(crate) addresses: Vec<Address>,
    /// The state.
    pub(crate) state: SubState<C>,
    /// Its own reconnect schedule.
    pub(crate) backoff: Backoff,
    /// Which connect loop owns the schedule (a loop from before the
    /// subchannel went IDLE ends at its next retry).
    pub(crate) connect_loop: u64,
    /// Extra connection attempts under way.
    pub(crate) growing: usize,
    /// An extra connection failed: no more are tried until the subchannel
    /// reconnects (calls share the connections it has).
    pub(crate) growth_failed: bool,
}

/// What a call gets from one subchannel.
pub(crate) enum SubPick<C> {
    /// A connection with room for the call.
    Ready(C),
    /// Every connection is at the server's stream limit: open another
    /// (the caller spawns it), and wait for it.
    Grow,
    /// Every connection is at its limit and another is being opened: wait.
    Wait,
    /// Idle: start connecting, and wait.
    Connect,
    /// Connecting (the first time): wait.
    Connecting,
    /// Failing (sticky TRANSIENT_FAILURE): fail-fast calls fail with this.
    Failing(Status),
}

impl<C> Subchannel<C> {
    /// A new, IDLE subchannel over `addresses`.
    pub(crate) fn new(key: u64, addresses: Vec<Address>, backoff: Backoff) -> Self {
        Subchannel {
            key,
            addresses,
            state: SubState::Idle,
            backoff,
            connect_loop: 0,
            growing: 0,
            growth_failed: false,
        }
    }

    /// The state as users see it (a reconnect after a failure is still
    /// TRANSIENT_FAILURE).
    pub(crate) fn reported(&self) -> ConnectivityState {
        match &self.state {
            SubState::Idle => ConnectivityState::Idle,
            SubState::Connecting {
                after_failure: None,
            } => ConnectivityState::Connecting,
            SubState::Connecting {
                after_failure: Some(_),
            }
            | SubState::TransientFailure { .. } => ConnectivityState::TransientFailure,
            SubState::Ready { .. } => ConnectivityState::Ready,
        }
    }

    /// The last failed attempt's error, while it is sticky.
    pub(crate) fn error(&self) -> Option<&Status> {
        match &self.state {
            SubState::TransientFailure { error }
            | SubState::Connecting {
                after_failure: Some(error),
            } => Some(error),
            _ => None,
        }
    }

    /// Whether one of its connections has attempt id `id`.
    pub(crate) fn holds(&self, id: u64) -> bool {
        matches!(&self.state, SubState::Ready { connections, .. }
            if connections.iter().any(|c| c.id == id))
    }

    /// Removes connection `id` (closed, or going away) into `dropped`; a
    /// READY subchannel left with none goes IDLE. Whether it did.
    pub(crate) fn remove(&mut self, id: u64, dropped: &mut Vec<C>) -> bool {
        let SubState::Ready { connections, .. } = &mut self.state else {
            return false;
        };
        if let Some(at) = connections.iter().position(|c| c.id == id) {
            dropped.push(connections.remove(at).connection);
        }
        if connections.is_empty() {
            self.state = SubState::Idle;
            self.growing = 0;
            self.growth_failed = false;
            return true;
        }
        false
    }

    /// Drops every connection into `dropped`: the subchannel goes IDLE.
    pub(crate) fn disconnect(&mut self, dropped: &mut Vec<C>) {
        if let SubState::Ready { connections, .. } =
            std::mem::replace(&mut self.state, SubState::Idle)
        {
            dropped.extend(connections.into_iter().map(|c| c.connection));
        }
        self.growing = 0;
        self.growth_failed = false;
    }
}

impl<C: Connection> Subchannel<C> {
    /// What a call gets here. Broken connections (going away) are removed
    /// into `dropped` first; a READY subchannel left with none goes IDLE.
    pub(crate) fn pick(&mut self, limits: &ConnectionLimits, dropped: &mut Vec<C>) -> SubPick<C> {
        let connections = match &mut self.state {
            SubState::Idle => return SubPick::Connect,
            SubState::Connecting {
                after_failure: None,
            } => return SubPick::Connecting,
            SubState::Connecting {
                after_failure: Some(error),
            }
            | SubState::TransientFailure { error } => return SubPick::Failing(error.clone()),
            SubState::Ready { connections, .. } => connections,
        };
        if connections.iter().any(|c| c.connection.is_broken()) {
            let (broken, kept): (Vec<_>, Vec<_>) = std::mem::take(connections)
                .into_iter()
                .partition(|c| c.connection.is_broken());
            *connections = kept;
            dropped.extend(broken.into_iter().map(|c| c.connection));
            if connections.is_empty() {
                self.disconnect(dropped);
                return SubPick::Connect;
            }
        }
        if limits.max <= 1 {
            return match connections.first() {
                Some(first) => SubPick::Ready(first.connection.clone()),
                None => SubPick::Connect,
            };
        }
        let Some(best) = connections.iter().min_by_key(|c| c.connection.load()) else {
            return SubPick::Connect;
        };
        let full = best.connection.load() >= best.connection.max_streams();
        let count = connections.len();
        if !full {
            return SubPick::Ready(best.connection.clone());
        }
        if self.growing > 0 {
            SubPick::Wait
        } else if count < limits.max && !self.growth_failed {
            SubPick::Grow
        } else {
            // At the limit: h2 queues the stream until one ends.
            SubPick::Ready(best.connection.clone())
        }
    }
}
