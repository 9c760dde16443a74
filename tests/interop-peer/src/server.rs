//! [`InteropServer`]: the tonic peer running on a tokio runtime of its own,
//! so plain `#[test]` functions (and the `interop-peer` binary) can start
//! it, and dropping the handle stops it.
//!
//! The top layer of the tonic peer: it only wires [`test_service`] to a
//! TCP listener. Stopping is abrupt (the runtime is shut down: no GOAWAY,
//! in-flight calls are cut), like killing a real server process.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use tokio::runtime::Runtime;
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

/// A running tonic interop server. Dropping it stops the server.
#[derive(Debug)]
pub struct InteropServer {
    runtime: Option<Runtime>,
    addr: SocketAddr,
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
        let router = Server::builder().add_service(test_service());
        runtime.spawn(async move {
            if let Err(error) = router.serve_with_incoming(incoming).await {
                eprintln!("tonic interop peer on {addr} stopped: {error}");
            }
        });
        Ok(InteropServer {
            runtime: Some(runtime),
            addr,
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
