//! A scriptable mock gRPC server for wire-level tests of the client: it sends
//! exactly the frames a test asks for and records what the client sent.
//!
//! Layer: test support, over the `h2` crate's *server* side and a tokio
//! `TcpListener` on `127.0.0.1:0`. It owns one tokio runtime per
//! [`MockServer`] and every connection accepted on it. It implements no gRPC
//! logic of its own: a test script decides every HEADERS, DATA, trailers,
//! RST_STREAM and GOAWAY, so a test reads as a conversation (see
//! PROTOCOL-HTTP2 for what a well-behaved server would send instead).
//!
//! Two halves, two modes:
//! - `http2` ([`MockServer::start`]): HTTP/2 through h2. The mock reads each
//!   request (headers and the whole body, until the client half-closes),
//!   records it as a [`RecordedRequest`], and runs the script on a
//!   [`MockStream`].
//! - `raw` ([`MockServer::start_raw`]): raw TCP. The script gets each
//!   accepted connection as a [`RawConn`] and writes whatever bytes it
//!   likes, with frame builders ([`settings_frame`], [`goaway_frame`],
//!   [`headers_frame`], ...) for a hand-made HTTP/2 conversation.
//!   [`RawConn::serve_h2`] turns a raw connection back into the HTTP/2
//!   mode, so a test can misbehave on the first connection and behave on
//!   the next.
//!
//! This file holds what both share: the server handle, the accept loop and
//! the log of what the client did.
//!
//! Invariants: a script returning never ends its stream (the stream stays as
//! the script left it until its connection closes), so what the client sees
//! is only what the script sent; RST_STREAM frames from the client are
//! recorded ([`MockServer::wait_for_reset`]) for as long as the connection
//! lives. Sending never fails loudly: if the client already went away, the
//! frame is dropped with a note on stderr, as the test asserts on what the
//! client saw.

mod http2;
mod raw;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ::h2::Reason;
use tokio::net::TcpListener;

pub use http2::{MockStream, RecordedRequest};
pub use raw::{
    PREFACE, RawConn, RawFrame, goaway_frame, goaway_frame_with_data, grpc_frame, grpc_prefix,
    headers_frame, raw_frame, settings_ack_frame, settings_frame, settings_with_initial_window,
    window_update_frame,
};

use crate::peer_runtime::PeerRuntime;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type ConnScript = Arc<dyn Fn(RawConn) -> BoxFuture + Send + Sync>;
type StreamScript = Arc<dyn Fn(MockStream) -> BoxFuture + Send + Sync>;

/// A running mock server: a TCP listener on `127.0.0.1` that runs a test's
/// script on every connection (raw mode) or every HTTP/2 stream.
///
/// The server runs on a tokio runtime owned by this handle, so plain
/// `#[test]` functions can use it. Dropping the handle closes the listener
/// and every connection.
pub struct MockServer {
    /// Runs the listener and every connection; dropping it closes them all.
    _runtime: PeerRuntime,
    addr: SocketAddr,
    log: Arc<Log>,
}

impl MockServer {
    /// Starts an HTTP/2 mock that runs `script` for each request stream,
    /// after reading the request's headers and whole body.
    ///
    /// ```no_run
    /// use switchboard_tests::mock::{MockServer, grpc_frame};
    ///
    /// let server = MockServer::start(|mut stream| async move {
    ///     stream.send_headers(200, &[("content-type", "application/grpc")]);
    ///     stream.send_data(grpc_frame(b""));
    ///     stream.send_trailers(&[("grpc-status", "0")]);
    /// });
    /// # drop(server);
    /// ```
    ///
    /// # Panics
    /// If the listener cannot be bound or the runtime cannot be built.
    pub fn start<F, Fut>(script: F) -> MockServer
    where
        F: Fn(MockStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script: StreamScript = Arc::new(move |stream| Box::pin(script(stream)));
        Self::start_raw(move |conn| http2::serve(conn, script.clone()))
    }

    /// Starts a raw-TCP mock that runs `script` for each accepted
    /// connection. Nothing is read or written unless the script does it.
    ///
    /// # Panics
    /// If the listener cannot be bound or the runtime cannot be built.
    pub fn start_raw<F, Fut>(script: F) -> MockServer
    where
        F: Fn(RawConn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script: ConnScript = Arc::new(move |conn| Box::pin(script(conn)));
        let runtime = PeerRuntime::new("mock-peer", 1).expect("build the mock peer's runtime");
        let listener = runtime
            .handle()
            .block_on(TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))))
            .expect("bind the mock peer to 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address of the mock");
        let log = Arc::new(Log::default());
        runtime
            .handle()
            .spawn(accept_loop(listener, script, log.clone()));
        MockServer {
            _runtime: runtime,
            addr,
            log,
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's URL, `http://127.0.0.1:PORT`, to build a channel with.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far (HTTP/2 mode), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().requests.clone()
    }

    /// How many TCP connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.log.lock().connections
    }

    /// Waits up to `timeout` until at least `n` TCP connections were
    /// accepted (woken by the accept loop, no polling); returns whether
    /// that happened.
    pub fn wait_for_connections(&self, n: usize, timeout: Duration) -> bool {
        self.log
            .wait_until(timeout, |state| (state.connections >= n).then_some(()))
            .is_some()
    }

    /// Waits up to `timeout` for the client to reset a stream (RST_STREAM)
    /// and returns the first reset's reason, or `None` if none came.
    pub fn wait_for_reset(&self, timeout: Duration) -> Option<Reason> {
        self.log
            .wait_until(timeout, |state| state.resets.first().copied())
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

async fn accept_loop(listener: TcpListener, script: ConnScript, log: Arc<Log>) {
    loop {
        let io = match listener.accept().await {
            Ok((io, _)) => io,
            Err(error) => {
                note(&format!("accept failed: {error}"));
                continue;
            }
        };
        let _ = io.set_nodelay(true);
        let index = {
            let mut state = log.lock();
            state.connections += 1;
            state.connections - 1
        };
        log.changed.notify_all();
        tokio::spawn(script(RawConn {
            io,
            index,
            log: log.clone(),
        }));
    }
}

/// What the server recorded, shared by its tasks and the test thread.
#[derive(Default)]
struct Log {
    state: Mutex<LogState>,
    changed: Condvar,
}

#[derive(Default)]
struct LogState {
    requests: Vec<RecordedRequest>,
    resets: Vec<Reason>,
    connections: usize,
}

impl Log {
    fn lock(&self) -> MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits up to `timeout` until `check` finds something.
    fn wait_until<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&LogState) -> Option<T>,
    ) -> Option<T> {
        let end = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(found) = check(&state) {
                return Some(found);
            }
            let left = end.checked_duration_since(Instant::now())?;
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Notes a failed mock action on stderr: the test asserts on the client.
fn note(message: &str) {
    eprintln!("mock peer: {message}");
}
