//! Name resolution: from a channel's target to the addresses it may
//! connect to (layer: resolver, above data, below transport, call and
//! channel).
//!
//! A target names a resolver by its URI scheme (gRPC's naming doc:
//! `scheme:[//authority/]endpoint`). A [`ResolverRegistry`] maps schemes to
//! [`ResolverBuilder`]s and parses targets; a builder starts one
//! [`Resolver`] per channel, which pushes what it finds, a [`Resolution`]
//! or an error `Status`, into the channel's [`ResolverSink`], at once or
//! later, from any thread. The channel asks for fresh results with
//! [`Resolver::resolve_now`] and stops the resolver by dropping it.
//!
//! This module owns resolving; it must not connect, choose among
//! addresses or know the channel, the transport or calls. Its files, one
//! job each, bottom up (each uses only files before it, and this one):
//!
//! - `mod` (this file): the API: [`Resolution`], [`ResolverTarget`],
//!   [`ResolverSink`], [`ResolverContext`] and the two traits;
//! - `host_port`: `host[:port]` text, split and written back;
//! - `literal`: the `ipv4:`, `ipv6:`, `unix:` and `unix-abstract:`
//!   resolvers, which push a fixed list once;
//! - `dns`: [`DnsResolverBuilder`], the system resolver off the I/O thread,
//!   rate-limited, retried with backoff after a failure;
//! - `manual`: [`ManualResolver`], address lists pushed by the program;
//! - `registry`: [`ResolverRegistry`] and the target parser.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::status::Status;

mod dns;
mod host_port;
mod literal;
mod manual;
mod registry;

pub use crate::address::Address;
pub use dns::DnsResolverBuilder;
pub use manual::ManualResolver;
pub(crate) use registry::ParsedTarget;
pub use registry::ResolverRegistry;

/// What a resolver found: addresses in order of preference, plus attributes.
///
/// ```
/// use switchboard::resolver::{Address, Resolution};
///
/// let resolution = Resolution::new(vec![Address::Tcp("10.0.0.1:443".parse()?)])
///     .with_attribute("zone", "eu-west-1a");
/// assert_eq!(resolution.addresses.len(), 1);
/// assert_eq!(resolution.attributes["zone"], "eu-west-1a");
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolution {
    /// The addresses, most preferred first.
    pub addresses: Vec<Address>,
    /// Free-form attributes of the whole resolution (for example a service
    /// config or a zone), for the channel and balancers that understand them.
    pub attributes: BTreeMap<String, String>,
}

impl Resolution {
    /// A resolution of `addresses` (most preferred first), with no attributes.
    pub fn new(addresses: Vec<Address>) -> Resolution {
        Resolution {
            addresses,
            attributes: BTreeMap::new(),
        }
    }

    /// This resolution with attribute `key` set to `value` (replacing any
    /// value `key` had).
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// A parsed target as a resolver sees it (gRPC naming doc:
/// `scheme:[//authority/]endpoint`).
///
/// For `dns:///example.com:50051` the scheme is `dns`, the authority (the
/// DNS server to ask) is empty and the endpoint is `example.com:50051`.
/// `http://`, `https://` and bare `host[:port]` targets reach the `dns`
/// resolver with the endpoint written as `host:port`, the default port
/// applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolverTarget {
    scheme: String,
    authority: String,
    endpoint: String,
    original: String,
}

impl ResolverTarget {
    pub(crate) fn new(
        scheme: impl Into<String>,
        authority: impl Into<String>,
        endpoint: impl Into<String>,
        original: impl Into<String>,
    ) -> ResolverTarget {
        ResolverTarget {
            scheme: scheme.into(),
            authority: authority.into(),
            endpoint: endpoint.into(),
            original: original.into(),
        }
    }

