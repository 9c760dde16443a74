//! Servers with a max connection age lose no call (issue 12).
//!
//! A server with a max connection age sends each connection a GOAWAY when
//! it reaches that age and closes it once its calls are done (or a grace
//! period ran out). Under steady load, the client must move its new calls
//! to a new connection as soon as the GOAWAY arrives, and let the calls in
//! flight finish on the old one: no call may fail.
//!
//! One switchboard [`Channel`] (default settings: fail-fast calls, default
//! backoff) and [`CALLERS`] threads making blocking unary `EmptyCall`s back
//! to back, for a fixed time, against the tonic `TestService`
//! (`Server::max_connection_age`; see [`start_tonic`] on its grace) and the
//! Python grpcio one (`grpc.max_connection_age_ms` and
//! `grpc.max_connection_age_grace_ms`). The client reaches the server
//! through a counting TCP proxy ([`CountingProxy`]), which counts the
//! connections the client made, whatever the peer.
//!
//! The default runs soak for [`SHORT`] (5 s, 500 ms age); the `*_soak`
//! tests (ignored by default; run them with `--ignored`) for [`LONG`]
//! (30 s). Each run prints the calls made, failed, and connections made.

use std::collections::BTreeMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard::prelude::*;
use switchboard::{Channel, Status};
use switchboard_interop_client::pb::Empty;
use switchboard_interop_client::pb::test_service_client::TestServiceBlockingStub;
use switchboard_interop_peer::python::PythonServer;
use switchboard_interop_peer::{InteropServer, ServerSettings};

/// Threads making calls at once.
const CALLERS: usize = 4;

/// The deadline of each call: a backstop, far longer than a call takes.
const CALL_DEADLINE: Duration = Duration::from_secs(10);

/// One run: how long the callers call, the server's max connection age and
/// its grace period.
struct Plan {
    soak: Duration,
    age: Duration,
    grace: Duration,
}

/// The default runs.
const SHORT: Plan = Plan {
    soak: Duration::from_secs(5),
    age: Duration::from_millis(500),
    grace: Duration::from_secs(5),
};

/// The soak runs (`--ignored`).
const LONG: Plan = Plan {
    soak: Duration::from_secs(30),
    age: Duration::from_millis(500),
    grace: Duration::from_secs(5),
};

/// The tonic peer with a max connection age: no call fails.
#[test]
fn tonic_max_connection_age_loses_no_call() {
    run("tonic", &SHORT, start_tonic);
}

/// The grpcio peer with a max connection age: no call fails.
#[test]
fn grpcio_max_connection_age_loses_no_call() {
    run("grpcio", &SHORT, start_grpcio);
}

/// [`LONG`] against the tonic peer.
#[test]
#[ignore = "soak: run with --ignored"]
fn tonic_max_connection_age_soak() {
    run("tonic", &LONG, start_tonic);
}

/// [`LONG`] against the grpcio peer.
#[test]
#[ignore = "soak: run with --ignored"]
fn grpcio_max_connection_age_soak() {
    run("grpcio", &LONG, start_grpcio);
}

/// A server, kept alive until the run ends.
type Peer = Box<dyn std::any::Any>;

/// A started peer: the server, its address, and its settings in words.
type Started = (Peer, SocketAddr, String);

/// The tonic peer with `plan`'s max connection age (and no grace period).
fn start_tonic(plan: &Plan) -> Started {
    // No grace period: tonic 0.14's `max_connection_age_grace` replaces the
    // graceful GOAWAY at the age with an abrupt close at age + grace
    // (`connection_timeout_future` in tonic's server), which no client can
    // survive without failed calls. Without it, tonic drains the connection
    // gracefully (h2's two GOAWAYs) at the age.
    let settings = ServerSettings {
        max_connection_age: Some(plan.age),
        max_connection_age_grace: None,
    };
    let server = InteropServer::start_with(SocketAddr::from(([127, 0, 0, 1], 0)), settings)
        .unwrap_or_else(|e| panic!("start the tonic peer: {e}"));
    let addr = server.addr();
    let words = format!("max_connection_age {} ms, no grace", plan.age.as_millis());
    (Box::new(server), addr, words)
}

