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
//!   Reads and a GOAWAY `too_many_pings` are noted by the I/O wrapper
//!   under h2 (`frames::ServerFrames`): h2 keeps a GOAWAY's debug data to
//!   itself, and a connection that then hits EOF reports only the I/O error.
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

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::status::{Origin, Status};
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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

    /// Bytes arrived (see `frames::ServerFrames`).
    pub(crate) fn record_read(&self) {
        let since = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_read.fetch_max(since, Ordering::Relaxed);
    }

    /// The server said `too_many_pings` (see `frames::ServerFrames`): the
    /// channel's keepalive time doubles.
    pub(crate) fn too_many_pings(&self) {
        self.policy.too_many_pings();
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
