//! Resolvers whose target is already the address (layer: resolver):
//! `ipv4:`, `ipv6:`, `unix:` and `unix-abstract:`. Each checks its target
//! when the channel is built and pushes the one fixed list from `build`;
//! none runs anything afterwards. They must not look anything up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use super::host_port::split_host_port;
use super::{
    Address, Done, Resolution, Resolver, ResolverBuilder, ResolverContext, ResolverSink,
    ResolverTarget,
};
use crate::status::{Origin, Status};

/// The port of an IP literal written without one (as for `dns:`).
const DEFAULT_PORT: u16 = 443;

/// Pushes `addresses` (or why there are none) once.
fn push(sink: &ResolverSink, target: &ResolverTarget, addresses: Result<Vec<Address>, String>) {
    sink.update(addresses.map(Resolution::new).map_err(|reason| {
        Status::unavailable(format!("invalid target {:?}: {reason}", target.original()))
            .with_origin(Origin::Resolve)
    }));
}

/// Refuses a `//authority/` these schemes have no use for.
fn no_authority(target: &ResolverTarget) -> Result<(), String> {
    match target.authority() {
        "" => Ok(()),
        authority => Err(format!(
            "{}: targets take no authority (got {authority:?})",
            target.scheme()
        )),
    }
}

/// Parses a comma-separated list of IP literals, each with an optional
/// port; `one` parses one item.
fn ip_list(
    endpoint: &str,
    one: impl Fn(&str) -> Result<SocketAddr, String>,
) -> Result<Vec<Address>, String> {
    if endpoint.is_empty() {
        return Err("no address".to_owned());
    }
    endpoint
        .split(',')
        .map(|item| one(item).map(Address::Tcp))
        .collect()
}

/// `addr[:port]`, an IPv4 literal.
fn ipv4(item: &str) -> Result<SocketAddr, String> {
    let (host, port) = split_host_port(item, DEFAULT_PORT).map_err(|e| format!("{item:?}: {e}"))?;
    let ip: Ipv4Addr = host
        .parse()
        .map_err(|_| format!("{host:?} is not an IPv4 address"))?;
    Ok(SocketAddr::new(IpAddr::V4(ip), port))
}

/// `addr` or `[addr]:port`, an IPv6 literal.
fn ipv6(item: &str) -> Result<SocketAddr, String> {
    let (host, port) = if item.starts_with('[') {
        split_host_port(item, DEFAULT_PORT).map_err(|e| format!("{item:?}: {e}"))?
    } else {
        (item.to_owned(), DEFAULT_PORT)
    };
    let ip: Ipv6Addr = host
        .parse()
        .map_err(|_| format!("{host:?} is not an IPv6 address"))?;
    Ok(SocketAddr::new(IpAddr::V6(ip), port))
}

/// The `:authority` of an IP list: its first address.
fn first_address(list: Result<Vec<Address>, String>, target: &ResolverTarget) -> String {
    match list.ok().and_then(|list| list.into_iter().next()) {
        Some(address) => address.to_string(),
        None => target.endpoint().to_owned(),
    }
}

/// `ipv4:addr[:port][,addr[:port]...]` ([`IpResolverBuilder::IPV4`]) or
/// `ipv6:addr` / `ipv6:[addr]:port[,...]` ([`IpResolverBuilder::IPV6`]):
/// these addresses (port 443 when none is written).
pub(super) struct IpResolverBuilder {
    scheme: &'static str,
    /// Parses one item of the list.
    parse: fn(&str) -> Result<SocketAddr, String>,
}

impl IpResolverBuilder {
    /// `ipv4:`.
    pub(super) const IPV4: IpResolverBuilder = IpResolverBuilder {
        scheme: "ipv4",
        parse: ipv4,
    };

    /// `ipv6:`.
    pub(super) const IPV6: IpResolverBuilder = IpResolverBuilder {
        scheme: "ipv6",
        parse: ipv6,
    };
}

impl ResolverBuilder for IpResolverBuilder {
    fn scheme(&self) -> &str {
        self.scheme
    }

    fn default_authority(&self, target: &ResolverTarget) -> String {
        first_address(ip_list(target.endpoint(), self.parse), target)
    }

    fn validate(&self, target: &ResolverTarget) -> Result<(), String> {
        no_authority(target)?;
        ip_list(target.endpoint(), self.parse).map(|_| ())
    }

    fn build(
        &self,
        target: &ResolverTarget,
        sink: ResolverSink,
        _context: &ResolverContext,
    ) -> Box<dyn Resolver> {
        push(&sink, target, ip_list(target.endpoint(), self.parse));
        Box::new(Done)
    }
}

/// `unix:path` or `unix://abs_path` ([`UnixResolverBuilder::PATH`]): the
/// Unix socket at that path; `unix-abstract:name`
/// ([`UnixResolverBuilder::ABSTRACT`]): the Linux abstract Unix socket of
/// that name. `:authority` `localhost`.
pub(super) struct UnixResolverBuilder {
    scheme: &'static str,
    /// What the endpoint names, for the error of an empty one.
    names: &'static str,
    /// The address of a (non-empty) endpoint.
    address: fn(&str) -> Address,
}