    /// The scheme, lowercase, that chose the resolver (`dns`, `unix`, ...).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The authority between `//` and the next `/`: for `dns`, the DNS
    /// server to ask. Usually empty.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// What to resolve: a `host:port`, a path, a list of addresses,
    /// whatever the scheme's resolver reads.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The target string as the user gave it.
    pub fn original(&self) -> &str {
        &self.original
    }
}

type SinkFn = dyn Fn(Result<Resolution, Status>) + Send + Sync + 'static;

/// Where a resolver sends what it finds; cheap to clone; callable from any
/// thread, also from inside [`ResolverBuilder::build`].
///
/// Each call replaces what the channel knew: send every address each time,
/// not a difference. Send an error `Status` (origin
/// [`Origin::Resolve`](crate::Origin::Resolve)) when resolving failed; the
/// channel decides whether to keep using the addresses it had.
#[derive(Clone)]
pub struct ResolverSink {
    update: Arc<SinkFn>,
}

impl ResolverSink {
    pub(crate) fn new(f: impl Fn(Result<Resolution, Status>) + Send + Sync + 'static) -> Self {
        ResolverSink {
            update: Arc::new(f),
        }
    }

    /// A sink that hands every update to `f`: for tests and custom plumbing
    /// (driving a [`ResolverBuilder`] without a channel).
    ///
    /// `f` may run on any thread, also on the one calling
    /// [`ResolverBuilder::build`], before `build` returns.
    pub fn from_fn(f: impl Fn(Result<Resolution, Status>) + Send + Sync + 'static) -> Self {
        ResolverSink::new(f)
    }

    /// Sends a new result: the addresses found, or why resolving failed.
    pub fn update(&self, result: Result<Resolution, Status>) {
        (self.update)(result);
    }
}

impl fmt::Debug for ResolverSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolverSink").finish_non_exhaustive()
    }
}

/// A running resolver for one channel; dropped (and must stop) when the
/// channel shuts down or goes idle.
///
/// Dropping it must stop its work (timers, lookups, watches) and its
/// updates; it must not keep the channel alive (hold the [`ResolverSink`]
/// only in the work it stops).
///
/// A tiny custom resolver, a fixed list of addresses under the scheme
/// `static`, registered in a registry:
///
/// ```
/// use std::net::SocketAddr;
/// use switchboard::Status;
/// use switchboard::resolver::{
///     Address, Resolution, Resolver, ResolverBuilder, ResolverContext, ResolverRegistry,
///     ResolverSink, ResolverTarget,
/// };
///
/// /// `static:10.0.0.1:80,10.0.0.2:80`: these addresses, always.
/// struct StaticBuilder;
///
/// /// Nothing runs: the list was sent in `build`.
/// struct StaticResolver;
///
/// impl Resolver for StaticResolver {}
///
/// fn addresses(list: &str) -> Result<Vec<Address>, String> {
///     list.split(',')
///         .map(|a| a.parse::<SocketAddr>().map(Address::Tcp).map_err(|e| format!("{a:?}: {e}")))
///         .collect()
/// }
///
/// impl ResolverBuilder for StaticBuilder {
///     fn scheme(&self) -> &str {
///         "static"
///     }
///
///     fn validate(&self, target: &ResolverTarget) -> Result<(), String> {
///         addresses(target.endpoint()).map(|_| ())
///     }
///
///     fn build(
///         &self,
///         target: &ResolverTarget,
///         sink: ResolverSink,
///         _context: &ResolverContext,
///     ) -> Box<dyn Resolver> {
///         sink.update(addresses(target.endpoint()).map(Resolution::new).map_err(Status::unavailable));
///         Box::new(StaticResolver)
///     }
/// }
///
/// let mut registry = ResolverRegistry::new();
/// registry.register(StaticBuilder);
/// assert_eq!(registry.get("static").map(|b| b.scheme().to_owned()).as_deref(), Some("static"));
/// assert!(registry.get("dns").is_some(), "the built-ins stay");
/// ```
pub trait Resolver: Send + Sync + 'static {
    /// The channel asks for a fresh resolution (a connection was lost, a
    /// GOAWAY arrived, the channel left IDLE). May be rate-limited.
    /// Default: nothing.
    fn resolve_now(&self) {}
}

