//! Connection addresses (layer: transport).
//!
//! An [`Address`] is what the transport connects to. The channel parses
//! user targets into one (see `channel::target`).

use std::fmt;
use std::path::PathBuf;

/// Where a connection goes: what a channel target names, after parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Address {
    /// A host name or IP literal and a port, resolved at connect time.
    Tcp { host: String, port: u16 },
    /// A Unix domain socket.
    Unix(PathBuf),
}

impl Address {
    /// The `:authority` for requests on this target.
    pub(crate) fn authority(&self) -> String {
        match self {
            Address::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Address::Tcp { host, port } => format!("{host}:{port}"),
            Address::Unix(_) => "localhost".to_string(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp { .. } => f.write_str(&self.authority()),
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}
