//! What the transport learns from the server's frames before h2 does
//! (layer: transport).
//!
//! h2's client tells its user about a received GOAWAY only when a stream
//! fails because of it, and keeps a GOAWAY's debug data to itself. This
//! file owns the one place that reads the server's bytes on their way to
//! h2, without changing or copying them:
//!
//! - [`FrameScanner`] follows the server's HTTP/2 frame boundaries (the
//!   9-byte frame headers, skipping payloads; the server's first bytes are
//!   already frames). It reports a GOAWAY as soon as its header passes, and
//!   a GOAWAY `ENHANCE_YOUR_CALM` with debug data `too_many_pings` (gRFC
//!   A8) once its payload has. Only a header split across two reads, and
//!   such a GOAWAY's short payload, are copied.
//! - [`ServerFrames`] wraps the connection's I/O under h2 (over TLS, on
//!   the decrypted stream): on the first GOAWAY it sets the connection's
//!   `broken` flag, so no new call goes on it (see `goaway`); with
//!   keepalive on it records every read and doubles the channel's
//!   keepalive time on `too_many_pings` (see `keepalive`).
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
use crate::transport::keepalive::Liveness;

/// The length of an HTTP/2 frame header (RFC 9113, section 4.1).
const HEADER_LEN: usize = 9;

/// The frame type of GOAWAY (RFC 9113, section 6.8).
const GOAWAY: u8 = 0x7;

/// HTTP/2's ENHANCE_YOUR_CALM error code.
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// The GOAWAY debug data by which a server says the client pings too often.
const TOO_MANY_PINGS: &[u8] = b"too_many_pings";

/// The length of a GOAWAY payload saying `too_many_pings`: last stream id,
/// error code, debug data.
const TOO_MANY_PINGS_PAYLOAD: usize = 8 + TOO_MANY_PINGS.len();

/// What one scan saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// A GOAWAY frame's header passed.
    pub(crate) goaway: bool,
    /// A whole GOAWAY `ENHANCE_YOUR_CALM` / `too_many_pings` passed.
    pub(crate) too_many_pings: bool,
}

/// Follows HTTP/2 frame boundaries in the bytes a server sends (see the
/// module docs).
#[derive(Debug, Default)]
pub(crate) struct FrameScanner {
    /// Payload bytes of the current frame still to pass.
    skip: usize,
    /// A frame header split across reads: its first `have` bytes.
    header: [u8; HEADER_LEN],
    have: usize,
    /// The payload so far of a GOAWAY as long as one saying
    /// `too_many_pings`.
    goaway: Option<Vec<u8>>,
}

impl FrameScanner {
    /// Follows `bytes`, the next bytes the server sent.
    pub(crate) fn scan(&mut self, mut bytes: &[u8]) -> Seen {
        let mut seen = Seen::default();
        loop {
            if self.skip > 0 {
                let passed = self.skip.min(bytes.len());
                if let Some(payload) = self.goaway.as_mut() {
                    payload.extend_from_slice(&bytes[..passed]);
                }
                self.skip -= passed;
                bytes = &bytes[passed..];
                if self.skip == 0
                    && let Some(payload) = self.goaway.take()
                {
                    seen.too_many_pings |= is_too_many_pings(&payload);
                }
            }
            if bytes.is_empty() {
                return seen;
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
                    return seen;
                }
                self.have = 0;
                [
                    self.header[0],
                    self.header[1],
                    self.header[2],
                    self.header[3],
                ]
            };
            self.skip = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
            if header[3] == GOAWAY {
                seen.goaway = true;
                // Only a GOAWAY of exactly the right length can say it.
                if self.skip == TOO_MANY_PINGS_PAYLOAD {
                    self.goaway = Some(Vec::with_capacity(TOO_MANY_PINGS_PAYLOAD));
                }
            }
        }
    }
}

/// Whether a GOAWAY payload (last stream id, error code, debug data) says
/// `too_many_pings` with ENHANCE_YOUR_CALM.
fn is_too_many_pings(payload: &[u8]) -> bool {
    payload.len() == TOO_MANY_PINGS_PAYLOAD
        && u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]) == ENHANCE_YOUR_CALM
        && &payload[8..] == TOO_MANY_PINGS
}

