//! Noticing a server's GOAWAY as it arrives (layer: transport).
//!
//! h2's client tells its user about a received GOAWAY only when a stream
//! fails because of it, so a connection that is going away would keep
//! being handed new calls until one of them fails. This file owns what
//! notices it at once instead:
//!
//! - [`GoAwayWatch`] sits between the socket (or, later, the TLS stream) and
//!   h2 and passes every byte through untouched. As bytes are read it
//!   follows the server's HTTP/2 frame boundaries ([`FrameScanner`]: the
//!   9-byte frame headers, skipping payloads; the server's first bytes are
//!   already frames) and, on the first GOAWAY frame header, sets the
//!   connection's `broken` flag: no new call goes on it. It stops looking
//!   after that first GOAWAY. Nothing is copied but frame headers that
//!   straddle two reads (at most 9 bytes).
//! - [`GoingAway`] is the connection task's side: after each turn of the
//!   connection it tells the channel, once, that the connection is broken
//!   (by a GOAWAY, or because a call found it so), so the channel moves its
//!   new calls to a new connection without waiting for the old one to end.
//!
//! Calls already on the connection are untouched: h2 finishes the streams
//! at or below the GOAWAY's last stream id, and fails those above it, which
//! `call::h2::retry` sends again on the next connection.
//!
//! Bad input (a peer that does not speak HTTP/2) may look like a GOAWAY
//! here; h2 fails such a connection anyway, so the only effect is that the
//! channel stops using it a moment earlier.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::sync::atomic::{AtomicBool, Ordering};

/// The length of an HTTP/2 frame header (RFC 9113, section 4.1).
const HEADER_LEN: usize = 9;

/// The frame type of GOAWAY (RFC 9113, section 6.8).
const GOAWAY: u8 = 0x7;

/// Follows HTTP/2 frame boundaries in the bytes a server sends, and says
/// when a GOAWAY frame's header passes.
#[derive(Debug, Default)]
pub(crate) struct FrameScanner {
    /// Payload bytes of the current frame still to pass.
    skip: usize,
    /// A frame header split across reads: its first `have` bytes.
    header: [u8; HEADER_LEN],
    have: usize,
}

impl FrameScanner {
    /// Follows `bytes`, the next bytes the server sent; returns whether a
    /// GOAWAY frame header was among them (scanning stops there).
    pub(crate) fn scan(&mut self, mut bytes: &[u8]) -> bool {
        loop {
            if self.skip > 0 {
                let passed = self.skip.min(bytes.len());
                self.skip -= passed;
                bytes = &bytes[passed..];
            }
            if bytes.is_empty() {
                return false;
            }
            let header = if self.have == 0 && bytes.len() >= HEADER_LEN {
                // The common case: the whole header is in this read.
                let (header, rest) = bytes.split_at(HEADER_LEN);
                bytes = rest;
                [header[0], header[1], header[2], header[3]]
            } else {
                let take = (HEADER_LEN - self.have).min(bytes.len());
                self.header[self.have..self.have + take].copy_from_slice(&bytes[..take]);
                self.have += take;
                bytes = &bytes[take..];
                if self.have < HEADER_LEN {
                    return false;
                }
                self.have = 0;
                [
                    self.header[0],
                    self.header[1],
                    self.header[2],
                    self.header[3],
                ]
            };
            if header[3] == GOAWAY {
                return true;
            }
            self.skip = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        }
    }
}

/// The server's side of a connection, watched for GOAWAY on the way to h2
/// (see the module docs). Reads and writes pass through unchanged.
pub(crate) struct GoAwayWatch<T> {
    io: T,
    /// `None` once a GOAWAY was seen: nothing more to look for.
    scanner: Option<FrameScanner>,
    /// The connection's broken flag, set on the first GOAWAY.
    broken: Arc<AtomicBool>,
}

