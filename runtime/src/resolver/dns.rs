//! The `dns` resolver (layer: resolver): `host:port` through the system
//! resolver, off the I/O thread.
//!
//! Every A and AAAA address the system resolver returns is pushed, in its
//! order, duplicates removed. IP literals are pushed from `build` without a
//! lookup. Otherwise one task per resolver, on the channel's runtime, does
//! the lookups, one at a time (`tokio::net::lookup_host`, which blocks on a
//! blocking-pool thread, never on the I/O thread):
//!
//! - the first lookup starts in `build`;
//! - after a success, `resolve_now` looks up again, but no sooner than
//!   `min_resolve_interval` after that success: one lookup is scheduled,
//!   further requests meanwhile are absorbed;
//! - after a failure (an error pushed, origin `Resolve`), the task retries
//!   by itself after 1 s, doubling to at most 2 min; `resolve_now` looks up
//!   at once;
//! - dropping the resolver aborts the task; no update is pushed after.
//!
//! It must not choose among addresses or connect. The lookup is a seam
//! (`Lookup`) so that tests can answer for the system resolver.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::host_port::{join_host_port, split_host_port};
use super::{
    Address, Done, Resolution, Resolver, ResolverBuilder, ResolverContext, ResolverSink,
    ResolverTarget,
};
use crate::status::{Origin, Status};
use crate::sync::atomic::{AtomicBool, Ordering};

/// The port of a `dns:` target written without one.
const DEFAULT_PORT: u16 = 443;
/// How long after a success the next lookup may start, by default.
const DEFAULT_MIN_RESOLVE_INTERVAL: Duration = Duration::from_secs(30);
/// The first retry after a failed lookup.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait between retries.
const MAX_RETRY: Duration = Duration::from_secs(120);

/// A lookup in flight: the addresses for a host and port.
type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>;

/// Looks up a host's addresses: the system resolver, or a test's answers.
trait Lookup: Send + Sync + 'static {
    fn lookup(&self, host: &str, port: u16) -> LookupFuture;
}

/// The system resolver (`getaddrinfo`), on tokio's blocking pool.
struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str, port: u16) -> LookupFuture {
        let host = host.to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), port)).await?;
            Ok(found.collect())
        })
    }
}

/// Makes `dns` resolvers: `dns:[///]host[:port]` (and `http://`,
/// `https://` and bare `host:port` targets) through the system resolver.
///
/// Every address the name has (A and AAAA) is pushed, in the order the
/// system resolver returns them. The channel may ask for a fresh lookup
/// ([`Resolver::resolve_now`]); it gets one no sooner than
/// [`min_resolve_interval`](Self::min_resolve_interval) after the last
/// successful one. A failed lookup is retried by itself with backoff (1 s,
/// doubling, at most 2 min). A DNS server in the target
/// (`dns://8.8.8.8/host`) is not supported.
///
/// ```
/// use std::time::Duration;
/// use switchboard::resolver::{DnsResolverBuilder, ResolverRegistry};
///
/// let mut registry = ResolverRegistry::new();
/// registry.register(DnsResolverBuilder::new().min_resolve_interval(Duration::from_secs(5)));
/// assert!(registry.get("dns").is_some());
/// ```
#[derive(Clone)]
pub struct DnsResolverBuilder {
    min_resolve_interval: Duration,
    lookup: Arc<dyn Lookup>,
}

impl Default for DnsResolverBuilder {
    fn default() -> Self {
        DnsResolverBuilder {
            min_resolve_interval: DEFAULT_MIN_RESOLVE_INTERVAL,
            lookup: Arc::new(SystemLookup),
        }
    }
}

impl std::fmt::Debug for DnsResolverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsResolverBuilder")
            .field("min_resolve_interval", &self.min_resolve_interval)
            .finish_non_exhaustive()
    }
}

impl DnsResolverBuilder {
    /// The system resolver, with a minimum resolve interval of 30 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long after a successful lookup the next one may start when the
    /// channel asks for one (default 30 s); requests meanwhile wait for it.
    /// Retries after a failure are not limited by it.
    pub fn min_resolve_interval(mut self, interval: Duration) -> Self {
        self.min_resolve_interval = interval;
        self
    }

