//! A TLS session as h2 sees it (layer: transport): [`TlsIo`], which keeps
//! the session's first TLS error and reads the server's alert before a
//! write's broken pipe, and [`SeenError`], what the session learned that
//! explains its end.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::client::TlsStream;

/// What a TLS session learned that explains its end: its first TLS
/// error, once there is one, and whether the server asked for a client
/// certificate.
#[derive(Clone, Default)]
pub(crate) struct SeenError(
    /// The session's first TLS error.
    pub(super) Arc<std::sync::OnceLock<rustls::Error>>,
    /// Whether the server asked for a client certificate.
    pub(super) Arc<std::sync::atomic::AtomicBool>,
);

/// The client-certificate resolver of one connection: the configured
/// one, noting that the server asked (some servers close the connection
/// without an alert when the client sends no certificate).
#[derive(Debug)]
pub(super) struct NoteRequest {
    /// The configured resolver.
    pub(super) inner: Arc<dyn rustls::client::ResolvesClientCert>,
    /// Set when the server asks.
    pub(super) requested: Arc<std::sync::atomic::AtomicBool>,
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
    /// The session `stream`, noting what explains its end in `seen`.
    pub(super) fn new(stream: TlsStream<IO>, seen: SeenError) -> Self {
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

/// The `rustls::Error` inside `error`, if it carries one.
pub(super) fn rustls_error(error: &io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}
