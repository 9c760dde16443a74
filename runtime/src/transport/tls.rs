//! TLS between TCP and HTTP/2 (layer: transport).
//!
//! Owns [`TlsConfig`], the TLS settings a user gives a channel (roots,
//! client identity, server name, or a whole `rustls::ClientConfig`), turning
//! them into a [`TlsConnector`] when the channel is built (bad PEM is
//! refused there, naming the setting), the handshake itself (rustls through
//! tokio-rustls, ALPN `h2` required), and how a TLS failure becomes a
//! [`Status`]: `UNAVAILABLE`, origin [`Origin::Tls`], a message that says
//! what to fix, and the `rustls::Error` as its source.
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

#[cfg(feature = "tls")]
use crate::status::{Origin, Status};
#[cfg(feature = "tls")]
use crate::transport::address::Address;

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

#[cfg(feature = "tls")]
pub(crate) use enabled::{connect, connector, reclassify};

#[cfg(feature = "tls")]
mod enabled {
    use std::error::Error as _;
    use std::io;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio_rustls::client::TlsStream;

    use super::{Address, Origin, Status, TlsConfig, TlsConnector};

    /// The ALPN protocol gRPC runs on.
    const H2: &[u8] = b"h2";

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

    /// The TLS handshake over `io` with `target`, requiring ALPN `h2`.
    pub(crate) async fn connect<IO>(
        io: IO,
        tls: &TlsConnector,
        target: &Address,
    ) -> Result<TlsIo<IO>, Status>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let name = match &tls.server_name {
            Some(name) => name.clone(),
            None => {
                let host = match target {
                    Address::Tcp { host, .. } => host.clone(),
                    Address::Unix(_) => "localhost".to_owned(),
                };
                ServerName::try_from(host.clone()).map_err(|e| {
                    Status::unavailable(format!(
                        "TLS with {target}: {host:?} is not a valid server name ({e}); set \
                         TlsConfig::server_name"
                    ))
                    .with_origin(Origin::Tls)
                })?
            }
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

    /// What a TLS session learned that explains its end: its first TLS
    /// error, once there is one, and whether the server asked for a client
    /// certificate.
    #[derive(Clone, Default)]
    pub(crate) struct SeenError(
        Arc<std::sync::OnceLock<rustls::Error>>,
        Arc<std::sync::atomic::AtomicBool>,
    );

    /// The client-certificate resolver of one connection: the configured
    /// one, noting that the server asked (some servers close the connection
    /// without an alert when the client sends no certificate).
    #[derive(Debug)]
    struct NoteRequest {
        inner: Arc<dyn rustls::client::ResolvesClientCert>,
        requested: Arc<std::sync::atomic::AtomicBool>,
    }

    impl rustls::client::ResolvesClientCert for NoteRequest {
        fn resolve(
            &self,
            root_hint_subjects: &[&[u8]],
            sigschemes: &[rustls::SignatureScheme],
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            self.requested
                .store(true, std::sync::atomic::Ordering::Relaxed);
            self.inner.resolve(root_hint_subjects, sigschemes)
        }

        fn only_raw_public_keys(&self) -> bool {
            self.inner.only_raw_public_keys()
        }

        fn has_certs(&self) -> bool {
            self.inner.has_certs()
        }
    }

    /// A TLS session as h2 sees it: tokio-rustls's stream, except that a
    /// write that fails because the peer closed the connection first waits
    /// to read what the peer sent before closing, and a TLS error, once
    /// seen, stands for every later I/O failure of the session.
    ///
    /// With TLS 1.3 a server that refuses the client's certificate does so
    /// after the client's handshake is done: it sends an alert and closes.
    /// The client's next write then fails with a broken pipe that hides the
    /// alert. Reading first makes the connection fail with the alert (a
    /// `rustls::Error`), so the failure can name its cause. The read cannot
    /// wait for long: the peer has reset the connection, so the socket is
    /// readable (data, end of stream or an error).
    pub(crate) struct TlsIo<IO> {
        stream: TlsStream<IO>,
        /// The first TLS error the session reported, shared with
        /// [`connect`]'s caller ([`TlsIo::seen`]): h2 keeps only the kind
        /// and text of an I/O error, not the `rustls::Error` inside it.
        seen: SeenError,
        /// A write's broken pipe, reported once the read side has spoken.
        deferred: Option<io::Error>,
    }

    impl<IO: AsyncRead + AsyncWrite + Unpin> TlsIo<IO> {
        fn new(stream: TlsStream<IO>, seen: SeenError) -> Self {
            TlsIo {
                stream,
                seen,
                deferred: None,
            }
        }

        /// Where the session's first TLS error will be.
        pub(crate) fn seen(&self) -> SeenError {
            self.seen.clone()
        }

        /// The error to report for a read's `error`: remembers a TLS error.
        fn note(&mut self, error: io::Error) -> io::Error {
            if let Some(tls) = rustls_error(&error) {
                let _ = self.seen.0.set(tls.clone());
                return error;
            }
            match self.seen.0.get() {
                Some(tls) => io::Error::new(io::ErrorKind::InvalidData, tls.clone()),
                None => error,
            }
        }

        /// A write-side `result`: a broken pipe waits for the read side.
        fn check_write<T>(
            &mut self,
            cx: &mut Context<'_>,
            result: Poll<io::Result<T>>,
        ) -> Poll<io::Result<T>> {
            match result {
                Poll::Ready(Err(error)) => {
                    let closed = matches!(
                        error.kind(),
                        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                    );
                    if closed && self.seen.0.get().is_none() && rustls_error(&error).is_none() {
                        self.deferred = Some(error);
                        self.poll_deferred(cx).map(Err)
                    } else {
                        Poll::Ready(Err(self.note(error)))
                    }
                }
                other => other,
            }
        }

        /// Resolves a deferred write error: reads until the peer's last
        /// words (a TLS alert becomes the error), end of stream or a read
        /// error (then the write's error stands).
        fn poll_deferred(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
            let mut scratch = [0u8; 256];
            loop {
                let mut buf = ReadBuf::new(&mut scratch);
                match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(())) if !buf.filled().is_empty() => continue,
                    Poll::Ready(Ok(())) => break,
                    Poll::Ready(Err(read)) => {
                        if let Some(tls) = rustls_error(&read) {
                            let _ = self.seen.0.set(tls.clone());
                        }
                        break;
                    }
                }
            }
            let write = self
                .deferred
                .take()
                .unwrap_or_else(|| io::ErrorKind::BrokenPipe.into());
            Poll::Ready(self.note(write))
        }

