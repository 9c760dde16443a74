//! [`InteropServer`]: the tonic peer running on a tokio runtime of its own,
//! so plain `#[test]` functions (and the `interop-peer` binary) can start
//! it, and dropping the handle stops it.
//!
//! The top layer of the tonic peer: it only wires [`test_service`] to a
//! TCP listener. Dropping the handle stops the server abruptly (the runtime
//! is shut down: no GOAWAY, in-flight calls are cut), like killing a real
//! server process; [`InteropServer::stop_gracefully`] stops it the way a
//! server is restarted on purpose (GOAWAY, in-flight calls finish), after
//! which [`InteropServer::start_on`] can serve the same port again.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;

use crate::pb::test_service_server::TestServiceServer;
use crate::service::TestServiceImpl;
use crate::wire::Wire;

/// How long stopping the server waits for its runtime's threads.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The interop `TestService` as a tonic service, ready for
/// `Server::add_service`: the handlers behind tonic's generated server
/// (which accepts gzip requests and never compresses by itself), behind
/// [`Wire`] (compressed-flag checks, per-message response compression,
/// metadata echo).
pub fn test_service() -> Wire<TestServiceServer<TestServiceImpl>> {
    Wire::new(TestServiceServer::new(TestServiceImpl).accept_compressed(CompressionEncoding::Gzip))
}

/// A running tonic interop server. Dropping it stops the server abruptly;
/// [`InteropServer::stop_gracefully`] stops it with a GOAWAY and a drain.
#[derive(Debug)]
pub struct InteropServer {
    runtime: Option<Runtime>,
    addr: SocketAddr,
    /// Fires tonic's shutdown signal (see [`InteropServer::stop_gracefully`]).
    shutdown: Option<oneshot::Sender<()>>,
    /// The task running tonic's server: it ends once every connection closed
    /// after the shutdown signal.
    serving: Option<JoinHandle<()>>,
}

/// Settings of an [`InteropServer`], for [`InteropServer::start_with`]; the
/// default is tonic's defaults (what [`InteropServer::start_on`] uses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerSettings {
    /// How long a connection may live before the server sends it a GOAWAY
    /// and drains it (tonic's `Server::max_connection_age`); `None`: forever.
    pub max_connection_age: Option<Duration>,
    /// How long a connection past its age may drain before it is closed
    /// (tonic's `Server::max_connection_age_grace`); `None`: no limit.
    pub max_connection_age_grace: Option<Duration>,
}

/// How a [`InteropServer::stop_gracefully`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GracefulStop {
    /// Every connection closed within the grace period. If not, the calls
    /// still running when it ended were cut, as by dropping the server.
    pub drained: bool,
    /// From the shutdown signal until the drain ended (or the grace period
    /// ran out).
    pub took: Duration,
}

