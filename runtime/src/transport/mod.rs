//! One HTTP/2 connection over tokio (layer: transport, below `call`).
//!
//! Owns connecting to one resolved [`Address`] (names are the resolver's
//! job): TCP with `TCP_NODELAY` and `SO_KEEPALIVE` (`keepalive`), or a Unix
//! socket (by path, or abstract on Linux), the h2 client
//! handshake with our window settings, and the task that drives the
//! connection until it ends. A connection counts as
//! established once the server's SETTINGS arrived (one PING round trip). It hands the channel
//! an [`H2Connection`] that calls open streams on, and tells it once, through
//! `on_closed`, when the connection is gone, and once, through
//! `on_going_away`, when it takes no new calls (the server sent GOAWAY, or a
//! call found it broken; `goaway`). With keepalive on (gRFC A8,
//! `keepalive`), a task per connection pings it when it goes quiet and has
//! the driver drop it when no answer comes.
//!
//! On a TLS connection the TLS session (`tls`) sits between the socket and
//! h2, and the connection's scheme is `https`; the plaintext path is
//! unchanged.
//!
//! Every failure says which step failed ([`Origin`]): opening the socket
//! (`Connect`), the TLS handshake (`Tls`),
//! or HTTP/2 on it (`Http2`);
//! the connect timeout is charged to the step it interrupted. The status
//! keeps the underlying error as its source (`transport::error`).
//!
//! It does not retry, back off or choose among connections: that is the
//! channel's job.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http::uri::{Authority, Scheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::status::{Origin, Status};
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::wake_batch;
use error::{status_from_connect, status_from_h2_owned};
use frames::ServerFrames;
use goaway::GoingAway;
use keepalive::{KeepalivePolicy, KillSwitch, Liveness};
use window::StalledStreams;

mod connection;
pub(crate) mod error;
mod frames;
mod goaway;
pub(crate) mod keepalive;
mod source;
pub(crate) mod tls;
pub(crate) mod window;

pub(crate) use crate::address::Address;
pub(crate) use connection::{CallClaim, ConnectionShared, H2Connection};
pub(crate) use source::{ConnectionSource, unprocessed};
pub use tls::TlsConfig;
pub(crate) use tls::TlsConnector;

/// How long a new connection waits for the server's SETTINGS (see
/// `handshake`) before it is used anyway.
const SETTINGS_WAIT: Duration = Duration::from_secs(1);

/// HTTP/2 settings for a new connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnectSettings {
    pub(crate) user_agent: HeaderValue,
    /// The `:authority` calls send: the builder's, else the target's
    /// (also the TLS name unless the TLS settings name another).
    pub(crate) authority: Authority,
    pub(crate) stream_window: u32,
    pub(crate) connection_window: u32,
    /// HTTP/2 keepalive (gRFC A8), shared by the channel's connections;
    /// `None`: off.
    pub(crate) keepalive: Option<Arc<KeepalivePolicy>>,
    /// TCP keepalive idle time (`SO_KEEPALIVE`); `None`: off.
    pub(crate) tcp_keepalive: Option<Duration>,
    /// TLS between the socket and HTTP/2; `None`: plaintext.
    pub(crate) tls: Option<TlsConnector>,
}

/// What a connection tells its channel, and where its retried calls get
/// their next connection.
pub(crate) struct ConnectionHooks {
    /// Runs once, on the runtime, when the connection ends.
    pub(crate) on_closed: Box<dyn FnOnce(Status) + Send>,
    /// Runs at most once before that, when the connection can take no new
    /// calls (a GOAWAY arrived) while its calls go on.
    pub(crate) on_going_away: Box<dyn FnOnce() + Send>,
    /// Where a call the server did not process is sent again; `None`
    /// disables transparent retry.
    pub(crate) source: Option<Arc<dyn ConnectionSource>>,
}