    /// This builder with `lookup` in place of the system resolver.
    #[cfg(test)]
    fn with_lookup(mut self, lookup: impl Lookup) -> Self {
        self.lookup = Arc::new(lookup);
        self
    }
}

impl ResolverBuilder for DnsResolverBuilder {
    fn scheme(&self) -> &str {
        "dns"
    }

    fn validate(&self, target: &ResolverTarget) -> Result<(), String> {
        if !target.authority().is_empty() {
            return Err(format!(
                "a DNS server authority in dns:// targets is not supported (got {:?}); \
                 write dns:///host:port",
                target.authority()
            ));
        }
        split_host_port(target.endpoint(), DEFAULT_PORT).map(|_| ())
    }

    fn build(
        &self,
        target: &ResolverTarget,
        sink: ResolverSink,
        context: &ResolverContext,
    ) -> Box<dyn Resolver> {
        let (host, port) = match split_host_port(target.endpoint(), DEFAULT_PORT) {
            Ok(host_port) => host_port,
            Err(reason) => {
                sink.update(Err(Status::unavailable(format!(
                    "failed to resolve {:?}: {reason}",
                    target.endpoint()
                ))
                .with_origin(Origin::Resolve)));
                return Box::new(Done);
            }
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            let address = Address::Tcp(SocketAddr::new(ip, port));
            sink.update(Ok(Resolution::new(vec![address])));
            return Box::new(Done);
        }
        // One request waits at most: more while one waits are the same request.
        let (requests, requested) = mpsc::channel(1);
        let stopped = Arc::new(AtomicBool::new(false));
        let lookups = Lookups {
            host,
            port,
            lookup: self.lookup.clone(),
            sink,
            stopped: stopped.clone(),
            min_resolve_interval: self.min_resolve_interval,
        };
        let task = context.runtime().spawn(lookups.run(requested));
        Box::new(DnsResolver {
            requests,
            stopped,
            task: task.abort_handle(),
        })
    }
}

/// A running `dns` resolver: the handle on its task.
struct DnsResolver {
    requests: mpsc::Sender<()>,
    stopped: Arc<AtomicBool>,
    task: AbortHandle,
}

impl Resolver for DnsResolver {
    fn resolve_now(&self) {
        // Full: a request already waits, which this one joins.
        let _ = self.requests.try_send(());
    }
}

impl Drop for DnsResolver {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.task.abort();
    }
}

/// The task's side: what to look up, and where results go.
struct Lookups {
    host: String,
    port: u16,
    lookup: Arc<dyn Lookup>,
    sink: ResolverSink,
    stopped: Arc<AtomicBool>,
    min_resolve_interval: Duration,
}

impl Lookups {
    /// Looks up, pushes, waits for the next reason to look up; until the
    /// resolver is dropped.
    async fn run(self, mut requested: mpsc::Receiver<()>) {
        let mut failures: u32 = 0;
        loop {
            // Requests made before this lookup starts are answered by it.
            while requested.try_recv().is_ok() {}
            let result = self.lookup_once().await;
            let succeeded = result.is_ok();
            if self.stopped.load(Ordering::SeqCst) {
                return;
            }
            self.sink.update(result);
            if succeeded {
                failures = 0;
                let allowed = Instant::now() + self.min_resolve_interval;
                if requested.recv().await.is_none() {
                    return;
                }
                tokio::time::sleep_until(allowed).await;
            } else {
                let delay = retry_delay(failures);
                failures = failures.saturating_add(1);
                tracing::debug!(host = %self.host, ?delay, "DNS lookup failed; retrying");
                // A request, or the delay's end (`Err`): look up again.
                if let Ok(None) = tokio::time::timeout(delay, requested.recv()).await {
                    return;
                }
            }
        }
    }

