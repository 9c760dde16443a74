//! One HTTP/2 connection over tokio (layer: transport, below `call`).
//!
//! Owns connecting to a [`Address`]: name resolution, TCP with `TCP_NODELAY`
//! or a Unix socket, the h2 client handshake with our window settings, and
//! the task that drives the connection until it ends. A connection counts as
//! established once the server's SETTINGS arrived (one PING round trip). It hands the channel
//! an [`H2Connection`] that calls open streams on, and tells it once, through
//! `on_closed`, when the connection is gone.
//!
//! It does not retry, back off or choose among connections: that is the
//! channel's job.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http::uri::{Authority, Scheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::status::Status;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::wake_batch;
use error::{status_from_connect, status_from_h2};
use window::StalledStreams;

mod address;
mod connection;
pub(crate) mod error;
mod source;
pub(crate) mod window;

pub(crate) use address::Address;
pub(crate) use connection::{ConnectionShared, H2Connection};
pub(crate) use source::{ConnectionSource, unprocessed};

/// How long a new connection waits for the server's SETTINGS (see
/// `handshake`) before it is used anyway.
const SETTINGS_WAIT: Duration = Duration::from_secs(1);

/// HTTP/2 settings for a new connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnectSettings {
    pub(crate) user_agent: HeaderValue,
    /// The `:authority` to send instead of the target's host:port.
    pub(crate) authority: Option<Authority>,
    pub(crate) stream_window: u32,
    pub(crate) connection_window: u32,
}

/// Connects to `target` and starts driving the connection on `runtime`.
///
/// `on_closed` runs once, on the runtime, when the connection ends.
pub(crate) async fn connect(
    target: &Address,
    settings: &ConnectSettings,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
    on_closed: Box<dyn FnOnce(Status) + Send>,
    source: Option<Arc<dyn ConnectionSource>>,
) -> Result<H2Connection, Status> {
    let attempt = async {
        match target {
            Address::Tcp { host, port } => {
                let stream = connect_tcp(host, *port, target).await?;
                handshake(stream, settings, target, runtime.clone(), on_closed, source).await
            }
            Address::Unix(path) => {
                let stream = connect_unix(path, target).await?;
                handshake(stream, settings, target, runtime.clone(), on_closed, source).await
            }
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(Status::unavailable(format!(
            "failed to connect to {target}: timed out after {:.3}s",
            timeout.as_secs_f64()
        ))),
    }
}

async fn connect_tcp(host: &str, port: u16, target: &Address) -> Result<TcpStream, Status> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Status::unavailable(format!("failed to resolve {target}: {e}")))?;
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                stream
                    .set_nodelay(true)
                    .map_err(|e| status_from_connect(&e, &target.to_string()))?;
                return Ok(stream);
            }
            Err(e) => last_error = Some(status_from_connect(&e, &addr.to_string())),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        Status::unavailable(format!("failed to resolve {target}: no addresses"))
    }))
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
    )))
}

async fn handshake<T>(
    io: T,
    settings: &ConnectSettings,
    target: &Address,
    runtime: tokio::runtime::Handle,
    on_closed: Box<dyn FnOnce(Status) + Send>,
    source: Option<Arc<dyn ConnectionSource>>,
) -> Result<H2Connection, Status>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, mut connection) = h2::client::Builder::new()
        .initial_window_size(settings.stream_window)
        .initial_connection_window_size(settings.connection_window)
        .enable_push(false)
        .handshake::<T, Bytes>(io)
        .await
        .map_err(|e| status_from_h2(&e, &format!("HTTP/2 handshake with {target}")))?;
    let authority = match &settings.authority {
        Some(authority) => authority.clone(),
        None => Authority::try_from(target.authority())
            .map_err(|e| Status::internal(format!("invalid authority for {target}: {e}")))?,
    };
    let ping_pong = connection.ping_pong();
    let broken = Arc::new(AtomicBool::new(false));
    let broken_on_end = broken.clone();
    let stalled = Arc::new(StalledStreams::new(
        settings.connection_window,
        settings.stream_window,
    ));
    let window = stalled.clone();
    let label = target.to_string();
    let driver = runtime.spawn(async move {
        let ended = std::future::poll_fn(|cx| {
            if let Some(target) = window.poll_target(cx) {
                tracing::debug!(target, "growing the connection window for stalled streams");
                connection.set_target_window_size(target);
            }
            wake_batch::batched(|| Pin::new(&mut connection).poll(cx))
        });
        let status = match ended.await {
            Ok(()) => Status::unavailable(format!("connection to {label} closed")),
            Err(e) => status_from_h2(&e, &format!("connection to {label}")),
        };
        tracing::debug!(%status, "connection ended");
        broken_on_end.store(true, Ordering::Release);
        on_closed(status);
    });
    // The server's SETTINGS (its stream limit above all) come before its
    // answer to our PING: wait for them, so the first calls do not open
    // more streams than the server allows and get REFUSED_STREAM. A peer
    // that never answers PING is not waited on for long.
    if let Some(mut ping_pong) = ping_pong {
        match tokio::time::timeout(SETTINGS_WAIT, ping_pong.ping(h2::Ping::opaque())).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                driver.abort();
                let context = format!("waiting for the HTTP/2 settings of {target}");
                return Err(status_from_h2(&error, &context));
            }
            Err(_) => tracing::debug!(
                "{target} did not answer PING within {SETTINGS_WAIT:?}; going ahead"
            ),
        }
    }
    Ok(H2Connection {
        send,
        shared: Arc::new(ConnectionShared {
            runtime,
            scheme: Scheme::HTTP,
            authority,
            user_agent: settings.user_agent.clone(),
            broken,
            stalled,
            source,
        }),
    })
}
