//! Keepalive (gRFC A8) and TCP keepalive for one connection (layer:
//! transport).
//!
//! Owns:
//! - [`KeepalivePolicy`]: a channel's keepalive settings, shared by all its
//!   connections; its keepalive time doubles when a server says
//!   `too_many_pings` (A8), for that channel's later connections.
//! - [`Liveness`]: what one connection's parts share about it: when bytes
//!   last arrived, how many calls have a stream open ([`ActiveStream`]), and
//!   the verdict once keepalive declared the connection dead.
//! - [`Activity`]: the I/O wrapper under h2 that records reads and spots a
//!   GOAWAY `ENHANCE_YOUR_CALM` with debug data `too_many_pings` in the
//!   bytes h2 reads (h2 keeps a GOAWAY's debug data to itself, and a
//!   connection that then hits EOF reports only the I/O error).
//! - [`run`]: the keepalive task of one connection. After `keepalive_time`
//!   with nothing read (as grpc-java: the timer restarts at every read)
//!   and while a call has a stream open (or always, with
//!   `permit_without_calls`), it sends an HTTP/2 PING through h2's
//!   `PingPong`; if neither the PING ACK nor any other byte arrives within
//!   `keepalive_timeout`, it records the verdict and tells the connection's
//!   driver ([`KillSwitch`]), which drops the h2 connection: every stream
//!   fails at once, and each call reports the verdict (UNAVAILABLE,
//!   "keepalive timeout"; see `ConnectionShared::stream_failure`).
//! - [`set_tcp_keepalive`]: `SO_KEEPALIVE` and the idle time on a socket.
//!
//! Nothing here runs when keepalive is off, except `SO_KEEPALIVE`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::status::{Origin, Status};
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The GOAWAY debug data by which a server says the client pings too often.
const TOO_MANY_PINGS: &[u8] = b"too_many_pings";

/// HTTP/2's GOAWAY frame type.
const GOAWAY: u8 = 0x7;

/// HTTP/2's ENHANCE_YOUR_CALM error code.
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// A channel's keepalive settings, shared by all its connections.
#[derive(Debug)]
pub(crate) struct KeepalivePolicy {
    /// The keepalive time in nanoseconds (saturating): doubled on
    /// `too_many_pings`.
    time_nanos: AtomicU64,
    /// How long a PING may go unanswered.
    timeout: Duration,
    /// Ping even with no call on the connection.
    permit_without_calls: bool,
}

impl KeepalivePolicy {
    /// A policy pinging after `time` without reads, waiting `timeout` for
    /// an answer.
    pub(crate) fn new(time: Duration, timeout: Duration, permit_without_calls: bool) -> Self {
        KeepalivePolicy {
            time_nanos: AtomicU64::new(u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)),
            timeout,
            permit_without_calls,
        }
    }

    /// The current keepalive time.
    pub(crate) fn time(&self) -> Duration {
        Duration::from_nanos(self.time_nanos.load(Ordering::Relaxed))
    }

    /// A server said `too_many_pings`: the keepalive time doubles (A8).
    pub(crate) fn too_many_pings(&self) {
        let doubled = self.time().saturating_mul(2);
        let nanos = u64::try_from(doubled.as_nanos()).unwrap_or(u64::MAX);
        self.time_nanos.store(nanos, Ordering::Relaxed);
        tracing::warn!(
            keepalive_time = ?doubled,
            "server sent GOAWAY too_many_pings; doubling the keepalive time"
        );
    }
}

/// What one connection's parts (the I/O wrapper, the calls, the keepalive
/// task) share about whether it is alive.
pub(crate) struct Liveness {
    /// When the connection started; reads are timed from here.
    start: Instant,
    /// Nanoseconds from `start` to the last read that returned bytes.
    last_read: AtomicU64,
    /// Streams of calls open on the connection.
    streams: AtomicUsize,
    /// Why keepalive declared the connection dead, once it did.
    verdict: OnceLock<Status>,
    /// Whose time doubles on `too_many_pings`.
    policy: Arc<KeepalivePolicy>,
}

