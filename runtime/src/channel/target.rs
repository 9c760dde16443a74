//! Channel targets (layer: channel).
//!
//! Parses what a user passes to [`Channel::builder`](crate::Channel::builder)
//! per gRPC's naming doc, as far as this client supports it:
//! `http://host[:port]`, `https://host[:port]` (TLS, default port 443),
//! `dns:///host[:port]` (also `dns:host[:port]` and a bare `host:port`),
//! and `unix:/abs/path`, `unix:///abs/path` or `unix:rel/path`. Only
//! `https://` asks for TLS by itself; the others use TLS if the builder sets
//! it. Parsing does no I/O: names are resolved when the channel connects.
//!
//! [`parse_with`] parses with a [`ResolverRegistry`] (every scheme it
//! knows, `ipv4:`, `ipv6:`, `unix-abstract:` and custom ones too) into the
//! resolver the channel starts.

use std::fmt;

use crate::resolver::{ParsedTarget, ResolverRegistry};

/// A target, or another channel setting, that the channel cannot use;
/// [`ChannelBuilder::build`](crate::ChannelBuilder::build) refuses it
/// rather than fail later. `reason` names the setting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidTarget {
    /// The target as given.
    pub target: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InvalidTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid channel settings for target {:?}: {}",
            self.target, self.reason
        )
    }
}

impl std::error::Error for InvalidTarget {}

/// Parses `target` with `registry`: the resolver to start, the target it
/// sees, the `:authority`, and whether the scheme asks for TLS. Refuses
/// with the registry's reason.
pub(crate) fn parse_with(
    registry: &ResolverRegistry,
    target: &str,
) -> Result<ParsedTarget, InvalidTarget> {
    registry.parse(target).map_err(|reason| InvalidTarget {
        target: target.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `parse_with` makes of `target` with the built-in resolvers:
    /// (scheme, endpoint, :authority, https).
    fn resolved(target: &str) -> (String, String, String, bool) {
        let parsed = parse_with(&ResolverRegistry::new(), target).unwrap();
        (
            parsed.target.scheme().to_owned(),
            parsed.target.endpoint().to_owned(),
            parsed.authority,
            parsed.https,
        )
    }

    fn dns(host_port: &str, https: bool) -> (String, String, String, bool) {
        ("dns".into(), host_port.into(), host_port.into(), https)
    }

    fn unix(path: &str) -> (String, String, String, bool) {
        ("unix".into(), path.into(), "localhost".into(), false)
    }

    #[test]
    fn parse_with_parses_supported_forms() {
        for (text, expected) in [
            ("http://127.0.0.1:50051", dns("127.0.0.1:50051", false)),
            ("http://example.com", dns("example.com:80", false)),
            ("dns:///localhost:9", dns("localhost:9", false)),
            ("dns:localhost:9", dns("localhost:9", false)),
            ("localhost:9", dns("localhost:9", false)),
            ("http://[::1]:7", dns("[::1]:7", false)),
            ("unix:/tmp/s.sock", unix("/tmp/s.sock")),
            ("unix:///tmp/s.sock", unix("/tmp/s.sock")),
            ("unix:rel/path", unix("rel/path")),
            ("https://example.com", dns("example.com:443", true)),
            ("https://example.com:8443/", dns("example.com:8443", true)),
            ("https://[::1]:9", dns("[::1]:9", true)),
            ("dns:///example.com:9", dns("example.com:9", false)),
        ] {
            assert_eq!(resolved(text), expected, "{text}");
        }
    }

    #[test]
    fn parse_with_refuses_with_a_reason() {
        for bad in [
            "https://",
            "https://x:1/path",
            "ftp://x",
            "http://x:99999",
            "http://:1",
            "unix:",
            "dns://8.8.8.8/x:1",
            "http://x:1/path",
            "::1:5",
        ] {
            let err = parse_with(&ResolverRegistry::new(), bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
            assert_eq!(err.target, bad);
            assert!(!err.reason.is_empty());
        }
    }
}
