//! [`ResolverRegistry`]: schemes to resolver builders, and the target
//! parser (layer: resolver).
//!
//! Parsing follows gRPC's naming doc, `scheme:[//authority/]endpoint`, plus
//! the forms channels have always accepted: `http://host[:port]` (port 80)
//! and `https://host[:port]` (port 443, TLS) go to `dns`, as does a bare
//! `host[:port]` whose prefix is no registered scheme (as in gRPC).
//! `unix:path` and `unix://abs_path` keep the path as written after `//`.
//! For `dns` the endpoint becomes `host:port`, the default port applied.
//! Parsing does no I/O; the chosen builder's `validate` checks the rest.
//! It must not resolve or connect.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::dns::DnsResolverBuilder;
use super::host_port::{join_host_port, split_host_port};
use super::literal::{IpResolverBuilder, UnixResolverBuilder};
use super::{ResolverBuilder, ResolverTarget};

/// The resolvers a channel can use, by URI scheme.
///
/// [`new`](Self::new) (and `Default`) has the built-ins: `dns` (the system
/// resolver, [`DnsResolverBuilder`]), `ipv4` and `ipv6` (lists of IP
/// literals), `unix` (a socket path) and `unix-abstract` (a Linux abstract
/// socket name). [`register`](Self::register) adds one or replaces the one
/// with the same scheme. Cloning is cheap: builders are shared.
///
/// ```
/// use switchboard::resolver::{ManualResolver, ResolverRegistry};
///
/// let mut registry = ResolverRegistry::new();
/// registry.register(ManualResolver::new("consul"));
/// assert!(registry.get("consul").is_some());
/// assert!(ResolverRegistry::empty().get("dns").is_none());
/// assert_eq!(
///     format!("{registry:?}"),
///     r#"ResolverRegistry { schemes: ["consul", "dns", "ipv4", "ipv6", "unix", "unix-abstract"] }"#
/// );
/// ```
#[derive(Clone)]
pub struct ResolverRegistry {
    /// Lowercase scheme → builder.
    builders: BTreeMap<String, Arc<dyn ResolverBuilder>>,
}

/// A target string, parsed with a registry.
pub(crate) struct ParsedTarget {
    /// The builder of the target's scheme.
    pub(crate) resolver: Arc<dyn ResolverBuilder>,
    /// The target as the resolver sees it.
    pub(crate) target: ResolverTarget,
    /// The `:authority` (and default TLS name): the builder's default.
    pub(crate) authority: String,
    /// `https://`: TLS even if the channel's builder sets none.
    pub(crate) https: bool,
}

impl fmt::Debug for ParsedTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedTarget")
            .field("resolver", &self.resolver.scheme())
            .field("target", &self.target)
            .field("authority", &self.authority)
            .field("https", &self.https)
            .finish()
    }
}

impl Default for ResolverRegistry {
    fn default() -> Self {
        let mut registry = ResolverRegistry::empty();
        registry
            .register(DnsResolverBuilder::default())
            .register(IpResolverBuilder::IPV4)
            .register(IpResolverBuilder::IPV6)
            .register(UnixResolverBuilder::PATH)
            .register(UnixResolverBuilder::ABSTRACT);
        registry
    }
}

