//! Resolved addresses (layer: data).
//!
//! An [`Address`] is one place a connection can go, as a resolver yields
//! it: a socket address, a Unix socket path or a Linux abstract socket
//! name. It owns only the value and how it prints; it must not resolve,
//! connect or know the channel (`resolver` makes them, the channel and the
//! transport consume them).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// One address a connection can go to: what a resolver yields.
///
/// It prints as `127.0.0.1:50051`, `[::1]:50051`, `unix:/path` or
/// `unix-abstract:name`.
///
/// ```
/// use switchboard::resolver::Address;
///
/// let address = Address::Tcp("[::1]:50051".parse()?);
/// assert_eq!(address.to_string(), "[::1]:50051");
/// assert_eq!(Address::Unix("/tmp/s.sock".into()).to_string(), "unix:/tmp/s.sock");
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// A TCP socket address.
    Tcp(SocketAddr),
    /// A Unix domain socket path.
    Unix(PathBuf),
    /// A Linux abstract Unix socket name (without the leading NUL).
    UnixAbstract(Vec<u8>),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(address) => write!(f, "{address}"),
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::UnixAbstract(name) => {
                write!(f, "unix-abstract:{}", String::from_utf8_lossy(name))
            }
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(address: SocketAddr) -> Address {
        Address::Tcp(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_targets_write_it() {
        let v4: SocketAddr = "127.0.0.1:50051".parse().unwrap();
        let v6: SocketAddr = "[::1]:50051".parse().unwrap();
        assert_eq!(Address::Tcp(v4).to_string(), "127.0.0.1:50051");
        assert_eq!(Address::from(v6).to_string(), "[::1]:50051");
        assert_eq!(Address::Unix("/tmp/x".into()).to_string(), "unix:/tmp/x");
        assert_eq!(
            Address::UnixAbstract(b"name".to_vec()).to_string(),
            "unix-abstract:name"
        );
        assert_eq!(
            Address::UnixAbstract(vec![b'a', 0xff]).to_string(),
            "unix-abstract:a\u{fffd}"
        );
    }
}
