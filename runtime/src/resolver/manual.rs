//! [`ManualResolver`]: addresses the program pushes itself (layer:
//! resolver).
//!
//! For service discovery the program already does (Consul, Kubernetes
//! endpoints) and for tests. It keeps the latest state and the sinks of the
//! channels built from it; an update goes to each of them, in the order
//! updates were made, and never under its lock (updates made while one is
//! being delivered are queued and delivered by the thread already
//! delivering). It must not look anything up.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Weak};

use super::{
    Address, Resolution, Resolver, ResolverBuilder, ResolverContext, ResolverSink, ResolverTarget,
};
use crate::status::Status;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{Mutex, MutexGuard, lock};

/// A resolver whose addresses the program pushes: for service discovery it
/// does itself (Consul, Kubernetes endpoints) and for tests.
///
/// Register it under its scheme, point channels at `scheme:///anything`,
/// and push address lists with [`update`](Self::update): each channel built
/// from it gets the latest state when it starts resolving, and every later
/// update while it lives. Clones share the state.
///
/// ```
/// use switchboard::resolver::{Address, ManualResolver, ResolverRegistry};
///
/// let discovery = ManualResolver::new("consul");
/// let mut registry = ResolverRegistry::new();
/// registry.register(discovery.clone());
/// // Channels to "consul:///payments" now get whatever is pushed here:
/// discovery.update(vec![
///     Address::Tcp("10.0.0.7:50051".parse()?),
///     Address::Tcp("10.0.0.8:50051".parse()?),
/// ]);
/// assert_eq!(discovery.resolve_now_count(), 0);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone)]
pub struct ManualResolver {
    shared: Arc<Shared>,
}

/// What the clones of one `ManualResolver` share.
struct Shared {
    scheme: String,
    state: Mutex<State>,
    resolve_now: AtomicU64,
}

/// The state behind the lock.
struct State {
    /// The last update, for channels built later.
    latest: Option<Result<Resolution, Status>>,
    /// The live channels' sinks, by resolver id.
    sinks: BTreeMap<u64, ResolverSink>,
    next_id: u64,
    /// Updates not yet delivered: to which resolvers, what.
    queue: VecDeque<(Vec<u64>, Result<Resolution, Status>)>,
    /// A thread is delivering the queue.
    delivering: bool,
}

impl ManualResolver {
    /// A manual resolver for targets `scheme:...` (register it in a
    /// [`ResolverRegistry`](super::ResolverRegistry)); it has no addresses
    /// until the first update.
    pub fn new(scheme: impl Into<String>) -> Self {
        ManualResolver {
            shared: Arc::new(Shared {
                scheme: scheme.into(),
                state: Mutex::new(State {
                    latest: None,
                    sinks: BTreeMap::new(),
                    next_id: 0,
                    queue: VecDeque::new(),
                    delivering: false,
                }),
                resolve_now: AtomicU64::new(0),
            }),
        }
    }

    /// Sends `addresses` (most preferred first) to every channel built from
    /// this resolver, and to those built later.
    pub fn update(&self, addresses: Vec<Address>) {
        self.update_resolution(Resolution::new(addresses));
    }

    /// Sends `resolution` to every channel built from this resolver, and to
    /// those built later.
    pub fn update_resolution(&self, resolution: Resolution) {
        self.publish(Ok(resolution));
    }

    /// Tells every channel built from this resolver that resolving failed
    /// with `status`; channels built later get it too, until the next
    /// update.
    pub fn report_error(&self, status: Status) {
        self.publish(Err(status));
    }

    /// How many times channels asked for a fresh resolution
    /// ([`Resolver::resolve_now`]).
    pub fn resolve_now_count(&self) -> u64 {
        self.shared.resolve_now.load(Ordering::SeqCst)
    }

    fn publish(&self, result: Result<Resolution, Status>) {
        let mut state = lock(&self.shared.state);
        state.latest = Some(result.clone());
        let ids = state.sinks.keys().copied().collect();
        state.queue.push_back((ids, result));
        self.shared.deliver(state);
    }
}

