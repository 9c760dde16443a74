//! TLS, end to end: calls over TLS to the tonic Echo peer (unary and
//! streaming, `https://` and builder-set TLS), mutual TLS, and each way a
//! handshake fails (unknown issuer, expired certificate, name mismatch,
//! missing or refused client certificate, no ALPN `h2`): UNAVAILABLE,
//! origin `Tls`, a message that names the cause, and the `rustls::Error`
//! in the source chain. Also the build-time checks of the TLS settings.
//!
//! Certificates are made at test time (`switchboard_tests::tls::pki`).
//! Every call carries a deadline, so a hang fails instead of hanging.

use std::error::Error as _;

use switchboard::status::Origin;
use switchboard::stub::{blocking_server_streaming_call, blocking_unary_call};
use switchboard::{Channel, Code, Status, TlsConfig};
use switchboard_tests::TonicServer;
use switchboard_tests::methods::{SERVER_STREAM, UNARY};
use switchboard_tests::support::{bounded, hello, stream_of};
use switchboard_tests::tls::{CertKey, NoAlpnServer, ServerTls, pki};

/// TLS that trusts the test CA only.
fn test_ca() -> TlsConfig {
    TlsConfig::new().ca_certificate_pem(pki().ca.cert_pem.clone())
}

/// TLS that trusts the test CA and presents the test client certificate.
fn test_ca_with_client_cert() -> TlsConfig {
    let client = &pki().client;
    test_ca().identity_pem(client.cert_pem.clone(), client.key_pem.clone())
}

fn channel(target: &str, tls: TlsConfig) -> Channel {
    Channel::builder(target)
        .tls(tls)
        .build()
        .expect("valid settings")
}

/// A unary call on `channel` must succeed and echo.
fn echoes(channel: &Channel) {
    let reply = blocking_unary_call(channel, &UNARY, &bounded(), hello("over tls"))
        .unwrap_or_else(|status| panic!("the TLS call failed: {status}"));
    assert_eq!(reply.message, "over tls");
}

/// A unary call on `channel` must fail; its status.
fn fails(channel: &Channel) -> Status {
    blocking_unary_call(channel, &UNARY, &bounded(), hello("refused"))
        .expect_err("the call must fail")
}

/// The status is a TLS failure whose message contains each of `words`
/// and whose source chain holds a `rustls::Error`; returns that error.
fn tls_failure(status: &Status, words: &[&str]) -> rustls::Error {
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert_eq!(status.origin(), Origin::Tls, "{status}");
    for word in words {
        assert!(status.message().contains(word), "{word:?} not in: {status}");
    }
    let mut cause = status.source();
    while let Some(error) = cause {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return tls.clone();
        }
        if let Some(tls) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return tls.clone();
        }
        cause = error.source();
    }
    panic!("no rustls::Error in the source chain of {status:?}");
}

#[test]
fn unary_and_streaming_calls_over_tls_by_ip_and_by_name() {
    let server = TonicServer::start_tls(ServerTls::server());
    let by_ip = channel(&server.https_url(), test_ca());
    echoes(&by_ip);
    let port = server.addr().port();
    // Builder TLS on a dns: target: the name `localhost` is verified.
    let by_name = channel(&format!("dns:///localhost:{port}"), test_ca());
    echoes(&by_name);
    let indexes: Vec<u32> =
        blocking_server_streaming_call(&by_name, &SERVER_STREAM, &bounded(), stream_of(5, 1000))
            .map(|item| item.expect("a streamed message").index)
            .collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);
    server.wait_until_completed(3);
}

#[test]
fn a_server_name_override_is_verified_instead_of_the_host() {
    let server = TonicServer::start_tls(ServerTls::server());
    let tls = test_ca().server_name("foo.test.google.fr");
    echoes(&channel(&server.https_url(), tls));
    // The builder's authority is the name verified when TLS sets none.
    let channel = Channel::builder(server.https_url())
        .tls(test_ca())
        .authority("foo.test.google.fr")
        .build()
        .expect("valid settings");
    echoes(&channel);
}

#[test]
fn a_full_rustls_client_config_is_used() {
    let server = TonicServer::start_tls(ServerTls::server());
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pki().ca.cert_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA certificate");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // No ALPN set here: the channel asks for h2 itself.
    let tls = TlsConfig::new().rustls_client_config(std::sync::Arc::new(config));
    echoes(&channel(&server.https_url(), tls));
}

#[test]
fn mutual_tls_is_accepted_with_the_right_client_certificate() {
    let server = TonicServer::start_tls(ServerTls::mutual());
    echoes(&channel(&server.https_url(), test_ca_with_client_cert()));
}

