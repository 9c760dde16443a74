//! TLS for the tests: certificates made at test time with `rcgen` (no key
//! material is committed), the server side of TLS for the Echo peer
//! ([`ServerTls`], for [`crate::TonicServer::start_tls`]), and
//! [`NoAlpnServer`], a raw TLS server that offers no ALPN protocol (or,
//! [`NoAlpnServer::start_h2`], a raw h2 server over TLS that reports the
//! `:scheme` of each request).
//!
//! [`pki`] is made once per test process:
//!
//! - `ca`: the test CA that signs the rest;
//! - `server`: valid for `foo.test.google.fr`, `*.test.google.fr`,
//!   `localhost` and the IP address `127.0.0.1` (what gRPC's interop test
//!   certificate lists, and what the tests connect to);
//! - `client`: a client certificate for mutual TLS;
//! - `expired`: a server certificate of the CA that expired in 2001;
//! - `other_ca_server`: a server certificate for the same names, signed by
//!   another CA, which nobody trusts.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use tokio::io::AsyncReadExt as _;

use crate::peer_runtime::PeerRuntime;

/// A certificate and its private key, in PEM.
#[derive(Clone, Debug)]
pub struct CertKey {
    /// The certificate (`CERTIFICATE` block).
    pub cert_pem: String,
    /// Its private key (PKCS#8 `PRIVATE KEY` block).
    pub key_pem: String,
}

/// The test certificates: see the module docs.
#[derive(Debug)]
pub struct TestPki {
    /// The test CA's certificate (and key, unused by the tests).
    pub ca: CertKey,
    /// The server certificate, signed by `ca`.
    pub server: CertKey,
    /// The client certificate, signed by `ca`.
    pub client: CertKey,
    /// An expired server certificate, signed by `ca`.
    pub expired: CertKey,
    /// A server certificate from another CA.
    pub other_ca_server: CertKey,
}

/// The names the server certificates are valid for.
pub const SERVER_NAMES: &[&str] = &["foo.test.google.fr", "*.test.google.fr", "localhost"];

/// The test certificates of this process, made on first use.
///
/// # Panics
/// If `rcgen` fails to make them.
pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let (ca, ca_key, ca_params) = make_ca("switchboard test CA");
        let issuer = Issuer::new(ca_params, ca_key);
        let (_, other_key, other_params) = make_ca("some other CA");
        let other = Issuer::new(other_params, other_key);
        let mut expired = leaf_params(true);
        expired.not_before = rcgen::date_time_ymd(2000, 1, 1);
        expired.not_after = rcgen::date_time_ymd(2001, 1, 1);
        TestPki {
            ca,
            server: sign(leaf_params(true), &issuer),
            client: sign(leaf_params(false), &issuer),
            expired: sign(expired, &issuer),
            other_ca_server: sign(leaf_params(true), &other),
        }
    })
}

fn make_ca(name: &str) -> (CertKey, KeyPair, CertificateParams) {
    let key = KeyPair::generate().expect("generate a CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).expect("self-sign the CA");
    let pair = CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    };
    (pair, key, params)
}

/// A leaf's parameters: a server's (the test names and 127.0.0.1) or a
/// client's.
fn leaf_params(server: bool) -> CertificateParams {
    let names: Vec<String> = if server {
        SERVER_NAMES.iter().map(|n| n.to_string()).collect()
    } else {
        vec!["client.test.google.fr".to_owned()]
    };
    let mut params = CertificateParams::new(names).expect("leaf params");
    if server {
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params
            .distinguished_name
            .push(DnType::CommonName, "*.test.google.fr");
    } else {
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params
            .distinguished_name
            .push(DnType::CommonName, "switchboard test client");
    }
    params
}

