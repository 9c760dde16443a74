//! The picker, and re-processing pending calls (layer: channel).
//!
//! Every call asks [`Core::pick`] where to go, under the channel's lock:
//! the policy gives the order of the subchannels to try, and each
//! subchannel says what it can do ([`SubPick`]): a connection with room
//! for the call, or a wait (it is connecting, or opening another
//! connection), or its sticky failure. A call nothing can take yet waits
//! as a pending call (`Pick::Queue`); a fail-fast call with nowhere to go
//! fails at once with the reason (`Pick::Fail`).
//!
//! Whenever the answer may change (a subchannel connected or failed, the
//! resolver spoke, another connection opened), [`Core::reprocess`] picks
//! again for every pending call, as grpc-java's
//! `DelayedClientTransport.reprocess` does with a new picker: the served
//! ones get their real call, the failed fail, the rest wait on. Wait-for-
//! ready, fail-fast and deadlines keep their meaning across it.
//!
//! Must not: start or fail a call under the lock (rule 7): `reprocess`
//! hands back what to do, and [`Reprocessed::run`] does it after.

use std::sync::Arc;

use crate::channel::connection::Connector;
use crate::channel::core::Core;
use crate::channel::pending::{Pick, Reprocessed};
use crate::channel::state::{Locked, Mode};
use crate::channel::subchannel::{SubPick, SubState};
use crate::status::Status;

impl<K: Connector> Core<K> {
    /// Where a call goes now (lock held). Leaves IDLE, and starts
    /// connecting subchannels (or another connection) the call needs.
    pub(crate) fn pick(
        self: &Arc<Self>,
        locked: &mut Locked<K::Connection>,
        wait_for_ready: bool,
    ) -> Pick<K::Connection> {
        match locked.mode {
            Mode::Shutdown => return Pick::Fail(Status::unavailable("channel was shut down")),
            Mode::Idle => {
                self.exit_idle(locked);
                return Pick::Queue;
            }
            Mode::Active => {}
        }
        let count = locked.subchannels.len();
        if count == 0 {
            return match &locked.resolver.error {
                Some(error) if !wait_for_ready => Pick::Fail(error.clone()),
                _ => Pick::Queue,
            };
        }
        let start = self.policy.start(count);
        let mut wait = false;
        let mut failure = None;
        for step in 0..count {
            let at = (start + step) % count;
            let Locked {
                subchannels,
                dropped,
                ..
            } = &mut *locked;
            let subchannel = &mut subchannels[at];
            let was_ready = matches!(subchannel.state, SubState::Ready { .. });
            match subchannel.pick(&self.limits, &mut dropped.connections) {
                SubPick::Ready(connection) => return Pick::Ready(connection),
                SubPick::Grow => {
                    let key = subchannel.key;
                    self.grow(locked, key);
                    wait = true;
                }
                SubPick::Connect => {
                    let key = subchannel.key;
                    if was_ready {
                        // Its connections were going away: watchers hear
                        // the IDLE before the CONNECTING.
                        locked.observe();
                    }
                    self.connect_subchannel(locked, key);
                    wait = true;
                }
                SubPick::Wait | SubPick::Connecting => wait = true,
                SubPick::Failing(error) => {
                    failure.get_or_insert(error);
                }
            }
        }
        match failure {
            Some(error) if !wait && !wait_for_ready => {
                Pick::Fail(locked.last_failure.clone().unwrap_or(error))
            }
            _ => Pick::Queue,
        }
    }

    /// Picks again for every pending call (lock held): what to serve and
    /// what to fail, for `Reprocessed::run` after the lock.
    pub(crate) fn reprocess(
        self: &Arc<Self>,
        locked: &mut Locked<K::Connection>,
    ) -> Reprocessed<K::Connection> {
        let mut done = Reprocessed::default();
        let pending = std::mem::take(&mut locked.pending);
        for call in pending {
            if !call.is_waiting() {
                continue;
            }
            match self.pick(locked, call.wait_for_ready()) {
                Pick::Ready(connection) => done.served.push(call.bind(connection)),
                Pick::Fail(status) => done.failed.push((call, status)),
                Pick::Queue => locked.pending.push(call),
            }
        }
        done
    }

    /// Starts connecting what is IDLE (lock held): the channel leaves IDLE,
    /// or its IDLE subchannels connect.
    pub(crate) fn request_connection(self: &Arc<Self>, locked: &mut Locked<K::Connection>) {
        match locked.mode {
            Mode::Idle => self.exit_idle(locked),
            Mode::Shutdown => {}
            Mode::Active => {
                let idle: Vec<u64> = locked
                    .subchannels
                    .iter()
                    .filter(|s| s.reported() == crate::channel::ConnectivityState::Idle)
                    .map(|s| s.key)
                    .collect();
                for key in idle {
                    self.connect_subchannel(locked, key);
                }
            }
        }
    }
}
