//! The channel's side of name resolution (layer: channel).
//!
//! Leaving IDLE starts the channel's resolver (`Core::exit_idle`, then
//! `Core::start_resolver` on the runtime: a resolver is user code, never
//! run under the lock). What it says arrives in `Core::on_resolution`:
//!
//! - addresses: the policy groups them into subchannels. A subchannel whose
//!   addresses are still listed is kept, with its connections; new ones
//!   start connecting; the others are dropped (their calls go on on the
//!   connections they hold). Then the pending calls are picked again.
//! - no addresses, or an error before any address: the channel reports
//!   TRANSIENT_FAILURE; fail-fast calls fail with an UNAVAILABLE naming the
//!   resolver, wait-for-ready calls wait. An error after addresses keeps
//!   the subchannels it has (as gRPC does).
//!
//! A lost connection or a GOAWAY asks the resolver for a fresh look
//! (`Core::resolve_now`); the resolver may rate-limit it.

use std::sync::{Arc, Weak};

use crate::address::Address;
use crate::channel::connection::Connector;
use crate::channel::core::Core;
use crate::channel::state::{Locked, Mode, lock_state};
use crate::channel::subchannel::Subchannel;
use crate::resolver::{Resolution, ResolverContext, ResolverSink};
use crate::status::{Origin, Status};

impl<K: Connector> Core<K> {
    /// IDLE → active (lock held): starts the resolver (on the runtime) and
    /// the idle timer. Without a runtime the resolver's error is that.
    pub(crate) fn exit_idle(self: &Arc<Self>, locked: &mut Locked<K::Connection>) {
        locked.mode = Mode::Active;
        locked.resolver.generation += 1;
        let runtime = match self.runtime() {
            Ok(runtime) => runtime,
            Err(error) => {
                locked.resolver.error = Some(error);
                return;
            }
        };
        if !locked.idle_timer_running {
            locked.idle_timer_running = true;
            runtime.spawn(Self::idle_timer(Arc::downgrade(self)));
        }
        let generation = locked.resolver.generation;
        let core = Arc::downgrade(self);
        let context = ResolverContext::new(runtime.clone());
        runtime.spawn(async move { Self::start_resolver(core, generation, context) });
    }

    /// Builds and keeps the resolver of `generation`, unless the channel
    /// moved on meanwhile.
    fn start_resolver(core: Weak<Self>, generation: u64, context: ResolverContext) {
        let Some(strong) = core.upgrade() else {
            return;
        };
        let sink = ResolverSink::new(move |result| {
            if let Some(core) = core.upgrade() {
                core.on_resolution(generation, result);
            }
        });
        let naming = &strong.naming;
        let resolver = naming.resolver.build(&naming.target, sink, &context);
        let mut locked = lock_state(&strong.state);
        if locked.mode == Mode::Active && locked.resolver.generation == generation {
            locked.resolver.running = Some(resolver);
        } else {
            locked.dropped.resolver = Some(resolver);
        }
    }

    /// What resolver `generation` found (see the module doc).
    pub(crate) fn on_resolution(
        self: &Arc<Self>,
        generation: u64,
        result: Result<Resolution, Status>,
    ) {
        let mut locked = lock_state(&self.state);
        if locked.mode != Mode::Active || locked.resolver.generation != generation {
            return;
        }
        match result {
            Ok(resolution) if resolution.addresses.is_empty() => {
                let target = self.naming.target.original();
                let scheme = self.naming.resolver.scheme();
                tracing::debug!(target, "the resolver returned no addresses");
                let Locked {
                    subchannels,
                    dropped,
                    ..
                } = &mut *locked;
                dropped.subchannels.append(subchannels);
                locked.resolver.error = Some(
                    Status::unavailable(format!(
                        "name resolver `{scheme}` returned no addresses for {target}"
                    ))
                    .with_origin(Origin::Resolve),
                );
            }
            Ok(resolution) => {
                locked.resolver.error = None;
                self.update_subchannels(&mut locked, &resolution.addresses);
            }
            Err(error) => {
                tracing::debug!(%error, "name resolution failed");
                if locked.subchannels.is_empty() {
                    locked.resolver.error = Some(error);
                }
            }
        }
        let reprocessed = self.reprocess(&mut locked);
        drop(locked);
        reprocessed.run();
    }

    /// Regroups the subchannels for `addresses` (lock held): kept where
    /// their addresses are still listed, new ones connecting at once.
    fn update_subchannels(
        self: &Arc<Self>,
        locked: &mut Locked<K::Connection>,
        addresses: &[Address],
    ) {
        let groups = self.policy.groups(addresses);
        tracing::debug!(
            policy = self.policy.name(),
            addresses = addresses.len(),
            subchannels = groups.len(),
            "new addresses from the resolver"
        );
        let mut old = std::mem::take(&mut locked.subchannels);
        let mut connect = Vec::new();
        for group in groups {
            let kept = old.iter().position(|s| s.addresses == group).or_else(|| {
                old.iter()
                    .position(|s| s.addresses.iter().any(|a| group.contains(a)))
            });
            match kept {
                Some(at) => {
                    let mut subchannel = old.swap_remove(at);
                    subchannel.addresses = group;
                    // Connected to an address no longer listed: reconnect.
                    if let crate::channel::subchannel::SubState::Ready { address, .. } =
                        &subchannel.state
                        && !subchannel.addresses.contains(address)
                    {
                        subchannel.disconnect(&mut locked.dropped.connections);
                        connect.push(subchannel.key);
                    }
                    locked.subchannels.push(subchannel);
                }
                None => {
                    let key = locked.next_id();
                    let backoff = self.new_backoff(key);
                    locked
                        .subchannels
                        .push(Subchannel::new(key, group, backoff));
                    connect.push(key);
                }
            }
        }
        locked.dropped.subchannels.append(&mut old);
        for key in connect {
            self.connect_subchannel(locked, key);
        }
    }

    /// Asks the resolver for a fresh look (a connection was lost, or is
    /// going away). Called without the lock: the resolver is user code.
    pub(crate) fn resolve_now(&self) {
        // The resolver is taken out for the call and put back, so that
        // user code never runs under the lock.
        let resolver = {
            let mut locked = lock_state(&self.state);
            locked
                .resolver
                .running
                .take()
                .map(|r| (r, locked.resolver.generation))
        };
        let Some((resolver, generation)) = resolver else {
            return;
        };
        resolver.resolve_now();
        let mut locked = lock_state(&self.state);
        if locked.mode == Mode::Active
            && locked.resolver.generation == generation
            && locked.resolver.running.is_none()
        {
            locked.resolver.running = Some(resolver);
        } else {
            locked.dropped.resolver = Some(resolver);
        }
    }
}
