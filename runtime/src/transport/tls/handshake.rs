//! The TLS handshake of one connection (layer: transport): the server
//! name, the per-connection note of a client-certificate request, and the
//! ALPN `h2` check.

use std::sync::Arc;

use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};

use super::errors::status_from_io;
use super::session::{NoteRequest, SeenError, TlsIo};
use super::{H2, TlsConnector};
use crate::address::Address;
use crate::status::{Origin, Status};

/// The TLS handshake over `io` with `target`, requiring ALPN `h2`.
pub(crate) async fn connect<IO>(
    io: IO,
    tls: &TlsConnector,
    target: &Address,
) -> Result<TlsIo<IO>, Status>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    // The builder always names the server: the TLS settings' name, else
    // the channel's authority's host.
    let Some(name) = tls.server_name.clone() else {
        return Err(Status::unavailable(format!(
            "TLS with {target}: no server name to verify; set TlsConfig::server_name"
        ))
        .with_origin(Origin::Tls));
    };
    // A copy of the config per connection (connection time only, and
    // the session cache is shared), to note a client-certificate request.
    let seen = SeenError::default();
    let mut config = ClientConfig::clone(&tls.config);
    config.client_auth_cert_resolver = Arc::new(NoteRequest {
        inner: config.client_auth_cert_resolver.clone(),
        requested: seen.1.clone(),
    });
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, io)
        .await
        .map_err(|e| status_from_io(&e, target, tls.has_identity))?;
    let alpn = stream.get_ref().1.alpn_protocol();
    if alpn != Some(H2) {
        let got = match alpn {
            Some(p) => format!("it chose {:?}", String::from_utf8_lossy(p)),
            None => "it chose none".to_owned(),
        };
        return Err(Status::unavailable(format!(
            "TLS handshake with {target} failed: the server did not agree on ALPN \
             protocol h2 ({got}); it does not serve gRPC over TLS"
        ))
        .with_origin(Origin::Tls)
        .with_source(rustls::Error::NoApplicationProtocol));
    }
    Ok(TlsIo::new(stream, seen))
}