/// The connection's I/O under h2, with the server's frames watched on the
/// way (see the module docs). Reads and writes pass through unchanged.
pub(crate) struct ServerFrames<T> {
    io: T,
    scanner: FrameScanner,
    /// The connection's broken flag, set on the first GOAWAY.
    broken: Arc<AtomicBool>,
    /// With keepalive on: where reads and `too_many_pings` are recorded.
    liveness: Option<Arc<Liveness>>,
}

impl<T> ServerFrames<T> {
    /// Watches `io`: sets `broken` when the server sends GOAWAY, and tells
    /// `liveness` (keepalive on) of every read and of `too_many_pings`.
    pub(crate) fn new(io: T, broken: Arc<AtomicBool>, liveness: Option<Arc<Liveness>>) -> Self {
        ServerFrames {
            io,
            scanner: FrameScanner::default(),
            broken,
            liveness,
        }
    }

    /// Takes note of `read`, bytes the server just sent.
    fn note(&mut self, read: &[u8]) {
        if read.is_empty() {
            return;
        }
        if let Some(liveness) = &self.liveness {
            liveness.record_read();
        }
        let seen = self.scanner.scan(read);
        if seen.goaway && !self.broken.swap(true, Ordering::AcqRel) {
            tracing::debug!("server sent GOAWAY; no new calls on this connection");
        }
        if seen.too_many_pings
            && let Some(liveness) = &self.liveness
        {
            liveness.too_many_pings();
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ServerFrames<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.note(&buf.filled()[before..]);
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ServerFrames<T> {
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

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A frame of `kind` whose payload bytes look like GOAWAY headers.
    fn frame(kind: u8, payload_len: usize) -> Vec<u8> {
        let len = u32::try_from(payload_len).unwrap().to_be_bytes();
        let mut out = vec![len[1], len[2], len[3], kind, 0, 0, 0, 0, 0];
        out.extend(std::iter::repeat_n(GOAWAY, payload_len));
        out
    }

    fn goaway(code: u32, debug: &[u8]) -> Vec<u8> {
        let len = u32::try_from(8 + debug.len()).unwrap().to_be_bytes();
        let mut frame = vec![len[1], len[2], len[3], GOAWAY, 0, 0, 0, 0, 0];
        frame.extend_from_slice(&1u32.to_be_bytes());
        frame.extend_from_slice(&code.to_be_bytes());
        frame.extend_from_slice(debug);
        frame
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
                if scanner.scan(piece).goaway {
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
            assert!(!bytes.chunks(chunk).any(|piece| scanner.scan(piece).goaway));
        }
    }

    #[test]
    fn too_many_pings_is_found_across_reads_of_any_size() {
        let mut bytes = frame(0x6, 8);
        bytes.extend(goaway(ENHANCE_YOUR_CALM, TOO_MANY_PINGS));
        bytes.extend(frame(0x6, 8));
        for chunk in 1..=bytes.len() {
            let mut scanner = FrameScanner::default();
            let found = bytes
                .chunks(chunk)
                .fold(false, |f, c| scanner.scan(c).too_many_pings | f);
            assert!(found, "chunks of {chunk}");
        }
    }

    #[test]
    fn other_goaways_and_lookalike_payloads_are_not_too_many_pings() {
        for bytes in [
            goaway(0x0, TOO_MANY_PINGS),
            goaway(ENHANCE_YOUR_CALM, b"too_many_pings_and_more"),
            goaway(ENHANCE_YOUR_CALM, b""),
            // A DATA frame carrying the GOAWAY's bytes is no GOAWAY.
            {
                let inner = goaway(ENHANCE_YOUR_CALM, TOO_MANY_PINGS);
                let mut data = vec![0, 0, u8::try_from(inner.len()).unwrap(), 0x0, 0, 0, 0, 0, 1];
                data.extend(inner);
                data
            },
        ] {
            let mut scanner = FrameScanner::default();
            assert!(!scanner.scan(&bytes).too_many_pings);
        }
    }

    #[tokio::test]
    async fn the_wrapper_passes_bytes_through_and_sets_broken_on_goaway() {
        let (bytes, _) = conversation();
        let (client, mut server) = tokio::io::duplex(64);
        let broken = Arc::new(AtomicBool::new(false));
        let mut watch = ServerFrames::new(client, broken.clone(), None);
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
}