    /// One lookup: every address found, in order, without duplicates; or
    /// an UNAVAILABLE status with origin `Resolve`.
    async fn lookup_once(&self) -> Result<Resolution, Status> {
        let target = join_host_port(&self.host, self.port);
        match self.lookup.lookup(&self.host, self.port).await {
            Ok(found) => {
                let mut addresses: Vec<Address> = Vec::with_capacity(found.len());
                for address in found.into_iter().map(Address::Tcp) {
                    if !addresses.contains(&address) {
                        addresses.push(address);
                    }
                }
                if addresses.is_empty() {
                    return Err(Status::unavailable(format!(
                        "failed to resolve {target}: no addresses"
                    ))
                    .with_origin(Origin::Resolve));
                }
                Ok(Resolution::new(addresses))
            }
            Err(error) => Err(
                Status::unavailable(format!("failed to resolve {target}: {error}"))
                    .with_origin(Origin::Resolve)
                    .with_source(error),
            ),
        }
    }
}

/// The wait before retry number `failures + 1`: 1 s, doubling, at most
/// 2 min.
fn retry_delay(failures: u32) -> Duration {
    FIRST_RETRY
        .checked_mul(2u32.checked_pow(failures).unwrap_or(u32::MAX))
        .unwrap_or(MAX_RETRY)
        .min(MAX_RETRY)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, VecDeque};
    use std::error::Error as _;
    use std::net::ToSocketAddrs;
    use std::sync::Mutex;

    use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

    use super::*;

    /// Answers lookups from a script (then from `otherwise`), and reports
    /// each lookup (host, port, when) on a channel.
    struct FakeLookup {
        answers: Mutex<VecDeque<io::Result<Vec<SocketAddr>>>>,
        otherwise: Vec<SocketAddr>,
        calls: mpsc::UnboundedSender<(String, u16, Instant)>,
    }

    impl Lookup for Arc<FakeLookup> {
        fn lookup(&self, host: &str, port: u16) -> LookupFuture {
            let _ = self.calls.send((host.to_owned(), port, Instant::now()));
            let answer = self
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Ok(self.otherwise.clone()));
            Box::pin(async move { answer })
        }
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    fn tcp(list: &[&str]) -> Vec<Address> {
        addrs(list).into_iter().map(Address::Tcp).collect()
    }

    type Calls = UnboundedReceiver<(String, u16, Instant)>;
    type Pushed = UnboundedReceiver<Result<Resolution, Status>>;

    /// A resolver for `endpoint` with a fake lookup that answers `answers`,
    /// then `otherwise`, on the current (paused) runtime.
    fn start(
        builder: DnsResolverBuilder,
        endpoint: &str,
        answers: Vec<io::Result<Vec<SocketAddr>>>,
        otherwise: &[&str],
    ) -> (Box<dyn Resolver>, Calls, Pushed) {
        let (calls_tx, calls) = unbounded_channel();
        let fake = Arc::new(FakeLookup {
            answers: Mutex::new(answers.into()),
            otherwise: addrs(otherwise),
            calls: calls_tx,
        });
        let (pushed_tx, pushed) = unbounded_channel();
        let sink = ResolverSink::from_fn(move |result| {
            let _ = pushed_tx.send(result);
        });
        let context = ResolverContext::new(tokio::runtime::Handle::current());
        let target = ResolverTarget::new("dns", "", endpoint, format!("dns:///{endpoint}"));
        let resolver = builder.with_lookup(fake).build(&target, sink, &context);
        (resolver, calls, pushed)
    }

    /// Lets every task that can run, run, and timers up to `for_` fire.
    async fn idle_for(for_: Duration) {
        tokio::time::sleep(for_).await;
    }

    #[tokio::test(start_paused = true)]
    async fn pushes_every_address_of_both_families_in_order_without_duplicates() {
        let answer = addrs(&["127.0.0.1:50051", "[::1]:50051", "127.0.0.1:50051"]);
        let (_resolver, mut calls, mut pushed) = start(
            DnsResolverBuilder::new(),
            "localhost:50051",
            vec![Ok(answer)],
            &[],
        );
        let (host, port, _) = calls.recv().await.unwrap();
        assert_eq!((host.as_str(), port), ("localhost", 50051));
        let resolution = pushed.recv().await.unwrap().unwrap();
        assert_eq!(
            resolution.addresses,
            tcp(&["127.0.0.1:50051", "[::1]:50051"])
        );
    }

    #[tokio::test(start_paused = true)]
    async fn ip_literals_are_pushed_from_build_without_a_lookup() {
        for (endpoint, address) in [("10.1.2.3:7", "10.1.2.3:7"), ("[::1]", "[::1]:443")] {
            let (resolver, mut calls, mut pushed) =
                start(DnsResolverBuilder::new(), endpoint, vec![], &[]);
            let resolution = pushed.try_recv().expect("pushed in build").unwrap();
            assert_eq!(resolution.addresses, tcp(&[address]));
            resolver.resolve_now();
            idle_for(Duration::from_secs(300)).await;
            assert!(calls.try_recv().is_err(), "no lookup for {endpoint}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn resolve_now_within_the_interval_looks_up_once_at_the_interval() {
        let (resolver, mut calls, mut pushed) =
            start(DnsResolverBuilder::new(), "svc:1", vec![], &["10.0.0.1:1"]);
        let (.., first) = calls.recv().await.unwrap();
        pushed.recv().await.unwrap().unwrap();
        idle_for(Duration::from_secs(5)).await;
        resolver.resolve_now();
        resolver.resolve_now();
        let (.., second) = calls.recv().await.unwrap();
        assert_eq!(second - first, Duration::from_secs(30));
        pushed.recv().await.unwrap().unwrap();
        idle_for(Duration::from_secs(600)).await;
        assert!(calls.try_recv().is_err(), "exactly one more lookup");
        assert!(pushed.try_recv().is_err());

        // Long after the last lookup: at once.
        let asked = Instant::now();
        resolver.resolve_now();
        let (.., third) = calls.recv().await.unwrap();
        assert_eq!(third, asked);
    }

    #[tokio::test(start_paused = true)]
    async fn a_configured_interval_is_honoured() {
        let builder = DnsResolverBuilder::new().min_resolve_interval(Duration::from_secs(3));
        let (resolver, mut calls, _pushed) = start(builder, "svc:1", vec![], &["10.0.0.1:1"]);
        let (.., first) = calls.recv().await.unwrap();
        resolver.resolve_now();
        let (.., second) = calls.recv().await.unwrap();
        assert_eq!(second - first, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_is_pushed_then_retried_with_backoff() {
        let refused = || Err(io::Error::other("no such host"));
        let (_resolver, mut calls, mut pushed) = start(
            DnsResolverBuilder::new(),
            "nowhere.invalid:50051",
            vec![refused(), refused(), Ok(vec![])],
            &["10.0.0.1:50051", "[2001:db8::1]:50051"],
        );
        let (.., t0) = calls.recv().await.unwrap();
        let status = pushed.recv().await.unwrap().unwrap_err();
        assert_eq!(status.code(), crate::Code::Unavailable);
        assert_eq!(status.origin(), Origin::Resolve);
        assert!(
            status
                .message()
                .contains("failed to resolve nowhere.invalid:50051: no such host"),
            "{status}"
        );
        let source = status.source().expect("the lookup's error");
        assert!(source.downcast_ref::<io::Error>().is_some());

        let (.., t1) = calls.recv().await.unwrap();
        assert_eq!(t1 - t0, Duration::from_secs(1));
        pushed.recv().await.unwrap().unwrap_err();
        let (.., t2) = calls.recv().await.unwrap();
        assert_eq!(t2 - t1, Duration::from_secs(2));
        let empty = pushed.recv().await.unwrap().unwrap_err();
        assert!(empty.message().contains("no addresses"), "{empty}");
        assert_eq!(empty.origin(), Origin::Resolve);
        let (.., t3) = calls.recv().await.unwrap();
        assert_eq!(t3 - t2, Duration::from_secs(4));
        let resolution = pushed.recv().await.unwrap().unwrap();
        assert_eq!(
            resolution.addresses,
            tcp(&["10.0.0.1:50051", "[2001:db8::1]:50051"])
        );
        idle_for(Duration::from_secs(600)).await;
        assert!(calls.try_recv().is_err(), "no retry after a success");
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failure_resolve_now_looks_up_at_once() {
        let (resolver, mut calls, mut pushed) = start(
            DnsResolverBuilder::new(),
            "svc:1",
            vec![Err(io::Error::other("down"))],
            &["10.0.0.1:1"],
        );
        calls.recv().await.unwrap();
        pushed.recv().await.unwrap().unwrap_err();
        let asked = Instant::now();
        resolver.resolve_now();
        let (.., retried) = calls.recv().await.unwrap();
        assert_eq!(
            retried, asked,
            "not rate-limited, not waiting for the backoff"
        );
        pushed.recv().await.unwrap().unwrap();
    }

    #[test]
    fn retry_delays_double_up_to_two_minutes() {
        let delays: Vec<u64> = (0..10).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 120, 120, 120]);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_resolver_stops_lookups_and_pushes() {
        let (resolver, mut calls, mut pushed) =
            start(DnsResolverBuilder::new(), "svc:1", vec![], &["10.0.0.1:1"]);
        calls.recv().await.unwrap();
        pushed.recv().await.unwrap().unwrap();
        resolver.resolve_now(); // scheduled at +30 s
        drop(resolver);
        idle_for(Duration::from_secs(600)).await;
        assert!(calls.try_recv().is_err(), "no lookup after the drop");
        // The task ended: it dropped the sink (and the lookup with it).
        assert!(pushed.recv().await.is_none(), "no push after the drop");
        assert!(calls.recv().await.is_none());

        // Also while retrying after a failure.
        let (resolver, mut calls, mut pushed) = start(
            DnsResolverBuilder::new(),
            "svc:1",
            vec![Err(io::Error::other("down"))],
            &["10.0.0.1:1"],
        );
        calls.recv().await.unwrap();
        pushed.recv().await.unwrap().unwrap_err();
        drop(resolver);
        assert!(pushed.recv().await.is_none());
        assert!(calls.recv().await.is_none());
    }

    #[tokio::test]
    async fn the_system_resolver_yields_every_address_of_localhost() {
        let port = 50051;
        let expected: BTreeSet<SocketAddr> =
            ("localhost", port).to_socket_addrs().unwrap().collect();
        let (pushed_tx, mut pushed) = unbounded_channel();
        let sink = ResolverSink::from_fn(move |result| {
            let _ = pushed_tx.send(result);
        });
        let context = ResolverContext::new(tokio::runtime::Handle::current());
        let target = ResolverTarget::new("dns", "", "localhost:50051", "localhost:50051");
        let _resolver = DnsResolverBuilder::new().build(&target, sink, &context);
        let resolution = pushed.recv().await.unwrap().unwrap();
        let found: BTreeSet<SocketAddr> = resolution
            .addresses
            .iter()
            .map(|address| match address {
                Address::Tcp(address) => *address,
                other => panic!("not TCP: {other}"),
            })
            .collect();
        assert_eq!(found.len(), resolution.addresses.len(), "no duplicates");
        assert_eq!(found, expected);
        assert!(found.contains(&"127.0.0.1:50051".parse().unwrap()));
        if expected.iter().any(SocketAddr::is_ipv4) && expected.iter().any(SocketAddr::is_ipv6) {
            assert!(found.iter().any(SocketAddr::is_ipv4) && found.iter().any(SocketAddr::is_ipv6));
        }
    }

    #[test]
    fn validate_refuses_a_dns_server_and_a_bad_endpoint() {
        let builder = DnsResolverBuilder::new();
        let target = ResolverTarget::new("dns", "8.8.8.8", "x:1", "dns://8.8.8.8/x:1");
        assert!(
            builder
                .validate(&target)
                .unwrap_err()
                .contains("not supported")
        );
        let target = ResolverTarget::new("dns", "", "x:99999", "dns:///x:99999");
        assert!(builder.validate(&target).unwrap_err().contains("port"));
        let target = ResolverTarget::new("dns", "", "x:1", "dns:///x:1");
        assert_eq!(builder.validate(&target), Ok(()));
        assert_eq!(builder.default_authority(&target), "x:1");
        assert!(format!("{builder:?}").contains("30s"));
    }
}
