//! Turning a [`TlsConfig`] into a [`TlsConnector`] when the channel is
//! built: the crypto provider, the roots, the client identity, ALPN `h2`
//! (layer: transport). Bad PEM is refused here, naming the setting.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use super::{H2, TlsConfig, TlsConnector};

/// The crypto provider: the process default if one is installed, else
/// the one the cargo features chose.
fn provider() -> Result<Arc<rustls::crypto::CryptoProvider>, String> {
    if let Some(provider) = rustls::crypto::CryptoProvider::get_default() {
        return Ok(provider.clone());
    }
    #[cfg(feature = "tls-ring")]
    return Ok(Arc::new(rustls::crypto::ring::default_provider()));
    #[cfg(all(feature = "tls-aws-lc", not(feature = "tls-ring")))]
    return Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    #[cfg(not(any(feature = "tls-ring", feature = "tls-aws-lc")))]
    Err(
        "no TLS crypto provider: enable switchboard's feature `tls-ring` or \
         `tls-aws-lc`, or install a rustls process-default provider"
            .to_owned(),
    )
}

/// Checks `config` and makes the connector: see [`super::TlsConfig`].
pub(crate) fn connector(
    config: &TlsConfig,
    default_name: Option<&str>,
) -> Result<TlsConnector, String> {
    let server_name = match config.server_name.as_deref().or(default_name) {
        Some(name) => Some(ServerName::try_from(name.to_owned()).map_err(|e| {
            format!("TLS server name {name:?} is not a valid DNS name or IP address: {e}")
        })?),
        None => None,
    };
    let mut client = match &config.rustls {
        Some(custom) => {
            if !config.ca_pems.is_empty() || config.identity.is_some() {
                return Err("TlsConfig: rustls_client_config cannot be combined with \
                            ca_certificate_pem or identity_pem (put them in the rustls config)"
                    .to_owned());
            }
            ClientConfig::clone(custom)
        }
        None => build_config(config)?,
    };
    client.alpn_protocols = vec![H2.to_vec()];
    Ok(TlsConnector {
        config: Arc::new(client),
        server_name,
        has_identity: config.identity.is_some()
            || config
                .rustls
                .as_ref()
                .is_some_and(|c| c.client_auth_cert_resolver.has_certs()),
    })
}

fn build_config(config: &TlsConfig) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    if config.ca_pems.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for pem in &config.ca_pems {
        let certs = certificates(pem, "ca_certificate_pem")?;
        for cert in certs {
            roots.add(cert).map_err(|e| {
                format!("TlsConfig::ca_certificate_pem: unusable CA certificate: {e}")
            })?;
        }
    }
    let builder = ClientConfig::builder_with_provider(provider()?)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS crypto provider: {e}"))?
        .with_root_certificates(roots);
    match &config.identity {
        None => Ok(builder.with_no_client_auth()),
        Some((chain_pem, key_pem)) => {
            let chain = certificates(chain_pem, "identity_pem (certificate chain)")?;
            let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
                format!("TlsConfig::identity_pem: no usable private key in the key PEM: {e}")
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("TlsConfig::identity_pem: unusable identity: {e}"))
        }
    }
}

/// The certificates in `pem`: at least one, all valid PEM.
fn certificates(pem: &[u8], setting: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("TlsConfig::{setting}: not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "TlsConfig::{setting}: no CERTIFICATE block in the PEM"
        ));
    }
    Ok(certs)
}