        /// Runs a write-side operation, unless a deferred error is pending.
        fn write_side<T>(
            &mut self,
            cx: &mut Context<'_>,
            op: impl FnOnce(Pin<&mut TlsStream<IO>>, &mut Context<'_>) -> Poll<io::Result<T>>,
        ) -> Poll<io::Result<T>> {
            if self.deferred.is_some() {
                return self.poll_deferred(cx).map(Err);
            }
            let result = op(Pin::new(&mut self.stream), cx);
            self.check_write(cx, result)
        }
    }

    impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsIo<IO> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            match Pin::new(&mut self.stream).poll_read(cx, buf) {
                Poll::Ready(Err(error)) => Poll::Ready(Err(self.note(error))),
                other => other,
            }
        }
    }

    impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsIo<IO> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.write_side(cx, |stream, cx| stream.poll_write(cx, buf))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.write_side(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
        }

        fn is_write_vectored(&self) -> bool {
            self.stream.is_write_vectored()
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.write_side(cx, |stream, cx| stream.poll_flush(cx))
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.write_side(cx, |stream, cx| stream.poll_shutdown(cx))
        }
    }

    /// A failure of the TLS session (handshake or later), from the I/O
    /// error tokio-rustls reports it as.
    fn status_from_io(error: &io::Error, target: &Address, has_identity: bool) -> Status {
        match rustls_error(error) {
            Some(tls) => status_from_rustls(tls, target, has_identity),
            None => Status::unavailable(format!(
                "TLS handshake with {target} failed: connection failed: {error}"
            ))
            .with_origin(Origin::Tls)
            .with_source(io::Error::new(error.kind(), error.to_string())),
        }
    }

    fn rustls_error(error: &io::Error) -> Option<&rustls::Error> {
        error.get_ref()?.downcast_ref::<rustls::Error>()
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
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => format!(
                    "the server's certificate is not valid for the name connected to (name \
                     mismatch); connect by a name it lists, or set TlsConfig::server_name \
                     ({error})"
                ),
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
            E::AlertReceived(AlertDescription::NoApplicationProtocol)
            | E::NoApplicationProtocol => format!(
                "the server did not agree on ALPN protocol h2; it does not serve gRPC over \
                 TLS ({error})"
            ),
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
}

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
