//! [`TonicServer`]: a handle that runs the echo service on its own tokio
//! runtime, over TCP or a Unix socket, and stops it abruptly when dropped or
//! killed. Also [`free_port`] for tests where the server comes up later.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tonic::transport::server::Router;

use crate::peer::counters::{Counters, Counts};
use crate::peer::service::EchoServer;
use crate::peer_runtime::PeerRuntime;
use crate::tls::ServerTls;

/// A running tonic server of the `switchboard.test.Echo` service.
///
/// The server runs on a tokio multi-thread runtime (2 workers, unless
/// started with [`TonicServer::start_with_workers`]) owned by this handle,
/// so it can be used from plain `#[test]` functions as well as from async
/// tests. Dropping the handle stops the server like [`TonicServer::kill`].
#[derive(Debug)]
pub struct TonicServer {
    runtime: PeerRuntime,
    endpoint: Endpoint,
    counters: Counters,
}

/// Worker threads of a [`TonicServer`]'s runtime, unless
/// [`TonicServer::start_with_workers`] says otherwise.
const WORKERS: usize = 2;

/// Settings of a [`TonicServer`], for [`TonicServer::start_with`]. The
/// default is what [`TonicServer::start`] uses: tonic's defaults.
#[derive(Default, Clone, Debug)]
pub struct ServerOptions {
    /// The HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` the server announces and
    /// enforces per connection (tonic's `Server::max_concurrent_streams`).
    /// `None`: no limit.
    pub max_concurrent_streams: Option<u32>,
}

/// Where a [`TonicServer`] listens.
#[derive(Debug)]
enum Endpoint {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl TonicServer {
    /// Starts a server on `127.0.0.1` with a port chosen by the system.
    ///
    /// Returns once the socket is listening: connections made after this
    /// returns are accepted.
    ///
    /// # Panics
    /// If the socket cannot be bound or the runtime cannot be built.
    pub fn start() -> TonicServer {
        Self::start_with(ServerOptions::default())
    }

    /// Like [`TonicServer::start`], with the settings in `options`.
    ///
    /// # Panics
    /// If the socket cannot be bound or the runtime cannot be built.
    pub fn start_with(options: ServerOptions) -> TonicServer {
        Self::start_with_workers(options, WORKERS)
    }

    /// Like [`TonicServer::start_with`], on a runtime of `workers` worker
    /// threads instead of 2 (the benchmark compares server settings).
    ///
    /// # Panics
    /// If the socket cannot be bound or the runtime cannot be built.
    pub fn start_with_workers(options: ServerOptions, workers: usize) -> TonicServer {
        Self::bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            &options,
            None,
            workers,
        )
        .expect("bind the tonic peer to 127.0.0.1:0")
    }

    /// Like [`TonicServer::start`], serving TLS (ALPN `h2`) with `tls`;
    /// see [`crate::tls`] for the test certificates. Connect with
    /// [`TonicServer::https_url`].
    ///
    /// # Panics
    /// If the socket cannot be bound, the runtime cannot be built or tonic
    /// refuses the TLS settings.
    pub fn start_tls(tls: ServerTls) -> TonicServer {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::bind(addr, &ServerOptions::default(), Some(&tls), WORKERS)
            .expect("bind the TLS tonic peer to 127.0.0.1:0")
    }

    /// Starts a server on `addr`, e.g. one reserved earlier with [`free_port`].
    ///
    /// Returns once the socket is listening, or the error of binding it.
    pub fn start_on(addr: SocketAddr) -> io::Result<TonicServer> {
        Self::bind(addr, &ServerOptions::default(), None, WORKERS)
    }

    fn bind(
        addr: SocketAddr,
        options: &ServerOptions,
        tls: Option<&ServerTls>,
        workers: usize,
    ) -> io::Result<TonicServer> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let runtime = PeerRuntime::new("tonic-peer", workers)?;
        let listener = {
            let _enter = runtime.handle().enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let incoming = TcpListenerStream::new(listener).map(|conn| {
            if let Ok(stream) = &conn {
                // Loopback latency tests must not wait on Nagle's algorithm.
                let _ = stream.set_nodelay(true);
            }
            conn
        });
        let counters = Counters::default();
        let router = match tls {
            None => router(&counters, options),
            Some(tls) => Server::builder()
                .tls_config(tls.tonic())
                .map_err(io::Error::other)?
                .max_concurrent_streams(options.max_concurrent_streams)
                .add_service(EchoServer::new(counters.clone())),
        };
        runtime.handle().spawn(async move {
            if let Err(error) = router.serve_with_incoming(incoming).await {
                eprintln!("tonic peer on {local_addr} stopped: {error}");
            }
        });
        Ok(TonicServer {
            runtime,
            endpoint: Endpoint::Tcp(local_addr),
            counters,
        })
    }

