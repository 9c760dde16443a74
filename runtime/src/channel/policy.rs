//! Load-balancing policies (layer: channel).
//!
//! A [`Policy`] says how a channel spreads calls over the addresses its
//! resolver gives: how the addresses group into subchannels, whether
//! subchannels connect before a call asks, and in which order a call tries
//! them. The channel's picker (`picker`) walks that order; the state the
//! channel reports is aggregated from its subchannels the same way for
//! every policy ([`aggregate`], gRPC's connectivity-semantics doc).
//!
//! - pick_first (the default): one subchannel over the whole list, which
//!   tries the addresses in order and sticks to the first that connects;
//!   it connects when a call needs it.
//! - round_robin: one subchannel per address, all kept connected; calls go
//!   to each READY one in turn.

use crate::address::Address;
use crate::channel::ConnectivityState;
use crate::sync::atomic::{AtomicUsize, Ordering};

/// How a channel spreads calls over the addresses its resolver gives (see
/// [`ChannelBuilder::load_balancing`](crate::ChannelBuilder::load_balancing)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoadBalancing {
    /// Try the addresses in order and send every call to the first that
    /// connects; on losing it, start again from the first (gRPC's default).
    #[default]
    PickFirst,
    /// Keep a connection to every address and send calls to each READY
    /// one in turn.
    RoundRobin,
}

/// A load-balancing policy, as the channel's picker uses it.
pub(crate) trait Policy: Send + Sync + 'static {
    /// The policy's gRPC name (`pick_first`, `round_robin`).
    fn name(&self) -> &'static str;

    /// How `addresses` group into subchannels: one group per subchannel.
    fn groups(&self, addresses: &[Address]) -> Vec<Vec<Address>>;

    /// Whether a subchannel connects (and reconnects) without waiting for
    /// a call to need it.
    fn eager(&self) -> bool;

    /// Where a call starts trying `count` subchannels (it goes on in
    /// order, wrapping around).
    fn start(&self, count: usize) -> usize;
}

/// The policy for `choice`.
pub(crate) fn policy(choice: LoadBalancing) -> Box<dyn Policy> {
    match choice {
        LoadBalancing::PickFirst => Box::new(PickFirst),
        LoadBalancing::RoundRobin => Box::new(RoundRobin {
            next: AtomicUsize::new(0),
        }),
    }
}

/// gRPC's pick_first.
struct PickFirst;

impl Policy for PickFirst {
    fn name(&self) -> &'static str {
        "pick_first"
    }

    fn groups(&self, addresses: &[Address]) -> Vec<Vec<Address>> {
        vec![addresses.to_vec()]
    }

    fn eager(&self) -> bool {
        false
    }

    fn start(&self, _: usize) -> usize {
        0
    }
}

/// gRPC's round_robin.
struct RoundRobin {
    /// The next call's first choice.
    next: AtomicUsize,
}

impl Policy for RoundRobin {
    fn name(&self) -> &'static str {
        "round_robin"
    }

    fn groups(&self, addresses: &[Address]) -> Vec<Vec<Address>> {
        let mut groups: Vec<Vec<Address>> = Vec::with_capacity(addresses.len());
        for address in addresses {
            if !groups.iter().any(|g| g[0] == *address) {
                groups.push(vec![address.clone()]);
            }
        }
        groups
    }

    fn eager(&self) -> bool {
        true
    }

    fn start(&self, count: usize) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % count.max(1)
    }
}

/// The channel's state from its subchannels' (gRPC's connectivity doc):
/// READY if any is; else CONNECTING if any is; else IDLE if any is; else
/// TRANSIENT_FAILURE. `None` with no subchannels (the resolver decides).
pub(crate) fn aggregate(
    states: impl Iterator<Item = ConnectivityState>,
) -> Option<ConnectivityState> {
    let mut best = None;
    for state in states {
        let rank = |s: ConnectivityState| match s {
            ConnectivityState::Ready => 0,
            ConnectivityState::Connecting => 1,
            ConnectivityState::Idle => 2,
            ConnectivityState::TransientFailure => 3,
            ConnectivityState::Shutdown => 4,
        };
        if best.is_none_or(|b| rank(state) < rank(b)) {
            best = Some(state);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectivityState::*;

    #[test]
    fn the_channel_reports_its_best_subchannel() {
        assert_eq!(
            aggregate([TransientFailure, Ready, Connecting].into_iter()),
            Some(Ready)
        );
        assert_eq!(
            aggregate([TransientFailure, Idle, Connecting].into_iter()),
            Some(Connecting)
        );
        assert_eq!(aggregate([TransientFailure, Idle].into_iter()), Some(Idle));
        assert_eq!(
            aggregate([TransientFailure].into_iter()),
            Some(TransientFailure)
        );
        assert_eq!(aggregate(std::iter::empty()), None);
    }

    #[test]
    fn round_robin_keeps_one_subchannel_per_address_and_turns() {
        let a = Address::Tcp(([127, 0, 0, 1], 1).into());
        let b = Address::Tcp(([127, 0, 0, 1], 2).into());
        let rr = policy(LoadBalancing::RoundRobin);
        assert_eq!(
            rr.groups(&[a.clone(), b.clone(), a.clone()]),
            vec![vec![a.clone()], vec![b.clone()]]
        );
        let starts: Vec<usize> = (0..4).map(|_| rr.start(3)).collect();
        assert_eq!(starts, [0, 1, 2, 0]);
        let pf = policy(LoadBalancing::PickFirst);
        assert_eq!(pf.groups(&[a.clone(), b.clone()]), vec![vec![a, b]]);
        assert_eq!(pf.start(1), 0);
    }
}