/// The grpcio peer with `plan`'s max connection age and grace period.
fn start_grpcio(plan: &Plan) -> Started {
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let options = [
        ("grpc.max_connection_age_ms", millis(plan.age)),
        ("grpc.max_connection_age_grace_ms", millis(plan.grace)),
    ];
    let server = PythonServer::start_with(0, &options).unwrap_or_else(|e| panic!("{e}"));
    let addr = server.addr();
    let words = options
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ");
    (Box::new(server), addr, words)
}

/// What the callers saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    /// Failure statuses, `CODE: message`, with how often each occurred.
    statuses: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, result: Result<Empty, Status>) {
        match result {
            Ok(_) => self.ok += 1,
            Err(status) => {
                self.failed += 1;
                let key = format!("{:?}: {}", status.code(), status.message());
                *self.statuses.entry(key).or_default() += 1;
            }
        }
    }
}

/// Runs `plan` against the peer `start` starts and asserts that no call
/// failed and that the client reconnected.
fn run(peer: &str, plan: &Plan, start: fn(&Plan) -> Started) {
    let (server, addr, settings) = start(plan);
    let proxy = CountingProxy::start(addr);
    let channel = Channel::builder(format!("http://{}", proxy.addr()))
        .build()
        .expect("a channel to the peer");
    let stub = TestServiceBlockingStub::new(channel.clone()).with_deadline_after(CALL_DEADLINE);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let stub = stub.clone();
            let tally = tally.clone();
            let until = started + plan.soak;
            std::thread::spawn(move || {
                while Instant::now() < until {
                    let result = stub.empty_call(Empty {});
                    tally
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .record(result);
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().expect("a caller thread");
    }
    let took = started.elapsed();
    drop(channel);
    drop(stub);
    let connections = proxy.connections();
    drop(server);
    let tally = tally.lock().unwrap_or_else(|e| e.into_inner());
    let mut report = format!(
        "max connection age, {peer} peer ({settings}), {CALLERS} callers for {:.1} s: \
         {} calls, {} ok, {} failed, {connections} connections\n",
        took.as_secs_f64(),
        tally.ok + tally.failed,
        tally.ok,
        tally.failed,
    );
    for (status, count) in &tally.statuses {
        report.push_str(&format!("    {count} x {status}\n"));
    }
    println!("{report}");
    assert_eq!(tally.failed, 0, "calls failed:\n{report}");
    assert!(tally.ok > 0, "no call succeeded:\n{report}");
    assert!(
        connections > 1,
        "the server never aged out a connection:\n{report}"
    );
}

/// A TCP proxy on `127.0.0.1` that forwards every connection to one
/// upstream address and counts the connections it accepted. Each
/// connection is two threads copying bytes, each passing on an end of its
/// direction as a write shutdown. Dropping the proxy stops accepting.
struct CountingProxy {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl CountingProxy {
    fn start(upstream: SocketAddr) -> CountingProxy {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind the proxy to 127.0.0.1:0");
        let addr = listener.local_addr().expect("the proxy's address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counted, stopped) = (accepted.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::Acquire) {
                    return;
                }
                let Ok(client) = client else { continue };
                counted.fetch_add(1, Ordering::AcqRel);
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(client_read), Ok(server_read)) = (client.try_clone(), server.try_clone())
                else {
                    continue;
                };
                std::thread::spawn(move || pipe(client_read, server));
                std::thread::spawn(move || pipe(server_read, client));
            }
        });
        CountingProxy {
            addr,
            accepted,
            stop,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    fn connections(&self) -> usize {
        self.accepted.load(Ordering::Acquire)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Copies `from` to `to` until `from` ends, then passes the end on.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}