    /// Starts a server on the Unix socket `path`, which must not exist yet.
    /// The socket file is removed when the server stops.
    ///
    /// # Panics
    /// If the socket cannot be bound or the runtime cannot be built.
    #[cfg(unix)]
    pub fn start_unix(path: &Path) -> TonicServer {
        let listener = std::os::unix::net::UnixListener::bind(path)
            .unwrap_or_else(|e| panic!("bind the tonic peer to {}: {e}", path.display()));
        listener
            .set_nonblocking(true)
            .expect("make the Unix listener non-blocking");
        let runtime =
            PeerRuntime::new("tonic-peer", WORKERS).expect("build the tonic peer's runtime");
        let listener = {
            let _enter = runtime.handle().enter();
            tokio::net::UnixListener::from_std(listener).expect("register the Unix listener")
        };
        let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
        let counters = Counters::default();
        let router = router(&counters, &ServerOptions::default());
        let shown = path.display().to_string();
        runtime.handle().spawn(async move {
            if let Err(error) = router.serve_with_incoming(incoming).await {
                eprintln!("tonic peer on {shown} stopped: {error}");
            }
        });
        TonicServer {
            runtime,
            endpoint: Endpoint::Unix(path.to_owned()),
            counters,
        }
    }

    /// The TCP address the server listens on.
    ///
    /// # Panics
    /// For a server on a Unix socket.
    pub fn addr(&self) -> SocketAddr {
        match &self.endpoint {
            Endpoint::Tcp(addr) => *addr,
            Endpoint::Unix(path) => panic!("the tonic peer listens on {}", path.display()),
        }
    }

    /// The path of the Unix socket the server listens on, if it is a Unix server.
    pub fn unix_path(&self) -> Option<&Path> {
        match &self.endpoint {
            Endpoint::Tcp(_) => None,
            Endpoint::Unix(path) => Some(path),
        }
    }

    /// The server's URL, `http://127.0.0.1:PORT`.
    ///
    /// # Panics
    /// For a server on a Unix socket.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The URL of a TLS server, `https://127.0.0.1:PORT` (the test server
    /// certificate lists that IP address).
    ///
    /// # Panics
    /// For a server on a Unix socket.
    pub fn https_url(&self) -> String {
        format!("https://{}", self.addr())
    }

    /// The call counters of the echo handler.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Waits until `cancelled() >= n`, bounded by `timeout`; returns whether
    /// it happened. Woken by the handlers (no polling); see
    /// [`TonicServer::wait_until_cancelled`] for the form that fails the
    /// test by itself.
    pub fn wait_for_cancelled(&self, n: u64, timeout: Duration) -> bool {
        self.counters.wait_within(timeout, |c| c.cancelled >= n)
    }

    /// Blocks until at least `n` calls were cancelled on the server (woken
    /// by the handlers, no polling) and returns the counts then.
    ///
    /// # Panics
    /// If that does not happen within [`crate::wait::WAIT_LIMIT`].
    pub fn wait_until_cancelled(&self, n: u64) -> Counts {
        self.counters
            .wait_for(&format!("{n} cancelled calls"), |c| c.cancelled >= n)
    }

    /// Blocks until at least `n` calls reached the handler (see
    /// [`Counters::calls`]) and returns the counts then.
    ///
    /// # Panics
    /// If that does not happen within [`crate::wait::WAIT_LIMIT`].
    pub fn wait_until_calls(&self, n: u64) -> Counts {
        self.counters
            .wait_for(&format!("{n} calls in the handler"), |c| c.calls >= n)
    }

    /// Blocks until at least `n` calls completed on the server and returns
    /// the counts then.
    ///
    /// # Panics
    /// If that does not happen within [`crate::wait::WAIT_LIMIT`].
    pub fn wait_until_completed(&self, n: u64) -> Counts {
        self.counters
            .wait_for(&format!("{n} completed calls"), |c| c.completed >= n)
    }

    /// Holds every handler after it counted its call, until
    /// [`TonicServer::release`]: see [`Counters::hold`]. For tests that need
    /// a call to stay in the server (instead of a slow handler).
    pub fn hold(&self) {
        self.counters.hold();
    }

    /// Lets held handlers go on: see [`Counters::release`].
    pub fn release(&self) {
        self.counters.release();
    }

    /// Kills the server abruptly: its runtime is shut down without a graceful
    /// drain (no GOAWAY), so the listener and every open connection are
    /// closed mid-call and in-flight handlers count as cancelled. Returns
    /// once the sockets are closed.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.runtime.stop();
        if let Endpoint::Unix(path) = &self.endpoint {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for TonicServer {
    /// Stops the server the same way as [`TonicServer::kill`].
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reserves a free loopback port: binds `127.0.0.1:0`, reads the port the
/// system chose and closes the listener again. Nothing listens there until
/// someone binds it, e.g. [`TonicServer::start_on`].
///
/// # Panics
/// If no port can be bound.
pub fn free_port() -> SocketAddr {
    let listener =
        TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local address of a bound listener")
}

fn router(counters: &Counters, options: &ServerOptions) -> Router {
    Server::builder()
        .max_concurrent_streams(options.max_concurrent_streams)
        .add_service(EchoServer::new(counters.clone()))
}