impl fmt::Debug for ResolverRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolverRegistry")
            .field("schemes", &self.builders.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The port of `http://` targets written without one.
const HTTP_PORT: u16 = 80;
/// The port of `https://`, `dns:` and bare targets written without one.
const HTTPS_PORT: u16 = 443;

impl ResolverRegistry {
    /// The built-in resolvers: `dns`, `ipv4`, `ipv6`, `unix`, `unix-abstract`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with no resolver at all (not even `dns`).
    pub fn empty() -> Self {
        ResolverRegistry {
            builders: BTreeMap::new(),
        }
    }

    /// Adds `builder` for its scheme (compared without case), replacing any
    /// builder of the same scheme. `http://` and `https://` targets always
    /// go to the `dns` builder, whatever is registered as `http`.
    pub fn register(&mut self, builder: impl ResolverBuilder) -> &mut Self {
        let scheme = builder.scheme().to_ascii_lowercase();
        self.builders.insert(scheme, Arc::new(builder));
        self
    }

    /// The builder registered for `scheme` (compared without case), if any.
    pub fn get(&self, scheme: &str) -> Option<Arc<dyn ResolverBuilder>> {
        self.builders.get(&scheme.to_ascii_lowercase()).cloned()
    }

    /// Parses `target` (module docs): which builder, the target it sees, the
    /// `:authority`, and whether the scheme asks for TLS. `Err` is the
    /// reason it is refused.
    pub(crate) fn parse(&self, target: &str) -> Result<ParsedTarget, String> {
        let scheme = split_scheme(target);
        if let Some((scheme, rest)) = scheme {
            let lower = scheme.to_ascii_lowercase();
            if let ("http" | "https", Some(host_port)) = (lower.as_str(), rest.strip_prefix("//")) {
                let https = lower == "https";
                let port = if https { HTTPS_PORT } else { HTTP_PORT };
                return self.dns(target, "", host_port.trim_end_matches('/'), port, https);
            }
            if let Some(builder) = self.builders.get(&lower) {
                let (authority, endpoint) = match lower.as_str() {
                    "dns" => {
                        let (authority, endpoint) = match rest.strip_prefix("//") {
                            Some(rest) => rest
                                .split_once('/')
                                .ok_or("expected dns:///host:port (or dns:host:port)")?,
                            None => ("", rest),
                        };
                        return self.dns(target, authority, endpoint, HTTPS_PORT, false);
                    }
                    // The path as written: `unix:///tmp/s` is `/tmp/s`.
                    "unix" | "unix-abstract" => ("", rest.strip_prefix("//").unwrap_or(rest)),
                    _ => match rest.strip_prefix("//") {
                        Some(rest) => rest.split_once('/').unwrap_or((rest, "")),
                        None => ("", rest),
                    },
                };
                return finish(builder, &lower, authority, endpoint, target, false);
            }
            if rest.starts_with("//") {
                return Err(format!(
                    "unknown scheme {scheme:?}; known schemes: {}",
                    self.known()
                ));
            }
        } else if target.contains("://") {
            return Err(format!("unknown scheme; known schemes: {}", self.known()));
        }
        // A bare host[:port], as gRPC reads a target whose scheme is unknown.
        self.dns(target, "", target, HTTPS_PORT, false)
            .map_err(|reason| match scheme {
                Some((scheme, _)) if self.get("dns").is_some() => format!(
                    "{reason} (read as host:port: no resolver is registered for scheme \
                     {scheme:?}; known schemes: {})",
                    self.known()
                ),
                _ => reason,
            })
    }

    /// A target for the `dns` builder: the endpoint written `host:port`.
    fn dns(
        &self,
        original: &str,
        authority: &str,
        host_port: &str,
        default_port: u16,
        https: bool,
    ) -> Result<ParsedTarget, String> {
        let builder = self.builders.get("dns").ok_or_else(|| {
            format!(
                "no resolver is registered for scheme \"dns\", which resolves this target; \
                 known schemes: {}",
                self.known()
            )
        })?;
        let (host, port) = split_host_port(host_port, default_port)?;
        let endpoint = join_host_port(&host, port);
        finish(builder, "dns", authority, &endpoint, original, https)
    }

    /// The schemes a target may have, for messages.
    fn known(&self) -> String {
        let mut schemes = vec!["http", "https"];
        schemes.extend(self.builders.keys().map(String::as_str));
        schemes.join(", ")
    }
}

/// The builder's checks and default authority for the target.
fn finish(
    builder: &Arc<dyn ResolverBuilder>,
    scheme: &str,
    authority: &str,
    endpoint: &str,
    original: &str,
    https: bool,
) -> Result<ParsedTarget, String> {
    let target = ResolverTarget::new(scheme, authority, endpoint, original);
    builder.validate(&target)?;
    Ok(ParsedTarget {
        resolver: builder.clone(),
        authority: builder.default_authority(&target),
        target,
        https,
    })
}

/// `scheme` and what follows `scheme:`, if `target` starts with a URI
/// scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`).
fn split_scheme(target: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = target.split_once(':')?;
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (starts_with_letter && rest_ok).then_some((scheme, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::{Resolver, ResolverContext, ResolverSink};

    /// What `parse` made of `target`: (scheme, authority, endpoint,
    /// :authority, https).
    fn parsed(registry: &ResolverRegistry, target: &str) -> (String, String, String, String, bool) {
        let parsed = registry.parse(target).unwrap();
        assert_eq!(parsed.resolver.scheme(), parsed.target.scheme());
        assert_eq!(parsed.target.original(), target);
        (
            parsed.target.scheme().to_owned(),
            parsed.target.authority().to_owned(),
            parsed.target.endpoint().to_owned(),
            parsed.authority,
            parsed.https,
        )
    }

    fn row(
        scheme: &str,
        endpoint: &str,
        authority: &str,
        https: bool,
    ) -> (String, String, String, String, bool) {
        (
            scheme.to_owned(),
            String::new(),
            endpoint.to_owned(),
            authority.to_owned(),
            https,
        )
    }

    #[test]
    fn http_https_dns_and_bare_targets_go_to_dns() {
        let registry = ResolverRegistry::new();
        for (target, endpoint, https) in [
            ("http://127.0.0.1:50051", "127.0.0.1:50051", false),
            ("http://example.com", "example.com:80", false),
            ("http://example.com/", "example.com:80", false),
            ("HTTP://example.com", "example.com:80", false),
            ("http://[::1]:7", "[::1]:7", false),
            ("https://example.com", "example.com:443", true),
            ("https://example.com:8443/", "example.com:8443", true),
            ("https://[::1]:9", "[::1]:9", true),
            ("dns:///localhost:9", "localhost:9", false),
            ("dns:localhost:9", "localhost:9", false),
            ("dns:///example.com", "example.com:443", false),
            ("dns:[::1]", "[::1]:443", false),
            ("localhost:9", "localhost:9", false),
            ("localhost", "localhost:443", false),
            ("10.0.0.1:9", "10.0.0.1:9", false),
            ("[::1]:9", "[::1]:9", false),
        ] {
            assert_eq!(
                parsed(&registry, target),
                row("dns", endpoint, endpoint, https),
                "{target}"
            );
        }
    }

    #[test]
    fn literal_schemes() {
        let registry = ResolverRegistry::new();
        for (target, scheme, endpoint, authority) in [
            ("unix:/tmp/s.sock", "unix", "/tmp/s.sock", "localhost"),
            ("unix:///tmp/s.sock", "unix", "/tmp/s.sock", "localhost"),
            ("unix:rel/s.sock", "unix", "rel/s.sock", "localhost"),
            ("unix-abstract:name", "unix-abstract", "name", "localhost"),
            ("ipv4:10.0.0.1", "ipv4", "10.0.0.1", "10.0.0.1:443"),
            (
                "ipv4:10.0.0.1:7,10.0.0.2",
                "ipv4",
                "10.0.0.1:7,10.0.0.2",
                "10.0.0.1:7",
            ),
            ("ipv6:::1", "ipv6", "::1", "[::1]:443"),
            ("ipv6:[::1]:7,[::2]:8", "ipv6", "[::1]:7,[::2]:8", "[::1]:7"),
        ] {
            assert_eq!(
                parsed(&registry, target),
                row(scheme, endpoint, authority, false),
                "{target}"
            );
        }
    }

    #[test]
    fn refuses_naming_the_problem() {
        let registry = ResolverRegistry::new();
        for (target, problem) in [
            ("https://", "no host"),
            ("http://:1", "no host"),
            ("", "no host"),
            ("https://x:1/path", "path"),
            ("http://x:1/path", "path"),
            ("http://x:99999", "port \"99999\""),
            (
                "ftp://x",
                "unknown scheme \"ftp\"; known schemes: http, https, dns, ipv4",
            ),
            ("://x", "unknown scheme"),
            ("unix:", "socket path"),
            ("unix://", "socket path"),
            ("unix-abstract:", "socket name"),
            ("dns://8.8.8.8/x:1", "not supported"),
            ("dns://x:1", "expected dns:///host:port"),
            ("::1:5", "brackets"),
            ("ipv4:::1", "IPv6 host"),
            ("ipv4:example.com", "not an IPv4 address"),
            ("ipv4:10.0.0.1:x", "port"),
            ("ipv6:10.0.0.1", "not an IPv6 address"),
            ("localhost:x", "scheme \"localhost\""),
        ] {
            let reason = registry.parse(target).unwrap_err();
            assert!(reason.contains(problem), "{target:?}: {reason}");
        }
    }

    struct Custom(&'static str);

    impl ResolverBuilder for Custom {
        fn scheme(&self) -> &str {
            self.0
        }
        fn build(
            &self,
            _: &ResolverTarget,
            _: ResolverSink,
            _: &ResolverContext,
        ) -> Box<dyn Resolver> {
            Box::new(crate::resolver::Done)
        }
        fn validate(&self, target: &ResolverTarget) -> Result<(), String> {
            match target.endpoint() {
                "bad" => Err("bad endpoint".to_owned()),
                _ => Ok(()),
            }
        }
    }

    #[test]
    fn registered_schemes_get_authority_and_endpoint() {
        let mut registry = ResolverRegistry::new();
        registry.register(Custom("Custom"));
        for (target, authority, endpoint) in [
            ("custom:///anything", "", "anything"),
            ("custom:anything", "", "anything"),
            ("CUSTOM://auth/x/y", "auth", "x/y"),
            ("custom://auth", "auth", ""),
        ] {
            let parsed = registry.parse(target).unwrap();
            assert_eq!(parsed.target.scheme(), "custom");
            assert_eq!(
                (parsed.target.authority(), parsed.target.endpoint()),
                (authority, endpoint),
                "{target}"
            );
            assert_eq!(parsed.authority, endpoint, "the default :authority");
            assert!(!parsed.https);
        }
        assert_eq!(registry.parse("custom:bad").unwrap_err(), "bad endpoint");
    }

    #[test]
    fn register_replaces_and_empty_has_nothing() {
        let mut registry = ResolverRegistry::empty();
        assert!(registry.get("dns").is_none());
        let reason = registry.parse("localhost:9").unwrap_err();
        assert!(
            reason.contains("no resolver is registered for scheme \"dns\""),
            "{reason}"
        );
        assert!(registry.parse("http://x").is_err());

        registry.register(Custom("dns"));
        // Targets that go to dns now go to this builder, normalised as before.
        let parsed = registry.parse("dns://server/x").unwrap();
        assert_eq!(parsed.target.authority(), "server");
        assert_eq!(parsed.target.endpoint(), "x:443");
        assert!(registry.parse("http://bad").is_ok());

        registry.register(Custom("dns")).register(Custom("other"));
        assert_eq!(
            format!("{registry:?}"),
            r#"ResolverRegistry { schemes: ["dns", "other"] }"#
        );
        let clone = registry.clone();
        assert!(clone.get("OTHER").is_some());
        assert!(format!("{:?}", clone.parse("other:x").unwrap()).contains("other"));
    }

    #[test]
    fn built_ins() {
        let registry = ResolverRegistry::default();
        for scheme in ["dns", "ipv4", "ipv6", "unix", "unix-abstract"] {
            assert_eq!(registry.get(scheme).unwrap().scheme(), scheme);
        }
        assert!(registry.get("http").is_none());
    }
}