impl Liveness {
    /// The liveness of a connection starting now under `policy`.
    pub(crate) fn new(policy: Arc<KeepalivePolicy>) -> Self {
        Liveness {
            start: Instant::now(),
            last_read: AtomicU64::new(0),
            streams: AtomicUsize::new(0),
            verdict: OnceLock::new(),
            policy,
        }
    }

    /// A call opened a stream; it counts until the guard drops.
    pub(crate) fn stream_opened(self: &Arc<Self>) -> ActiveStream {
        self.streams.fetch_add(1, Ordering::Relaxed);
        ActiveStream(self.clone())
    }

    /// When bytes were last read.
    fn last_read(&self) -> Instant {
        self.start + Duration::from_nanos(self.last_read.load(Ordering::Relaxed))
    }

    fn record_read(&self) {
        let since = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_read.fetch_max(since, Ordering::Relaxed);
    }

    /// Why keepalive declared the connection dead, once it did.
    pub(crate) fn verdict(&self) -> Option<&Status> {
        self.verdict.get()
    }
}

/// A call's open stream, counted on its connection's [`Liveness`] while
/// held.
pub(crate) struct ActiveStream(Arc<Liveness>);

impl Drop for ActiveStream {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The connection's I/O under h2: with keepalive on, records every read
/// that returned bytes and reads the frame headers to spot a GOAWAY
/// `too_many_pings`; with keepalive off, passes everything through.
pub(crate) struct Activity<T> {
    io: T,
    watch: Option<(Arc<Liveness>, FrameScanner)>,
}

impl<T> Activity<T> {
    /// Wraps `io`; `liveness` is `None` with keepalive off.
    pub(crate) fn new(io: T, liveness: Option<Arc<Liveness>>) -> Self {
        Activity {
            io,
            watch: liveness.map(|l| (l, FrameScanner::default())),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Activity<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some((liveness, scanner))) = (&result, &mut this.watch) {
            let read = &buf.filled()[before..];
            if !read.is_empty() {
                liveness.record_read();
                if scanner.scan(read) {
                    liveness.policy.too_many_pings();
                }
            }
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Activity<T> {
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
        bufs: &[std::io::IoSlice<'_>],
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

/// Follows the frames in the bytes a client reads (the server sends no
/// preface, only frames) and keeps the payload of GOAWAY frames, up to
/// what `too_many_pings` needs.
#[derive(Default)]
struct FrameScanner {
    /// The header of the frame being read, while incomplete: its first
    /// `header_len` bytes.
    header: [u8; 9],
    header_len: usize,
    /// Payload bytes of the current frame still to come.
    remaining: usize,
    /// The current frame is a GOAWAY as long as one saying
    /// `too_many_pings`: its payload so far.
    goaway: Option<Vec<u8>>,
}

impl FrameScanner {
    /// The length of a GOAWAY payload saying `too_many_pings`: last
    /// stream id, code, debug data.
    const GOAWAY_KEPT: usize = 8 + TOO_MANY_PINGS.len();

    /// Scans `bytes`; whether they completed a GOAWAY ENHANCE_YOUR_CALM
    /// with debug data `too_many_pings`.
    fn scan(&mut self, mut bytes: &[u8]) -> bool {
        let mut found = false;
        while !bytes.is_empty() {
            if self.remaining == 0 && self.goaway.is_none() {
                let take = (9 - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + take]
                    .copy_from_slice(&bytes[..take]);
                self.header_len += take;
                bytes = &bytes[take..];
                if self.header_len < 9 {
                    break;
                }
                self.header_len = 0;
                let h = self.header;
                self.remaining =
                    usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
                // Only a GOAWAY of exactly the right length can say it.
                if h[3] == GOAWAY && self.remaining == Self::GOAWAY_KEPT {
                    self.goaway = Some(Vec::new());
                }
            }
            let take = self.remaining.min(bytes.len());
            if let Some(payload) = self.goaway.as_mut() {
                payload.extend_from_slice(&bytes[..take]);
            }
            bytes = &bytes[take..];
            self.remaining -= take;
            if self.remaining == 0
                && let Some(payload) = self.goaway.take()
            {
                found |= is_too_many_pings(&payload);
            }
        }
        found
    }
}

/// Whether a GOAWAY payload (last stream id, error code, debug data) says
/// `too_many_pings` with ENHANCE_YOUR_CALM.
fn is_too_many_pings(payload: &[u8]) -> bool {
    payload.len() >= 8
        && u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]) == ENHANCE_YOUR_CALM
        && &payload[8..] == TOO_MANY_PINGS
}

/// The connection driver's side of keepalive: resolves with the verdict
/// when the keepalive task declares the connection dead; pending forever
/// with keepalive off, or once the task ended without a verdict.
pub(crate) struct KillSwitch(Option<oneshot::Receiver<Status>>);

impl KillSwitch {
    /// A switch nobody can pull (keepalive off).
    pub(crate) fn never() -> Self {
        KillSwitch(None)
    }

    /// A switch and the sender the keepalive task pulls it with.
    pub(crate) fn new() -> (oneshot::Sender<Status>, Self) {
        let (sender, receiver) = oneshot::channel();
        (sender, KillSwitch(Some(receiver)))
    }

    /// Ready with the verdict once pulled.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Status> {
        let Some(receiver) = self.0.as_mut() else {
            return Poll::Pending;
        };
        match Pin::new(receiver).poll(cx) {
            Poll::Ready(Ok(verdict)) => Poll::Ready(verdict),
            Poll::Ready(Err(_)) => {
                self.0 = None;
                Poll::Pending
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One connection's keepalive task (see the module docs). `pong_pending`:
/// the handshake's PING is still unanswered (h2 allows one at a time).
/// Ends when the connection does (the driver drops its [`KillSwitch`] or
/// h2 fails the PING), or after pulling `kill`.
pub(crate) async fn run(
    liveness: Arc<Liveness>,
    mut ping_pong: h2::PingPong,
    mut pong_pending: bool,
    mut kill: oneshot::Sender<Status>,
    label: String,
) {
    let policy = liveness.policy.clone();
    // When the quiet stretch being timed started (a read, a pong, or a
    // check that found no call to keep alive).
    let mut quiet_since = liveness.last_read().max(Instant::now());
    loop {
        let time = policy.time();
        let wake_at = quiet_since.checked_add(time);
        if !wait(&mut kill, wake_at, None).await.is_timeout() {
            return;
        }
        let last_read = liveness.last_read();
        if last_read > quiet_since {
            quiet_since = last_read;
            continue;
        }
        if !policy.permit_without_calls && liveness.streams.load(Ordering::Relaxed) == 0 {
            quiet_since = Instant::now();
            continue;
        }
        if !pong_pending {
            if ping_pong.send_ping(h2::Ping::opaque()).is_err() {
                return;
            }
            pong_pending = true;
        }
        let sent = Instant::now();
        tracing::trace!(%label, "keepalive PING sent");
        match wait(
            &mut kill,
            sent.checked_add(policy.timeout),
            Some(&mut ping_pong),
        )
        .await
        {
            Waited::Stopped => return,
            Waited::Pong => {
                pong_pending = false;
                quiet_since = Instant::now().max(liveness.last_read());
            }
            Waited::Timeout if liveness.last_read() > sent => {
                // No ACK yet, but the peer is sending: alive.
                quiet_since = liveness.last_read();
            }
            Waited::Timeout => {
                let verdict = Status::unavailable(format!(
                    "keepalive timeout: no PING ACK from {label} within {:?}; the connection is likely gone",
                    policy.timeout
                ))
                .with_origin(Origin::Http2);
                tracing::debug!(%verdict, "closing the connection");
                let _ = liveness.verdict.set(verdict.clone());
                let _ = kill.send(verdict);
                return;
            }
        }
    }
}

/// How a wait of the keepalive task ended.
enum Waited {
    /// The time came.
    Timeout,
    /// The PING ACK came.
    Pong,
    /// The connection ended (or h2 failed the PING).
    Stopped,
}

impl Waited {
    fn is_timeout(&self) -> bool {
        matches!(self, Waited::Timeout)
    }
}

/// Waits until `until` (forever if `None`), for the PING ACK if `pong` is
/// given, and for the connection's end (the driver dropped the switch).
async fn wait(
    kill: &mut oneshot::Sender<Status>,
    until: Option<Instant>,
    mut pong: Option<&mut h2::PingPong>,
) -> Waited {
    let mut sleep = until.map(|at| Box::pin(tokio::time::sleep_until(at)));
    std::future::poll_fn(|cx| {
        if kill.poll_closed(cx).is_ready() {
            return Poll::Ready(Waited::Stopped);
        }
        if let Some(ping_pong) = pong.as_deref_mut() {
            match ping_pong.poll_pong(cx) {
                Poll::Ready(Ok(_)) => return Poll::Ready(Waited::Pong),
                Poll::Ready(Err(_)) => return Poll::Ready(Waited::Stopped),
                Poll::Pending => {}
            }
        }
        match sleep.as_mut() {
            Some(sleep) => sleep.as_mut().poll(cx).map(|()| Waited::Timeout),
            None => Poll::Pending,
        }
    })
    .await
}

/// Turns on `SO_KEEPALIVE` on `stream` with `idle` before the first probe;
/// `None` leaves the socket as it is.
pub(crate) fn set_tcp_keepalive(
    stream: &tokio::net::TcpStream,
    idle: Option<Duration>,
) -> std::io::Result<()> {
    let Some(idle) = idle else {
        return Ok(());
    };
    let keepalive = socket2::TcpKeepalive::new().with_time(idle);
    socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive)
}

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use super::*;

    fn goaway(code: u32, debug: &[u8]) -> Vec<u8> {
        let len = 8 + debug.len();
        let mut frame = vec![
            (len >> 16) as u8,
            (len >> 8) as u8,
            len as u8,
            GOAWAY,
            0,
            0,
            0,
            0,
            0,
        ];
        frame.extend_from_slice(&1u32.to_be_bytes());
        frame.extend_from_slice(&code.to_be_bytes());
        frame.extend_from_slice(debug);
        frame
    }

    fn ping() -> Vec<u8> {
        let mut frame = vec![0, 0, 8, 0x6, 0, 0, 0, 0, 0];
        frame.extend_from_slice(&[7; 8]);
        frame
    }

    #[test]
    fn the_scanner_finds_too_many_pings_across_reads_of_any_size() {
        let mut bytes = ping();
        bytes.extend(goaway(ENHANCE_YOUR_CALM, TOO_MANY_PINGS));
        bytes.extend(ping());
        for chunk in 1..=bytes.len() {
            let mut scanner = FrameScanner::default();
            let found = bytes.chunks(chunk).fold(false, |f, c| scanner.scan(c) | f);
            assert!(found, "chunks of {chunk}");
        }
    }

    #[test]
    fn the_scanner_ignores_other_goaways_and_lookalike_payloads() {
        for bytes in [
            goaway(0x0, TOO_MANY_PINGS),
            goaway(ENHANCE_YOUR_CALM, b"too_many_pings_and_more"),
            goaway(ENHANCE_YOUR_CALM, b""),
            // A DATA frame carrying the GOAWAY's bytes is no GOAWAY.
            {
                let inner = goaway(ENHANCE_YOUR_CALM, TOO_MANY_PINGS);
                let mut data = vec![0, 0, inner.len() as u8, 0x0, 0, 0, 0, 0, 1];
                data.extend(inner);
                data
            },
        ] {
            let mut scanner = FrameScanner::default();
            assert!(!scanner.scan(&bytes));
        }
    }

    #[test]
    fn too_many_pings_doubles_the_policy_time_and_saturates() {
        let policy =
            KeepalivePolicy::new(Duration::from_millis(100), Duration::from_secs(1), false);
        policy.too_many_pings();
        assert_eq!(policy.time(), Duration::from_millis(200));
        let huge = KeepalivePolicy::new(Duration::MAX, Duration::from_secs(1), false);
        huge.too_many_pings();
        assert_eq!(huge.time(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn tcp_keepalive_sets_so_keepalive_on_the_socket() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            for (idle, expected) in [(Some(Duration::from_secs(30)), true), (None, false)] {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                set_tcp_keepalive(&stream, idle).unwrap();
                assert_eq!(
                    socket2::SockRef::from(&stream).keepalive().unwrap(),
                    expected
                );
            }
        });
    }
}