impl UnixResolverBuilder {
    /// `unix:`.
    pub(super) const PATH: UnixResolverBuilder = UnixResolverBuilder {
        scheme: "unix",
        names: "socket path",
        address: |path| Address::Unix(PathBuf::from(path)),
    };

    /// `unix-abstract:`.
    pub(super) const ABSTRACT: UnixResolverBuilder = UnixResolverBuilder {
        scheme: "unix-abstract",
        names: "socket name",
        address: |name| Address::UnixAbstract(name.as_bytes().to_vec()),
    };
}

impl ResolverBuilder for UnixResolverBuilder {
    fn scheme(&self) -> &str {
        self.scheme
    }

    fn default_authority(&self, _target: &ResolverTarget) -> String {
        "localhost".to_owned()
    }

    fn validate(&self, target: &ResolverTarget) -> Result<(), String> {
        no_authority(target)?;
        if target.endpoint().is_empty() {
            return Err(format!("a {}: target needs a {}", self.scheme, self.names));
        }
        Ok(())
    }

    fn build(
        &self,
        target: &ResolverTarget,
        sink: ResolverSink,
        _context: &ResolverContext,
    ) -> Box<dyn Resolver> {
        let address = self
            .validate(target)
            .map(|()| vec![(self.address)(target.endpoint())]);
        push(&sink, target, address);
        Box::new(Done)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What `builder` pushes from `build` for `endpoint`.
    fn built(builder: &dyn ResolverBuilder, endpoint: &str) -> Vec<Result<Resolution, Status>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let context = ResolverContext::new(runtime.handle().clone());
        let pushed = Arc::new(Mutex::new(Vec::new()));
        let into = pushed.clone();
        let sink = ResolverSink::from_fn(move |result| into.lock().unwrap().push(result));
        let original = format!("{}:{endpoint}", builder.scheme());
        let target = ResolverTarget::new(builder.scheme(), "", endpoint, original);
        let resolver = builder.build(&target, sink, &context);
        resolver.resolve_now();
        drop(resolver);
        std::mem::take(&mut *pushed.lock().unwrap())
    }

    fn addresses(builder: &dyn ResolverBuilder, endpoint: &str) -> Vec<String> {
        let mut pushed = built(builder, endpoint);
        assert_eq!(pushed.len(), 1, "exactly one push, from build");
        let resolution = pushed.pop().unwrap().unwrap();
        resolution
            .addresses
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn target(builder: &dyn ResolverBuilder, authority: &str, endpoint: &str) -> ResolverTarget {
        ResolverTarget::new(builder.scheme(), authority, endpoint, endpoint)
    }

    #[test]
    fn ipv4_lists_in_order_with_default_port() {
        assert_eq!(
            addresses(&IpResolverBuilder::IPV4, "10.0.0.2:80,10.0.0.1"),
            ["10.0.0.2:80", "10.0.0.1:443"]
        );
        let b = IpResolverBuilder::IPV4;
        assert_eq!(
            b.default_authority(&target(&b, "", "10.0.0.2:80,10.0.0.1")),
            "10.0.0.2:80"
        );
        for bad in [
            "",
            "10.0.0.1,",
            "::1",
            "[::1]:1",
            "example.com:1",
            "10.0.0.1:99999",
            "1.2.3:4",
        ] {
            let reason = b.validate(&target(&b, "", bad)).unwrap_err();
            assert!(!reason.is_empty());
            let pushed = built(&b, bad);
            let status = pushed[0].as_ref().unwrap_err();
            assert_eq!(status.origin(), Origin::Resolve, "{bad}");
        }
        assert!(
            b.validate(&target(&b, "x", "10.0.0.1"))
                .unwrap_err()
                .contains("authority")
        );
    }

    #[test]
    fn ipv6_bare_or_bracketed() {
        assert_eq!(
            addresses(&IpResolverBuilder::IPV6, "::1,[fe80::1]:7"),
            ["[::1]:443", "[fe80::1]:7"]
        );
        let b = IpResolverBuilder::IPV6;
        assert_eq!(b.default_authority(&target(&b, "", "[::1]:9")), "[::1]:9");
        for bad in ["", "127.0.0.1", "[::1", "[::1]:x", "::1:z:"] {
            assert!(b.validate(&target(&b, "", bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn unix_paths_and_abstract_names() {
        let b = UnixResolverBuilder::PATH;
        let pushed = built(&b, "/tmp/s.sock").pop().unwrap().unwrap();
        assert_eq!(pushed.addresses, [Address::Unix("/tmp/s.sock".into())]);
        assert_eq!(
            b.default_authority(&target(&b, "", "/tmp/s.sock")),
            "localhost"
        );
        assert!(b.validate(&target(&b, "", "")).is_err());
        assert!(built(&b, "").pop().unwrap().is_err());

        let b = UnixResolverBuilder::ABSTRACT;
        let pushed = built(&b, "my-socket").pop().unwrap().unwrap();
        assert_eq!(
            pushed.addresses,
            [Address::UnixAbstract(b"my-socket".to_vec())]
        );
        assert_eq!(b.default_authority(&target(&b, "", "x")), "localhost");
        assert!(b.validate(&target(&b, "", "")).is_err());
    }
}