/// Connects to `target` and starts driving the connection on `runtime`,
/// telling the channel what happens to it through `hooks`.
///
/// The whole attempt (resolve, connect, TLS, handshake) is bounded by
/// `timeout`; running out of it fails with the origin of the step it
/// interrupted.
pub(crate) async fn connect(
    target: &Address,
    settings: &ConnectSettings,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
    hooks: ConnectionHooks,
) -> Result<H2Connection, Status> {
    let limit = AttemptLimit {
        deadline: Instant::now().checked_add(timeout),
        timeout,
        target,
    };
    match target {
        Address::Tcp(addr) => {
            let stream = limit
                .run(Origin::Connect, connect_tcp(*addr, settings.tcp_keepalive))
                .await?;
            finish(stream, settings, &limit, runtime, hooks).await
        }
        Address::Unix(path) => {
            let stream = limit
                .run(Origin::Connect, connect_unix(path, target))
                .await?;
            finish(stream, settings, &limit, runtime, hooks).await
        }
        Address::UnixAbstract(name) => {
            let stream = limit
                .run(Origin::Connect, connect_unix_abstract(name, target))
                .await?;
            finish(stream, settings, &limit, runtime, hooks).await
        }
    }
}

/// The rest of an attempt over a connected socket: TLS if set, then the
/// HTTP/2 handshake.
async fn finish<T>(
    stream: T,
    settings: &ConnectSettings,
    limit: &AttemptLimit<'_>,
    runtime: tokio::runtime::Handle,
    hooks: ConnectionHooks,
) -> Result<H2Connection, Status>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if let Some(tls) = &settings.tls {
        return connect_tls(stream, tls, limit, settings, runtime, hooks).await;
    }
    let handshake = handshake(stream, settings, Scheme::HTTP, limit.target, runtime, hooks);
    limit.run(Origin::Http2, handshake).await
}

/// The TLS handshake over `stream`, then HTTP/2 over TLS (scheme `https`).
/// An HTTP/2 step that failed because of TLS (a refused client certificate
/// shows up at the first read) fails as TLS.
#[cfg(feature = "tls")]
async fn connect_tls<T>(
    stream: T,
    tls: &TlsConnector,
    limit: &AttemptLimit<'_>,
    settings: &ConnectSettings,
    runtime: tokio::runtime::Handle,
    hooks: ConnectionHooks,
) -> Result<H2Connection, Status>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let target = limit.target;
    let stream = limit
        .run(Origin::Tls, tls::connect(stream, tls, target))
        .await?;
    let seen = stream.seen();
    let handshake = handshake(stream, settings, Scheme::HTTPS, target, runtime, hooks);
    limit
        .run(Origin::Http2, handshake)
        .await
        .map_err(|status| tls::reclassify(status, &seen, target, tls))
}

/// Without a TLS feature there is no [`TlsConnector`] to call this with.
#[cfg(not(feature = "tls"))]
async fn connect_tls<T>(
    _: T,
    tls: &TlsConnector,
    _: &AttemptLimit<'_>,
    _: &ConnectSettings,
    _: tokio::runtime::Handle,
    _: ConnectionHooks,
) -> Result<H2Connection, Status> {
    match *tls {}
}

/// The connect timeout of one attempt, shared by its steps.
struct AttemptLimit<'a> {
    /// `None` if `timeout` reaches past what the clock can represent.
    deadline: Option<Instant>,
    timeout: Duration,
    target: &'a Address,
}

impl AttemptLimit<'_> {
    /// Runs one step of the attempt; if the attempt's time runs out first,
    /// fails with UNAVAILABLE, the step's `origin`, and a `TimedOut` I/O
    /// error as the source.
    async fn run<T>(
        &self,
        origin: Origin,
        step: impl Future<Output = Result<T, Status>>,
    ) -> Result<T, Status> {
        let Some(deadline) = self.deadline else {
            return step.await;
        };
        match tokio::time::timeout_at(deadline, step).await {
            Ok(result) => result,
            Err(_) => {
                let after = format!("timed out after {:.3}s", self.timeout.as_secs_f64());
                let source = std::io::Error::new(std::io::ErrorKind::TimedOut, after.clone());
                Err(
                    Status::unavailable(format!("failed to connect to {}: {after}", self.target))
                        .with_origin(origin)
                        .with_source(source),
                )
            }
        }
    }
}

/// Connects to `addr` with `TCP_NODELAY` and TCP keepalive
/// (`tcp_keepalive`, if set); fails with origin [`Origin::Connect`].
async fn connect_tcp(
    addr: SocketAddr,
    tcp_keepalive: Option<Duration>,
) -> Result<TcpStream, Status> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| status_from_connect(&e, &addr.to_string()))?;
    stream
        .set_nodelay(true)
        .and_then(|()| keepalive::set_tcp_keepalive(&stream, tcp_keepalive))
        .map_err(|e| status_from_connect(&e, &addr.to_string()))?;
    Ok(stream)
}

