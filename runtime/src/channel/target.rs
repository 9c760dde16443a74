//! Channel targets (layer: channel).
//!
//! Parses what a user passes to [`Channel::builder`](crate::Channel::builder)
//! per gRPC's naming doc, as far as this client supports it:
//! `http://host[:port]`, `https://host[:port]` (TLS, default port 443),
//! `dns:///host[:port]` (also `dns:host[:port]` and a bare `host:port`),
//! and `unix:/abs/path`, `unix:///abs/path` or `unix:rel/path`. Only
//! `https://` asks for TLS by itself; the others use TLS if the builder sets
//! it. Parsing does no I/O: names are resolved when the channel connects.

use std::fmt;
use std::path::PathBuf;

use crate::transport::Address;

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

/// A parsed target: where to connect, and whether its scheme asks for TLS.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The address the transport connects to.
    pub(crate) address: Address,
    /// `https://`: TLS even if the builder sets none.
    pub(crate) https: bool,
}

/// Parses a target string: its address, and whether it is `https://`.
pub(crate) fn parse_target(target: &str) -> Result<Target, InvalidTarget> {
    match target.strip_prefix("https://") {
        Some(rest) => {
            let (host, port) =
                split_host_port(rest.trim_end_matches('/'), 443).map_err(|reason| {
                    InvalidTarget {
                        target: target.to_string(),
                        reason: reason.to_string(),
                    }
                })?;
            Ok(Target {
                address: Address::Tcp { host, port },
                https: true,
            })
        }
        None => Ok(Target {
            address: parse(target)?,
            https: false,
        }),
    }
}

/// Parses a target string other than `https://` into the address the
/// transport connects to.
pub(crate) fn parse(target: &str) -> Result<Address, InvalidTarget> {
    let invalid = |reason: &str| InvalidTarget {
        target: target.to_string(),
        reason: reason.to_string(),
    };
    if let Some(path) = target.strip_prefix("unix:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(invalid("a unix: target needs a socket path"));
        }
        return Ok(Address::Unix(PathBuf::from(path)));
    }
    let (rest, default_port) = if let Some(rest) = target.strip_prefix("http://") {
        (rest.trim_end_matches('/'), 80)
    } else if target.starts_with("https://") {
        return Err(invalid("https:// targets are parsed by parse_target"));
    } else if let Some(rest) = target.strip_prefix("dns:") {
        let rest = match rest.strip_prefix("//") {
            // dns://authority/host:port: a custom DNS server is not supported.
            Some(r) => match r.split_once('/') {
                Some(("", hostport)) => hostport,
                Some(_) => {
                    return Err(invalid(
                        "a DNS server authority in dns:// targets is not supported",
                    ));
                }
                None => return Err(invalid("expected dns:///host:port")),
            },
            None => rest,
        };
        (rest, 443)
    } else if target.contains("://") {
        return Err(invalid(
            "unknown scheme; expected http://, https://, dns: or unix:",
        ));
    } else {
        (target, 443)
    };
    let (host, port) = split_host_port(rest, default_port).map_err(invalid)?;
    Ok(Address::Tcp { host, port })
}

fn split_host_port(s: &str, default_port: u16) -> Result<(String, u16), &'static str> {
    if s.is_empty() {
        return Err("no host");
    }
    if s.contains('/') || s.contains('?') {
        return Err("a target may not carry a path");
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed '[' in IPv6 host")?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err("unexpected text after IPv6 host"),
        }
    } else {
        match s.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => return Err("an IPv6 host must be written in brackets"),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| "port is not a number from 0 to 65535")?,
        None => default_port,
    };
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Address {
        Address::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_supported_forms() {
        assert_eq!(
            parse("http://127.0.0.1:50051").unwrap(),
            tcp("127.0.0.1", 50051)
        );
        assert_eq!(parse("http://example.com").unwrap(), tcp("example.com", 80));
        assert_eq!(parse("dns:///localhost:9").unwrap(), tcp("localhost", 9));
        assert_eq!(parse("dns:localhost:9").unwrap(), tcp("localhost", 9));
        assert_eq!(parse("localhost:9").unwrap(), tcp("localhost", 9));
        assert_eq!(parse("http://[::1]:7").unwrap(), tcp("::1", 7));
        assert_eq!(
            parse("unix:/tmp/s.sock").unwrap(),
            Address::Unix("/tmp/s.sock".into())
        );
        assert_eq!(
            parse("unix:///tmp/s.sock").unwrap(),
            Address::Unix("/tmp/s.sock".into())
        );
        assert_eq!(tcp("::1", 7).authority(), "[::1]:7");
        for (text, address, https) in [
            ("https://example.com", tcp("example.com", 443), true),
            ("https://example.com:8443/", tcp("example.com", 8443), true),
            ("https://[::1]:9", tcp("::1", 9), true),
            ("http://example.com", tcp("example.com", 80), false),
            ("dns:///example.com:9", tcp("example.com", 9), false),
        ] {
            assert_eq!(parse_target(text).unwrap(), Target { address, https });
        }
    }

    #[test]
    fn refuses_with_a_reason() {
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
            let err = parse_target(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
            assert!(!err.reason.is_empty());
        }
    }
}