impl<T> GoAwayWatch<T> {
    /// Watches `io`, setting `broken` when the server sends GOAWAY.
    pub(crate) fn new(io: T, broken: Arc<AtomicBool>) -> Self {
        GoAwayWatch {
            io,
            scanner: Some(FrameScanner::default()),
            broken,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GoAwayWatch<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(scanner)) = (&result, &mut this.scanner)
            && scanner.scan(&buf.filled()[before..])
        {
            tracing::debug!("server sent GOAWAY; no new calls on this connection");
            this.broken.store(true, Ordering::Release);
            this.scanner = None;
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GoAwayWatch<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The connection task's duty to tell the channel, once, that its
/// connection can take no new calls.
pub(crate) struct GoingAway {
    broken: Arc<AtomicBool>,
    /// `None` once run.
    notify: Option<Box<dyn FnOnce() + Send>>,
}

impl GoingAway {
    /// Runs `notify` once `broken` is set (checked by [`GoingAway::check`]).
    pub(crate) fn new(broken: Arc<AtomicBool>, notify: Box<dyn FnOnce() + Send>) -> Self {
        GoingAway {
            broken,
            notify: Some(notify),
        }
    }

    /// After a turn of the connection: if it is broken now, tells the
    /// channel (the first time only). Runs outside h2's poll, so h2 holds
    /// none of its locks.
    pub(crate) fn check(&mut self) {
        if self.notify.is_some()
            && self.broken.load(Ordering::Acquire)
            && let Some(notify) = self.notify.take()
        {
            notify();
        }
    }
}

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn frame(kind: u8, payload_len: usize) -> Vec<u8> {
        let len = u32::try_from(payload_len).unwrap().to_be_bytes();
        let mut out = vec![len[1], len[2], len[3], kind, 0, 0, 0, 0, 0];
        // Payload bytes that look like frame headers of type GOAWAY.
        out.extend(std::iter::repeat_n(GOAWAY, payload_len));
        out
    }

    /// SETTINGS, a big DATA frame, HEADERS, then GOAWAY and a PING.
    fn conversation() -> (Vec<u8>, usize) {
        let mut bytes = frame(0x4, 6);
        bytes.extend(frame(0x0, 16_384));
        bytes.extend(frame(0x1, 0));
        let goaway_at = bytes.len();
        bytes.extend(frame(GOAWAY, 8));
        bytes.extend(frame(0x6, 8));
        (bytes, goaway_at)
    }

    #[test]
    fn a_goaway_is_found_however_the_bytes_are_split() {
        let (bytes, goaway_at) = conversation();
        for chunk in [1, 2, 5, 8, 9, 10, 17, 4096, bytes.len()] {
            let mut scanner = FrameScanner::default();
            let mut found_after = None;
            let mut read = 0;
            for piece in bytes.chunks(chunk) {
                read += piece.len();
                if scanner.scan(piece) {
                    found_after = Some(read);
                    break;
                }
            }
            let found_after = found_after.unwrap_or_else(|| panic!("chunk {chunk}: no GOAWAY"));
            // Found in the read that completed its header, not before.
            assert!(found_after >= goaway_at + HEADER_LEN, "chunk {chunk}");
            assert!(
                found_after < goaway_at + HEADER_LEN + chunk,
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn payload_bytes_are_not_mistaken_for_frame_headers() {
        let mut bytes = frame(0x4, 0);
        bytes.extend(frame(0x0, 100));
        bytes.extend(frame(0x8, 4));
        for chunk in [1, 3, 9, 50, bytes.len()] {
            let mut scanner = FrameScanner::default();
            assert!(!bytes.chunks(chunk).any(|piece| scanner.scan(piece)));
        }
    }

    #[tokio::test]
    async fn the_watch_passes_bytes_through_and_sets_broken_on_goaway() {
        let (bytes, _) = conversation();
        let (client, mut server) = tokio::io::duplex(64);
        let broken = Arc::new(AtomicBool::new(false));
        let mut watch = GoAwayWatch::new(client, broken.clone());
        let sent = bytes.clone();
        let writer = tokio::spawn(async move {
            server.write_all(&sent).await.unwrap();
            let mut echoed = [0u8; 5];
            server.read_exact(&mut echoed).await.unwrap();
            echoed
        });
        let mut received = Vec::new();
        let mut chunk = [0u8; 1000];
        while received.len() < bytes.len() {
            let n = watch.read(&mut chunk).await.unwrap();
            received.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(received, bytes);
        assert!(broken.load(Ordering::Acquire));
        watch.write_all(b"hello").await.unwrap();
        assert_eq!(&writer.await.unwrap(), b"hello");
    }

    #[test]
    fn going_away_notifies_once_when_broken() {
        let broken = Arc::new(AtomicBool::new(false));
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = count.clone();
        let mut going_away = GoingAway::new(
            broken.clone(),
            Box::new(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
        );
        going_away.check();
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
        broken.store(true, Ordering::Release);
        going_away.check();
        going_away.check();
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