/// Connects to the abstract Unix socket `name` (Linux only).
#[cfg(target_os = "linux")]
async fn connect_unix_abstract(
    name: &[u8],
    target: &Address,
) -> Result<tokio::net::UnixStream, Status> {
    use std::os::linux::net::SocketAddrExt;
    let fail = |e: std::io::Error| status_from_connect(&e, &target.to_string());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name).map_err(fail)?;
    // A Unix socket connects at once (or is refused): no wait on the
    // runtime's thread.
    let stream = std::os::unix::net::UnixStream::connect_addr(&addr).map_err(fail)?;
    stream.set_nonblocking(true).map_err(fail)?;
    tokio::net::UnixStream::from_std(stream).map_err(fail)
}

#[cfg(not(target_os = "linux"))]
async fn connect_unix_abstract(_: &[u8], target: &Address) -> Result<TcpStream, Status> {
    Err(Status::unavailable(format!(
        "{target}: abstract Unix sockets are only supported on Linux"
    ))
    .with_origin(Origin::Connect))
}

#[cfg(unix)]
async fn connect_unix(
    path: &std::path::Path,
    target: &Address,
) -> Result<tokio::net::UnixStream, Status> {
    tokio::net::UnixStream::connect(path)
        .await
        .map_err(|e| status_from_connect(&e, &target.to_string()))
}

#[cfg(not(unix))]
async fn connect_unix(_: &std::path::Path, target: &Address) -> Result<TcpStream, Status> {
    Err(Status::unavailable(format!(
        "{target}: Unix sockets are not supported on this platform"
    ))
    .with_origin(Origin::Connect))
}

async fn handshake<T>(
    io: T,
    settings: &ConnectSettings,
    scheme: Scheme,
    target: &Address,
    runtime: tokio::runtime::Handle,
    hooks: ConnectionHooks,
) -> Result<H2Connection, Status>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ConnectionHooks {
        on_closed,
        on_going_away,
        source,
    } = hooks;
    // Set on the server's GOAWAY (`goaway`), as it is read, or when a call
    // finds the connection taking no new streams.
    let broken = Arc::new(AtomicBool::new(false));
    let liveness = settings
        .keepalive
        .as_ref()
        .map(|policy| Arc::new(Liveness::new(policy.clone())));
    let io = ServerFrames::new(io, broken.clone(), liveness.clone());
    let (send, mut connection) = h2::client::Builder::new()
        .initial_window_size(settings.stream_window)
        .initial_connection_window_size(settings.connection_window)
        .enable_push(false)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(|e| status_from_h2_owned(e, &format!("HTTP/2 handshake with {target}")))?;
    let authority = settings.authority.clone();
    let ping_pong = connection.ping_pong();
    let mut going_away = GoingAway::new(broken.clone(), on_going_away);
    let broken_on_end = broken.clone();
    let stalled = Arc::new(StalledStreams::new(
        settings.connection_window,
        settings.stream_window,
    ));
    let window = stalled.clone();
    let label = target.to_string();
    let (kill, mut killed) = match liveness {
        Some(_) => {
            let (kill, killed) = KillSwitch::new();
            (Some(kill), killed)
        }
        None => (None, KillSwitch::never()),
    };
    let driver = runtime.spawn(async move {
        let ended = std::future::poll_fn(|cx| {
            // Keepalive declared the connection dead: drop it (below).
            if let Poll::Ready(verdict) = killed.poll(cx) {
                return Poll::Ready(Err(verdict));
            }
            if let Some(target) = window.poll_target(cx) {
                tracing::debug!(target, "growing the connection window for stalled streams");
                connection.set_target_window_size(target);
            }
            let polled = wake_batch::batched(|| Pin::new(&mut connection).poll(cx));
            if polled.is_pending() {
                going_away.check();
            }
            polled.map(Ok)
        });
        let status = match ended.await {
            Ok(Ok(())) => Status::unavailable(format!("connection to {label} closed"))
                .with_origin(Origin::Http2),
            Ok(Err(e)) => status_from_h2_owned(e, &format!("connection to {label}")),
            Err(verdict) => verdict,
        };
        tracing::debug!(%status, "connection ended");
        broken_on_end.store(true, Ordering::Release);
        on_closed(status);
        // Dropping `connection` (at the end of this task) fails every
        // stream still open (h2: "broken pipe"); after a keepalive verdict,
        // calls report the verdict (`ConnectionShared::stream_failure`).
    });
    // The server's SETTINGS (its stream limit above all) come before its
    // answer to our PING: wait for them, so the first calls do not open
    // more streams than the server allows and get REFUSED_STREAM. A peer
    // that never answers PING is not waited on for long.
    if let Some(mut ping_pong) = ping_pong {
        let pong_pending =
            match tokio::time::timeout(SETTINGS_WAIT, ping_pong.ping(h2::Ping::opaque())).await {
                Ok(Ok(_)) => false,
                Ok(Err(error)) => {
                    driver.abort();
                    let context = format!("waiting for the HTTP/2 settings of {target}");
                    return Err(status_from_h2_owned(error, &context));
                }
                Err(_) => {
                    tracing::debug!(
                        "{target} did not answer PING within {SETTINGS_WAIT:?}; going ahead"
                    );
                    true
                }
            };
        // Keepalive takes over the PING handle.
        if let (Some(liveness), Some(kill)) = (&liveness, kill) {
            let task = keepalive::run(
                liveness.clone(),
                ping_pong,
                pong_pending,
                kill,
                target.to_string(),
            );
            runtime.spawn(task);
        }
    }
    // Read once, after the SETTINGS wait: servers set it at the start.
    let max_streams = send.current_max_send_streams();
    Ok(H2Connection {
        send,
        shared: Arc::new(ConnectionShared {
            runtime,
            scheme,
            authority,
            user_agent: settings.user_agent.clone(),
            broken,
            stalled,
            source,
            liveness,
            calls: AtomicUsize::new(0),
            max_streams,
        }),
    })
}