impl Shared {
    /// Delivers the queue, unless another thread is at it (then it will
    /// deliver what was just queued). Calls the sinks without the lock.
    fn deliver<'a>(&'a self, mut state: MutexGuard<'a, State>) {
        if state.delivering {
            return;
        }
        state.delivering = true;
        // If a sink panics, the next update delivers again.
        let mut guard = Delivering {
            shared: self,
            done: false,
        };
        while let Some((ids, result)) = state.queue.pop_front() {
            // Only resolvers still alive: none hears of an update after its drop.
            let sinks: Vec<ResolverSink> = ids
                .iter()
                .filter_map(|id| state.sinks.get(id).cloned())
                .collect();
            drop(state);
            for sink in sinks {
                sink.update(result.clone());
            }
            state = lock(&self.state);
        }
        state.delivering = false;
        guard.done = true;
    }
}

/// Clears `delivering` if a sink panicked while delivering.
struct Delivering<'a> {
    shared: &'a Shared,
    done: bool,
}

impl Drop for Delivering<'_> {
    fn drop(&mut self) {
        if !self.done {
            lock(&self.shared.state).delivering = false;
        }
    }
}

impl fmt::Debug for ManualResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channels = lock(&self.shared.state).sinks.len();
        f.debug_struct("ManualResolver")
            .field("scheme", &self.shared.scheme)
            .field("channels", &channels)
            .field("resolve_now_count", &self.resolve_now_count())
            .finish()
    }
}

impl ResolverBuilder for ManualResolver {
    fn scheme(&self) -> &str {
        &self.shared.scheme
    }

    /// The endpoint (`payments` for `consul:///payments`), or `localhost`
    /// if it is empty.
    fn default_authority(&self, target: &ResolverTarget) -> String {
        match target.endpoint() {
            "" => "localhost".to_owned(),
            endpoint => endpoint.to_owned(),
        }
    }

    fn build(
        &self,
        _target: &ResolverTarget,
        sink: ResolverSink,
        _context: &ResolverContext,
    ) -> Box<dyn Resolver> {
        let mut state = lock(&self.shared.state);
        let id = state.next_id;
        state.next_id += 1;
        state.sinks.insert(id, sink);
        if let Some(latest) = state.latest.clone() {
            state.queue.push_back((vec![id], latest));
        }
        self.shared.deliver(state);
        Box::new(ManualHandle {
            shared: Arc::downgrade(&self.shared),
            id,
        })
    }
}

/// One channel's resolver: counts its requests, and removes its sink when
/// dropped. Holds the state weakly: a channel does not keep it alive.
struct ManualHandle {
    shared: Weak<Shared>,
    id: u64,
}

