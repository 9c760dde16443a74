//! How a TLS failure becomes a [`Status`] (layer: transport):
//! `UNAVAILABLE`, origin [`Origin::Tls`], a message that says what to fix,
//! and the `rustls::Error` as its source; and the reclassifying of an
//! HTTP/2 failure that TLS caused.

use std::error::Error as _;
use std::io;

use rustls::{AlertDescription, CertificateError};

use super::TlsConnector;
use super::session::{SeenError, rustls_error};
use crate::address::Address;
use crate::status::{Origin, Status};

/// A failure of the TLS session (handshake or later), from the I/O
/// error tokio-rustls reports it as.
pub(super) fn status_from_io(error: &io::Error, target: &Address, has_identity: bool) -> Status {
    match rustls_error(error) {
        Some(tls) => status_from_rustls(tls, target, has_identity),
        None => Status::unavailable(format!(
            "TLS handshake with {target} failed: connection failed: {error}"
        ))
        .with_origin(Origin::Tls)
        .with_source(io::Error::new(error.kind(), error.to_string())),
    }
}

/// A status for `error`: UNAVAILABLE, origin TLS, `error` as the source.
pub(crate) fn status_from_rustls(
    error: &rustls::Error,
    target: &Address,
    has_identity: bool,
) -> Status {
    Status::unavailable(format!(
        "TLS handshake with {target} failed: {}",
        describe(error, has_identity)
    ))
    .with_origin(Origin::Tls)
    .with_source(error.clone())
}

/// What went wrong, in words a person can act on.
fn describe(error: &rustls::Error, has_identity: bool) -> String {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => format!(
                "the server's certificate is not signed by a trusted CA (unknown issuer); \
                 trust its CA with TlsConfig::ca_certificate_pem ({error})"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "the server's certificate has expired (or this machine's clock is wrong) \
                 ({error})"
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!(
                    "the server's certificate is not valid yet (or this machine's clock is \
                     wrong) ({error})"
                )
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "the server's certificate is not valid for the name connected to (name \
                 mismatch); connect by a name it lists, or set TlsConfig::server_name \
                 ({error})"
                )
            }
            CertificateError::Revoked => {
                format!("the server's certificate has been revoked ({error})")
            }
            _ => format!("the server's certificate was refused ({error})"),
        },
        E::AlertReceived(AlertDescription::CertificateRequired) => format!(
            "the server requires a client certificate (mutual TLS); set one with \
             TlsConfig::identity_pem ({error})"
        ),
        E::AlertReceived(AlertDescription::HandshakeFailure) if !has_identity => format!(
            "the server refused the handshake; if it requires a client certificate, set \
             one with TlsConfig::identity_pem ({error})"
        ),
        E::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied
            | AlertDescription::HandshakeFailure,
        ) if has_identity => format!(
            "the server refused our client certificate; check that it is signed by a CA \
             the server trusts and still valid ({error})"
        ),
        E::AlertReceived(AlertDescription::NoApplicationProtocol) | E::NoApplicationProtocol => {
            format!(
                "the server did not agree on ALPN protocol h2; it does not serve gRPC over \
             TLS ({error})"
            )
        }
        _ => format!("{error}"),
    }
}

/// Whether `status` says the peer closed or reset the connection.
fn closed_by_peer(status: &Status) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = status.source();
    while let Some(error) = cause {
        let io = match error.downcast_ref::<h2::Error>() {
            Some(h2) => h2.get_io(),
            None => error.downcast_ref::<io::Error>(),
        };
        if io.is_some_and(|io| {
            matches!(
                io.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::UnexpectedEof
            )
        }) {
            return true;
        }
        cause = error.source();
    }
    false
}

/// `status` from a TLS connection's HTTP/2 step: if a TLS error caused
/// it (the session `seen` it, or it is in the status's source chain) (with TLS 1.3 the server refuses a client certificate after the
/// client's handshake is done, so its alert comes with the first read),
/// the TLS status for it; else `status`.
pub(crate) fn reclassify(
    status: Status,
    seen: &SeenError,
    target: &Address,
    tls: &TlsConnector,
) -> Status {
    if let Some(tls_error) = seen.0.get() {
        return status_from_rustls(tls_error, target, tls.has_identity);
    }
    let requested = seen.1.load(std::sync::atomic::Ordering::Relaxed);
    if requested && status.origin() == Origin::Http2 && closed_by_peer(&status) {
        // No alert, but the server asked for our certificate and then
        // closed the connection before HTTP/2 began: it refused the
        // certificate we sent, or the lack of one.
        let what = if tls.has_identity {
            "the server asked for a client certificate and closed the connection after \
             the handshake: it refused ours; check that it is signed by a CA the server \
             trusts and still valid"
        } else {
            "the server asked for a client certificate and closed the connection after \
             the handshake: it requires a client certificate (mutual TLS); set one with \
             TlsConfig::identity_pem"
        };
        return Status::unavailable(format!(
            "TLS handshake with {target} failed: {what} ({})",
            status.message()
        ))
        .with_origin(Origin::Tls)
        .with_source(status);
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = status.source();
    while let Some(error) = cause {
        if let Some(tls_error) = error.downcast_ref::<rustls::Error>() {
            return status_from_rustls(tls_error, target, tls.has_identity);
        }
        let io = match error.downcast_ref::<h2::Error>() {
            Some(h2) => h2.get_io(),
            None => error.downcast_ref::<io::Error>(),
        };
        if let Some(tls_error) = io.and_then(rustls_error) {
            return status_from_rustls(tls_error, target, tls.has_identity);
        }
        cause = error.source();
    }
    status
}