#[test]
fn mutual_tls_without_a_client_certificate_names_the_missing_certificate() {
    let server = TonicServer::start_tls(ServerTls::mutual());
    let status = fails(&channel(&server.https_url(), test_ca()));
    let error = tls_failure(&status, &["requires a client certificate", "identity_pem"]);
    assert!(
        matches!(error, rustls::Error::AlertReceived(_)),
        "{error:?}"
    );
    assert_eq!(server.counters().counts().calls, 0);
}

#[test]
fn a_client_certificate_of_another_ca_is_refused() {
    let server = TonicServer::start_tls(ServerTls::mutual());
    // The server certificate of the other CA, presented as a client's.
    let stranger: &CertKey = &pki().other_ca_server;
    let tls = test_ca().identity_pem(stranger.cert_pem.clone(), stranger.key_pem.clone());
    let status = fails(&channel(&server.https_url(), tls));
    tls_failure(&status, &["refused our client certificate"]);
}

#[test]
fn a_certificate_of_an_unknown_ca_is_an_unknown_issuer() {
    let server = TonicServer::start_tls(ServerTls::with_identity(&pki().other_ca_server));
    let status = fails(&channel(&server.https_url(), test_ca()));
    let error = tls_failure(&status, &["unknown issuer", "ca_certificate_pem"]);
    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{error:?}"
    );
}

#[test]
fn the_default_roots_do_not_trust_the_test_ca() {
    let server = TonicServer::start_tls(ServerTls::server());
    // An https:// target without builder TLS: Mozilla's roots.
    let channel = Channel::builder(server.https_url()).build().expect("valid");
    tls_failure(&fails(&channel), &["unknown issuer"]);
}

#[test]
fn an_expired_certificate_says_expired() {
    let server = TonicServer::start_tls(ServerTls::with_identity(&pki().expired));
    let status = fails(&channel(&server.https_url(), test_ca()));
    let error = tls_failure(&status, &["expired"]);
    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
            )
        ),
        "{error:?}"
    );
}

#[test]
fn a_name_the_certificate_does_not_list_is_a_name_mismatch() {
    let server = TonicServer::start_tls(ServerTls::server());
    let tls = test_ca().server_name("elsewhere.example");
    let status = fails(&channel(&server.https_url(), tls));
    let error = tls_failure(&status, &["name mismatch", "server_name"]);
    assert!(
        matches!(
            error,
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{error:?}"
    );
}

#[test]
fn a_server_without_alpn_h2_is_refused_naming_alpn() {
    let server = NoAlpnServer::start();
    let status = fails(&channel(&format!("https://{}", server.addr()), test_ca()));
    tls_failure(&status, &["ALPN", "h2"]);
}

#[test]
fn requests_on_a_tls_connection_have_scheme_https() {
    let (schemes, scheme) = std::sync::mpsc::channel();
    let server = NoAlpnServer::start_h2(schemes);
    let status = fails(&channel(&format!("https://{}", server.addr()), test_ca()));
    assert_eq!(status.code(), Code::Unimplemented, "{status}");
    assert_eq!(status.origin(), Origin::Server, "{status}");
    let seen = scheme
        .recv_timeout(switchboard_tests::wait::WAIT_LIMIT)
        .expect("the server saw a request");
    assert_eq!(seen, "https");
}

#[test]
fn plaintext_to_a_tls_server_is_not_a_tls_failure() {
    // No TLS asked for: the client speaks plaintext HTTP/2 and fails as
    // before, not as TLS.
    let server = TonicServer::start_tls(ServerTls::server());
    let status = fails(&switchboard_tests::support::channel_to(server.url()));
    assert_ne!(status.origin(), Origin::Tls, "{status}");
}

#[test]
fn bad_tls_settings_are_refused_at_build_naming_the_setting() {
    let not_pem = TlsConfig::new().ca_certificate_pem("not a certificate");
    let client = &pki().client;
    for (tls, setting) in [
        (not_pem, "ca_certificate_pem"),
        (
            test_ca().identity_pem("garbage", client.key_pem.clone()),
            "identity_pem",
        ),
        (
            test_ca().identity_pem(client.cert_pem.clone(), "garbage"),
            "identity_pem",
        ),
        (test_ca().server_name("not a name!"), "server name"),
    ] {
        let error = Channel::builder("dns:///localhost:1")
            .tls(tls)
            .build()
            .expect_err("bad TLS settings are refused");
        assert!(error.reason.contains(setting), "{setting}: {error}");
    }
    let error = Channel::builder("http://localhost:1")
        .tls(test_ca())
        .build()
        .expect_err("TLS on an http:// target is refused");
    assert!(error.reason.contains("http://"), "{error}");
}