#[cfg(all(test, not(switchboard_loom)))]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn a_step_cut_short_by_the_connect_timeout_fails_with_its_origin() {
        let target = Address::Tcp(([192, 0, 2, 1], 1).into());
        // The deadline has passed and the step never finishes: the first
        // poll of the timer reports the timeout.
        let limit = AttemptLimit {
            deadline: Some(Instant::now()),
            timeout: Duration::ZERO,
            target: &target,
        };
        for origin in [Origin::Resolve, Origin::Connect, Origin::Http2] {
            let step = std::future::pending::<Result<(), Status>>();
            let status = runtime().block_on(limit.run(origin, step)).unwrap_err();
            assert_eq!(status.code(), crate::status::Code::Unavailable);
            assert_eq!(
                status.message(),
                "failed to connect to 192.0.2.1:1: timed out after 0.000s"
            );
            assert_eq!(status.origin(), origin);
            let io = status
                .source()
                .and_then(|s| s.downcast_ref::<std::io::Error>());
            assert_eq!(
                io.map(std::io::Error::kind),
                Some(std::io::ErrorKind::TimedOut)
            );
        }
    }

    #[test]
    fn tcp_connections_have_so_keepalive_unless_it_is_off() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            for (idle, on) in [(Some(Duration::from_secs(7200)), true), (None, false)] {
                let stream = connect_tcp(addr, idle).await.unwrap();
                let socket = socket2::SockRef::from(&stream);
                assert_eq!(socket.keepalive().unwrap(), on);
                assert!(socket.tcp_nodelay().unwrap());
            }
        });
    }

    #[test]
    fn a_step_within_the_limit_gives_its_own_result() {
        let target = Address::Unix("/nowhere".into());
        for deadline in [None, Instant::now().checked_add(Duration::from_secs(60))] {
            let limit = AttemptLimit {
                deadline,
                timeout: Duration::from_secs(60),
                target: &target,
            };
            let ok = runtime().block_on(limit.run(Origin::Connect, async { Ok::<_, Status>(7) }));
            assert_eq!(ok.unwrap(), 7);
            let failed = Status::internal("own").with_origin(Origin::Http2);
            let err = runtime()
                .block_on(limit.run(Origin::Connect, async { Err::<(), _>(failed) }))
                .unwrap_err();
            assert_eq!(err.message(), "own");
            assert_eq!(err.origin(), Origin::Http2);
        }
    }
}