impl Resolver for ManualHandle {
    fn resolve_now(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.resolve_now.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Drop for ManualHandle {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            lock(&shared.state).sinks.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::Code;

    type Pushed = mpsc::Receiver<Result<Resolution, Status>>;

    fn context() -> (tokio::runtime::Runtime, ResolverContext) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let context = ResolverContext::new(runtime.handle().clone());
        (runtime, context)
    }

    fn channel(manual: &ManualResolver, context: &ResolverContext) -> (Box<dyn Resolver>, Pushed) {
        let (tx, rx) = mpsc::channel();
        let sink = ResolverSink::from_fn(move |result| {
            let _ = tx.send(result);
        });
        let target = ResolverTarget::new("manual", "", "anything", "manual:///anything");
        (manual.build(&target, sink, context), rx)
    }

    fn tcp(address: &str) -> Address {
        Address::Tcp(address.parse().unwrap())
    }

    #[test]
    fn updates_reach_every_live_channel_and_later_ones_get_the_latest() {
        let (_rt, context) = context();
        let manual = ManualResolver::new("manual");
        let (first, first_rx) = channel(&manual, &context);
        assert!(first_rx.try_recv().is_err(), "nothing to push yet");

        manual.update(vec![tcp("10.0.0.1:1")]);
        assert_eq!(
            first_rx.try_recv().unwrap().unwrap().addresses,
            [tcp("10.0.0.1:1")]
        );

        let (_second, second_rx) = channel(&manual, &context);
        assert_eq!(
            second_rx.try_recv().unwrap().unwrap().addresses,
            [tcp("10.0.0.1:1")],
            "the latest state at once, from build"
        );

        let resolution = Resolution::new(vec![tcp("10.0.0.2:2")]).with_attribute("k", "v");
        manual.clone().update_resolution(resolution.clone());
        assert_eq!(first_rx.try_recv().unwrap().unwrap(), resolution);
        assert_eq!(second_rx.try_recv().unwrap().unwrap(), resolution);

        manual.report_error(Status::unavailable("registry down"));
        for rx in [&first_rx, &second_rx] {
            let status = rx.try_recv().unwrap().unwrap_err();
            assert_eq!(
                (status.code(), status.message()),
                (Code::Unavailable, "registry down")
            );
        }
        let (_third, third_rx) = channel(&manual, &context);
        assert!(
            third_rx.try_recv().unwrap().is_err(),
            "the latest state is the error"
        );

        drop(first);
        manual.update(vec![]);
        assert!(
            first_rx.try_recv().is_err(),
            "a dropped resolver hears nothing"
        );
        assert!(second_rx.try_recv().unwrap().unwrap().addresses.is_empty());
        assert!(format!("{manual:?}").contains("channels: 2"), "{manual:?}");
    }

    #[test]
    fn counts_resolve_now_and_holds_no_cycle() {
        let (_rt, context) = context();
        let manual = ManualResolver::new("manual");
        let (a, _a_rx) = channel(&manual, &context);
        let (b, b_rx) = channel(&manual, &context);
        a.resolve_now();
        b.resolve_now();
        b.resolve_now();
        assert_eq!(manual.resolve_now_count(), 3);
        assert_eq!(manual.scheme(), "manual");

        drop(manual);
        // The channels' resolvers held it weakly: it is gone, with their sinks.
        assert!(b_rx.recv().is_err(), "the sink was dropped with the state");
        b.resolve_now();
        drop(a);
    }

    #[test]
    fn updates_from_inside_a_sink_are_delivered_after_in_order() {
        let (_rt, context) = context();
        let manual = ManualResolver::new("manual");
        let (tx, rx) = mpsc::channel();
        let again = manual.clone();
        let sink = ResolverSink::from_fn(move |result: Result<Resolution, Status>| {
            let n = result.as_ref().map(|r| r.addresses.len()).unwrap_or(0);
            tx.send(n).unwrap();
            if n == 1 {
                // Re-entrant: queued, delivered once this call returns.
                again.update(vec![tcp("10.0.0.1:1"), tcp("10.0.0.2:1")]);
            }
        });
        let target = ResolverTarget::new("manual", "", "", "manual:");
        let _resolver = manual.build(&target, sink, &context);
        assert_eq!(manual.default_authority(&target), "localhost");
        manual.update(vec![tcp("10.0.0.1:1")]);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn a_panicking_sink_does_not_stop_later_updates() {
        let (_rt, context) = context();
        let manual = ManualResolver::new("manual");
        let (tx, rx) = mpsc::channel();
        let sink = ResolverSink::from_fn(move |result: Result<Resolution, Status>| {
            let n = result.map(|r| r.addresses.len()).unwrap_or(0);
            assert!(n != 1, "a bug in a sink");
            tx.send(n).unwrap();
        });
        let target = ResolverTarget::new("manual", "", "x", "manual:///x");
        let _resolver = manual.build(&target, sink, &context);
        let m = manual.clone();
        let panicked = std::thread::spawn(move || m.update(vec![tcp("10.0.0.1:1")])).join();
        assert!(panicked.is_err());
        manual.update(vec![tcp("10.0.0.1:1"), tcp("10.0.0.2:1")]);
        assert_eq!(rx.try_recv().unwrap(), 2);
    }

    #[test]
    fn updates_from_many_threads_all_arrive() {
        let (_rt, context) = context();
        let manual = ManualResolver::new("manual");
        let (_resolver, rx) = channel(&manual, &context);
        let threads: Vec<_> = (0..4u16)
            .map(|t| {
                let manual = manual.clone();
                std::thread::spawn(move || {
                    for i in 0..50u16 {
                        manual.update(vec![tcp(&format!("10.0.0.1:{}", t * 100 + i))]);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let delivered: Vec<Resolution> = rx.try_iter().map(Result::unwrap).collect();
        assert_eq!(delivered.len(), 200);
        // The last update delivered is the latest state.
        let (_late, late_rx) = channel(&manual, &context);
        assert_eq!(
            Some(late_rx.try_recv().unwrap().unwrap()),
            delivered.last().cloned()
        );
    }
}