/// Makes resolvers for one URI scheme; registered in a [`ResolverRegistry`].
///
/// See [`Resolver`] for an example.
pub trait ResolverBuilder: Send + Sync + 'static {
    /// The URI scheme this builder resolves (`dns`, `unix`, ...), without
    /// the `:`.
    fn scheme(&self) -> &str;

    /// The `:authority` (and default TLS name) for channels to `target`.
    /// Default: the endpoint.
    fn default_authority(&self, target: &ResolverTarget) -> String {
        target.endpoint().to_owned()
    }

    /// Checks `target` when the channel is built (no I/O); `Err(reason)`
    /// refuses it. Default: `Ok`.
    fn validate(&self, target: &ResolverTarget) -> Result<(), String> {
        let _ = target;
        Ok(())
    }

    /// Starts resolving `target`: results go to `sink`, now (even from
    /// inside `build`) or later, from any thread.
    fn build(
        &self,
        target: &ResolverTarget,
        sink: ResolverSink,
        context: &ResolverContext,
    ) -> Box<dyn Resolver>;
}

/// What a resolver may use: the channel's runtime.
#[derive(Clone, Debug)]
pub struct ResolverContext {
    runtime: tokio::runtime::Handle,
}

impl ResolverContext {
    // Used by the channel once it switches to the resolver.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn new(runtime: tokio::runtime::Handle) -> Self {
        ResolverContext { runtime }
    }

    /// The channel's tokio runtime: spawn lookups, timers and watches here
    /// (the channel's callers need not be inside a tokio context).
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }
}

/// A resolver with nothing left to do: it pushed its result in `build`.
struct Done;

impl Resolver for Done {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_and_target_accessors() {
        let address = Address::Tcp("127.0.0.1:1".parse().unwrap());
        let resolution = Resolution::new(vec![address.clone()])
            .with_attribute("a", "1")
            .with_attribute("a", "2");
        assert_eq!(resolution.addresses, vec![address]);
        assert_eq!(
            resolution.attributes.get("a").map(String::as_str),
            Some("2")
        );
        assert_eq!(Resolution::default().addresses, vec![]);

        let target = ResolverTarget::new("dns", "", "x:1", "dns:///x:1");
        assert_eq!(
            (
                target.scheme(),
                target.authority(),
                target.endpoint(),
                target.original()
            ),
            ("dns", "", "x:1", "dns:///x:1")
        );
    }

    #[test]
    fn sink_calls_its_function_from_any_clone() {
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = ResolverSink::from_fn(move |result| tx.send(result).unwrap());
        let clone = sink.clone();
        std::thread::spawn(move || clone.update(Err(Status::unavailable("x"))))
            .join()
            .unwrap();
        sink.update(Ok(Resolution::default()));
        assert_eq!(rx.recv().unwrap().unwrap_err().message(), "x");
        assert_eq!(rx.recv().unwrap().unwrap(), Resolution::default());
        assert!(format!("{sink:?}").contains("ResolverSink"));
    }

    struct Nothing;
    impl ResolverBuilder for Nothing {
        fn scheme(&self) -> &str {
            "nothing"
        }
        fn build(
            &self,
            _: &ResolverTarget,
            _: ResolverSink,
            _: &ResolverContext,
        ) -> Box<dyn Resolver> {
            Box::new(Done)
        }
    }

    #[test]
    fn trait_defaults() {
        let target = ResolverTarget::new("nothing", "", "here:1", "nothing:here:1");
        assert_eq!(Nothing.default_authority(&target), "here:1");
        assert_eq!(Nothing.validate(&target), Ok(()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let context = ResolverContext::new(runtime.handle().clone());
        let resolver = Nothing.build(&target, ResolverSink::from_fn(|_| {}), &context);
        resolver.resolve_now();
    }
}
