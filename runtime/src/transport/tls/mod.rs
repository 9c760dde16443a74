//! TLS between TCP and HTTP/2 (layer: transport).
//!
//! This file owns [`TlsConfig`], the TLS settings a user gives a channel
//! (roots, client identity, server name, or a whole `rustls::ClientConfig`),
//! and the checked [`TlsConnector`]. The rest, one job a file:
//!
//! - `config`: a `TlsConfig` becomes a `TlsConnector` when the channel is
//!   built (bad PEM is refused there, naming the setting);
//! - `handshake`: the handshake of one connection (rustls through
//!   tokio-rustls, ALPN `h2` required);
//! - `session`: the TLS session as h2 sees it, keeping the TLS error that
//!   explains its end;
//! - `errors`: a TLS failure becomes a `Status`: `UNAVAILABLE`, origin
//!   `Origin::Tls`, a message that says what to fix, and the
//!   `rustls::Error` as its source.
//!
//! TLS is compiled in by the cargo features `tls-ring` (the default) or
//! `tls-aws-lc`; without either, [`TlsConfig`] still exists (so code that
//! names it compiles) but a channel that asks for TLS is refused at build.
//!
//! Default roots are Mozilla's, compiled in (`webpki-roots`): the same on
//! every machine and no I/O at build time.

use std::fmt;
#[cfg(feature = "tls")]
use std::sync::Arc;

/// TLS settings for a channel: see
/// [`ChannelBuilder::tls`](crate::ChannelBuilder::tls). An `https://`
/// target uses `TlsConfig::new()` unless the builder is given another.
///
/// By default the server's certificate must chain to one of Mozilla's root
/// CAs (compiled in, from `webpki-roots`) and be valid for the target's host
/// name (or IP address). The server must agree on ALPN `h2`.
///
/// ```no_run
/// use switchboard::{Channel, TlsConfig};
///
/// let tls = TlsConfig::new()
///     .ca_certificate_pem(std::fs::read("ca.pem")?)          // trust this CA only
///     .identity_pem(std::fs::read("client.pem")?, std::fs::read("client.key")?) // mutual TLS
///     .server_name("foo.test.google.fr");                    // the name to verify
/// let _channel = Channel::builder("dns:///10.0.0.7:443").tls(tls).build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct TlsConfig {
    ca_pems: Vec<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
    server_name: Option<String>,
    #[cfg(feature = "tls")]
    rustls: Option<Arc<rustls::ClientConfig>>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("TlsConfig");
        debug
            .field("ca_certificates", &self.ca_pems.len())
            .field("identity", &self.identity.is_some())
            .field("server_name", &self.server_name);
        #[cfg(feature = "tls")]
        debug.field("rustls_config", &self.rustls.is_some());
        debug.finish()
    }
}

impl TlsConfig {
    /// TLS with the default roots, no client certificate, and the target's
    /// host as the server name.
    pub fn new() -> Self {
        TlsConfig::default()
    }

    /// Trusts the CA certificates in `pem` (one or more `CERTIFICATE`
    /// blocks) instead of the default roots. May be called again to add
    /// more. Checked when the channel is built.
    pub fn ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pems.push(pem.into());
        self
    }

    /// Presents a client certificate (mutual TLS): `cert_chain_pem` holds
    /// the certificate and any intermediates, leaf first; `key_pem` its
    /// private key (PKCS#8, PKCS#1 or SEC1). Checked when the channel is
    /// built.
    pub fn identity_pem(
        mut self,
        cert_chain_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.identity = Some((cert_chain_pem.into(), key_pem.into()));
        self
    }

    /// The name the server's certificate must be valid for (and sent as
    /// SNI, unless it is an IP address), instead of the target's host or
    /// the builder's [`authority`](crate::ChannelBuilder::authority).
    /// What interop's `--server_host_override` sets.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Uses `config` for the handshake as it is, except that its ALPN
    /// protocols become `h2` alone. It cannot be combined with
    /// [`ca_certificate_pem`](Self::ca_certificate_pem) or
    /// [`identity_pem`](Self::identity_pem) (the channel's build refuses
    /// that); [`server_name`](Self::server_name) still applies.
    #[cfg(feature = "tls")]
    pub fn rustls_client_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.rustls = Some(config);
        self
    }
}