fn sign(params: CertificateParams, issuer: &Issuer<'_, KeyPair>) -> CertKey {
    let key = KeyPair::generate().expect("generate a leaf key");
    let cert = params.signed_by(&key, issuer).expect("sign a leaf");
    CertKey {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// The server side of TLS for [`crate::TonicServer::start_tls`].
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The server's certificate and key.
    pub identity: CertKey,
    /// If set, clients must present a certificate signed by this CA (PEM).
    pub client_ca_pem: Option<String>,
}

impl ServerTls {
    /// The test server certificate, no client certificate asked for.
    pub fn server() -> ServerTls {
        ServerTls {
            identity: pki().server.clone(),
            client_ca_pem: None,
        }
    }

    /// `identity` as the server certificate, no client certificate asked for.
    pub fn with_identity(identity: &CertKey) -> ServerTls {
        ServerTls {
            identity: identity.clone(),
            client_ca_pem: None,
        }
    }

    /// The test server certificate; clients must present one of the test CA.
    pub fn mutual() -> ServerTls {
        ServerTls {
            identity: pki().server.clone(),
            client_ca_pem: Some(pki().ca.cert_pem.clone()),
        }
    }

    /// tonic's form of these settings.
    pub(crate) fn tonic(&self) -> tonic::transport::ServerTlsConfig {
        let identity =
            tonic::transport::Identity::from_pem(&self.identity.cert_pem, &self.identity.key_pem);
        let config = tonic::transport::ServerTlsConfig::new().identity(identity);
        match &self.client_ca_pem {
            Some(ca) => config.client_ca_root(tonic::transport::Certificate::from_pem(ca)),
            None => config,
        }
    }
}

/// A TLS server on `127.0.0.1` that completes handshakes with the test
/// server certificate but offers no ALPN protocol (so no `h2`), then keeps
/// each connection open until the client closes it. Stops when dropped.
#[derive(Debug)]
pub struct NoAlpnServer {
    addr: SocketAddr,
    _runtime: PeerRuntime,
}

impl NoAlpnServer {
    /// Starts the server; returns once it listens.
    ///
    /// # Panics
    /// If the socket cannot be bound or the certificate not loaded.
    pub fn start() -> NoAlpnServer {
        Self::serve(None)
    }

    /// A TLS server that does agree on ALPN `h2` and speaks HTTP/2 (with
    /// h2, no gRPC library): it answers every request with a trailers-only
    /// UNIMPLEMENTED and sends its `:scheme` on `schemes`.
    ///
    /// # Panics
    /// If the socket cannot be bound or the certificate not loaded.
    pub fn start_h2(schemes: std::sync::mpsc::Sender<String>) -> NoAlpnServer {
        Self::serve(Some(schemes))
    }

    fn serve(h2_schemes: Option<std::sync::mpsc::Sender<String>>) -> NoAlpnServer {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};

        let identity = &pki().server;
        let chain = CertificateDer::pem_slice_iter(identity.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("server certificate PEM");
        let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).expect("key PEM");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server certificate");
        // Without `alpn_protocols` the server ignores the client's ALPN offer.
        if h2_schemes.is_some() {
            config.alpn_protocols = vec![b"h2".to_vec()];
        }
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let runtime = PeerRuntime::new("no-alpn-peer", 1).expect("runtime");
        let listener = runtime
            .handle()
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        runtime.handle().spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                if let Some(schemes) = h2_schemes.clone() {
                    tokio::spawn(async move {
                        if let Ok(tls) = acceptor.accept(tcp).await {
                            serve_h2(tls, schemes).await;
                        }
                    });
                    continue;
                }
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let mut sink = [0u8; 1024];
                        while matches!(tls.read(&mut sink).await, Ok(n) if n > 0) {}
                    }
                });
            }
        });
        NoAlpnServer {
            addr,
            _runtime: runtime,
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Answers every request on `io` with a trailers-only UNIMPLEMENTED,
/// sending its `:scheme` on `schemes` first.
async fn serve_h2<T>(io: T, schemes: std::sync::mpsc::Sender<String>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Ok(mut connection) = h2::server::handshake(io).await else {
        return;
    };
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        let scheme = request.uri().scheme_str().unwrap_or("").to_owned();
        let _ = schemes.send(scheme);
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc")
            .header("grpc-status", "12")
            .body(())
            .expect("a response head");
        let _ = respond.send_response(response, true);
    }
}