impl InteropServer {
    /// Starts a server on `127.0.0.1` with a port chosen by the system.
    ///
    /// Returns once the socket is listening.
    ///
    /// # Panics
    /// If the socket cannot be bound or the runtime cannot be built; use
    /// [`InteropServer::start_on`] to handle that.
    pub fn start() -> InteropServer {
        match Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))) {
            Ok(server) => server,
            Err(error) => panic!("start the tonic interop peer on 127.0.0.1:0: {error}"),
        }
    }

    /// Starts a server on `addr` (port 0: chosen by the system).
    ///
    /// Returns once the socket is listening, or the error of binding it or
    /// building the runtime.
    pub fn start_on(addr: SocketAddr) -> io::Result<InteropServer> {
        Self::serve(addr, ServerSettings::default(), None)
    }

    /// Like [`InteropServer::start_on`], with the server configured by
    /// `settings`.
    pub fn start_with(addr: SocketAddr, settings: ServerSettings) -> io::Result<InteropServer> {
        Self::serve(addr, settings, None)
    }

    /// Starts a TLS server (ALPN `h2`) on `127.0.0.1` with a port chosen by
    /// the system, with the PEM certificate chain `cert_pem` and its key
    /// `key_pem`.
    ///
    /// # Panics
    /// If the socket cannot be bound, the runtime cannot be built or tonic
    /// refuses the certificate.
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> InteropServer {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        match Self::start_tls_on(addr, cert_pem, key_pem) {
            Ok(server) => server,
            Err(error) => panic!("start the TLS tonic interop peer on 127.0.0.1:0: {error}"),
        }
    }

    /// Like [`InteropServer::start_tls`], on `addr` (e.g. the address of a
    /// server that was stopped with [`InteropServer::stop_gracefully`]).
    pub fn start_tls_on(
        addr: SocketAddr,
        cert_pem: &str,
        key_pem: &str,
    ) -> io::Result<InteropServer> {
        let identity = tonic::transport::Identity::from_pem(cert_pem, key_pem);
        let tls = tonic::transport::ServerTlsConfig::new().identity(identity);
        Self::serve(addr, ServerSettings::default(), Some(tls))
    }

    fn serve(
        addr: SocketAddr,
        settings: ServerSettings,
        tls: Option<tonic::transport::ServerTlsConfig>,
    ) -> io::Result<InteropServer> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("interop-peer")
            .enable_all()
            .build()?;
        let listener = {
            let _enter = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let incoming = TcpListenerStream::new(listener).map(|conn| {
            if let Ok(stream) = &conn {
                let _ = stream.set_nodelay(true);
            }
            conn
        });
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls).map_err(io::Error::other)?;
        }
        if let Some(age) = settings.max_connection_age {
            builder = builder.max_connection_age(age);
        }
        if let Some(grace) = settings.max_connection_age_grace {
            builder = builder.max_connection_age_grace(grace);
        }
        let router = builder.add_service(test_service());
        let (shutdown, signal) = oneshot::channel::<()>();
        let serving = runtime.spawn(async move {
            // A dropped sender fires the signal as well; `Drop` shuts the
            // runtime down before that can matter.
            let signal = async {
                let _ = signal.await;
            };
            if let Err(error) = router.serve_with_incoming_shutdown(incoming, signal).await {
                eprintln!("tonic interop peer on {addr} stopped: {error}");
            }
        });
        Ok(InteropServer {
            runtime: Some(runtime),
            addr,
            shutdown: Some(shutdown),
            serving: Some(serving),
        })
    }

    /// Stops the server gracefully, as tonic's `serve_with_incoming_shutdown`
    /// does when its signal fires: the listening socket is closed at once
    /// (new connection attempts are refused), every open connection gets an
    /// HTTP/2 GOAWAY (h2's graceful form: a first GOAWAY with the largest
    /// stream id and a PING, then the final one with the last stream id the
    /// server took), calls the server took run to completion, and each
    /// connection closes when its last call is done.
    ///
    /// Returns once every connection closed, or when `grace` has passed;
    /// then the server is stopped like a drop (calls still running are cut).
    /// Either way the port is free when this returns, for
    /// [`InteropServer::start_on`] with [`InteropServer::addr`].
    pub fn stop_gracefully(mut self, grace: Duration) -> GracefulStop {
        let (Some(runtime), Some(shutdown), Some(serving)) = (
            self.runtime.take(),
            self.shutdown.take(),
            self.serving.take(),
        ) else {
            // Unreachable: only `Drop` takes these.
            return GracefulStop {
                drained: false,
                took: Duration::ZERO,
            };
        };
        // On a plain thread, like `Drop`: the caller may be inside a runtime.
        let stopper = std::thread::spawn(move || {
            let started = Instant::now();
            let _ = shutdown.send(());
            let drained = runtime.block_on(async {
                matches!(tokio::time::timeout(grace, serving).await, Ok(Ok(())))
            });
            let took = started.elapsed();
            runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
            GracefulStop { drained, took }
        });
        stopper.join().unwrap_or(GracefulStop {
            drained: false,
            took: grace,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The server's URL, `http://ADDR:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for InteropServer {
    /// Stops the server abruptly: listener and connections are closed.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // A runtime must not be shut down from inside another one, and
            // the owner may be an async test: shut it down on a plain thread.
            let stopper = std::thread::spawn(move || runtime.shutdown_timeout(SHUTDOWN_TIMEOUT));
            let _ = stopper.join();
        }
    }
}