/// A checked [`TlsConfig`], ready to connect with.
#[cfg(feature = "tls")]
#[derive(Clone, Debug)]
pub(crate) struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
    /// The name to verify; `None`: the target's host.
    server_name: Option<rustls::pki_types::ServerName<'static>>,
    /// Whether a client certificate is configured (for error messages).
    has_identity: bool,
}

/// Without a TLS feature there is no connector: the builder refuses TLS.
#[cfg(not(feature = "tls"))]
#[derive(Clone, Debug)]
pub(crate) enum TlsConnector {}

/// Why TLS cannot be used at all in this build, or `None` if it can.
pub(crate) fn unavailable_reason() -> Option<&'static str> {
    if cfg!(feature = "tls") {
        None
    } else {
        Some(
            "TLS is not compiled in: enable switchboard's cargo feature `tls-ring` (the \
             default) or `tls-aws-lc`",
        )
    }
}

/// Checks `config` and makes the connector. `server_name`: the name to
/// verify when the config sets none (e.g. the builder's authority).
/// `Err` names the setting that is wrong.
#[cfg(not(feature = "tls"))]
pub(crate) fn connector(_: &TlsConfig, _: Option<&str>) -> Result<TlsConnector, String> {
    Err(unavailable_reason().unwrap_or_default().to_owned())
}

/// The ALPN protocol gRPC runs on.
#[cfg(feature = "tls")]
const H2: &[u8] = b"h2";

#[cfg(feature = "tls")]
mod config;
#[cfg(feature = "tls")]
mod errors;
#[cfg(feature = "tls")]
mod handshake;
#[cfg(feature = "tls")]
mod session;

#[cfg(feature = "tls")]
pub(crate) use config::connector;
#[cfg(feature = "tls")]
pub(crate) use errors::reclassify;
#[cfg(feature = "tls")]
pub(crate) use handshake::connect;

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "tls")]
    #[test]
    fn settings_are_checked_naming_the_setting() {
        for (config, setting) in [
            (
                TlsConfig::new().ca_certificate_pem(""),
                "ca_certificate_pem",
            ),
            (
                TlsConfig::new().ca_certificate_pem("-----BEGIN CERTIFICATE-----\nnot base64!\n"),
                "ca_certificate_pem",
            ),
            (TlsConfig::new().identity_pem("", ""), "identity_pem"),
            (TlsConfig::new().server_name(""), "server name"),
        ] {
            let error = connector(&config, None).unwrap_err();
            assert!(error.contains(setting), "{setting}: {error}");
        }
        // Default roots, no identity: fine, and ALPN is h2 alone.
        let ok = connector(&TlsConfig::new(), Some("example.com")).unwrap();
        assert_eq!(ok.config.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(ok.server_name.is_some());
    }

    #[cfg(feature = "tls-ring")]
    #[test]
    fn a_rustls_config_takes_no_pem_settings_and_gets_alpn_h2() {
        let custom = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let custom = Arc::new(custom);
        let config = TlsConfig::new().rustls_client_config(custom.clone());
        let ok = connector(&config, None).unwrap();
        assert_eq!(ok.config.alpn_protocols, vec![b"h2".to_vec()]);
        let mixed = config.ca_certificate_pem("x");
        let error = connector(&mixed, None).unwrap_err();
        assert!(error.contains("rustls_client_config"), "{error}");
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn without_a_tls_feature_tls_is_refused_with_the_features_to_enable() {
        let error = connector(&TlsConfig::new(), None).unwrap_err();
        assert!(error.contains("tls-ring"), "{error}");
        assert!(unavailable_reason().is_some());
        for builder in [
            crate::Channel::builder("https://example.com"),
            crate::Channel::builder("dns:///example.com:443").tls(TlsConfig::new()),
        ] {
            let error = builder.build().unwrap_err();
            assert!(error.reason.contains("TLS is not compiled in"), "{error}");
        }
        // Plaintext is unaffected.
        assert!(
            crate::Channel::builder("http://example.com")
                .build()
                .is_ok()
        );
    }
}
