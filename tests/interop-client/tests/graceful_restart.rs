//! A graceful server restart loses no call (issue 10, point 11).
//!
//! One switchboard [`Channel`] and [`CALLERS`] threads making wait-for-ready
//! blocking `EmptyCall`s in a loop, as fast as they can, while the server is
//! stopped gracefully and started again on the same port, round after
//! round. A graceful stop sends every connection a GOAWAY: the calls the
//! server took (at or below the GOAWAY's last stream id) must complete
//! there, and the calls it did not take (above it, or opened after the
//! GOAWAY arrived) must be retried on a new connection, waiting for the new
//! server as wait-for-ready calls do. Every call must succeed.
//!
//! Peers: the tonic `TestService` ([`InteropServer::stop_gracefully`]:
//! tonic's `serve_with_incoming_shutdown`) and the Python grpcio one
//! ([`PythonServer::stop_gracefully`]: grpcio's `server.stop(grace)`).
//! Each round waits for a number of successful calls (a counter, not a
//! clock), then stops the server, waits until it is gone, and starts a new
//! one; after the last round the new server must serve calls too.
//!
//! grpcio itself ends some calls it accepted, and no client can prevent
//! it: when it stops, the calls it had not yet handed to a handler get
//! `CANCELLED` in a trailers-only response (grpc/grpc#41785; gRPC's own
//! C-core client gets the same), and a call it accepted but never ran is
//! cut with `UNAVAILABLE: Cancelling all calls` when the grace period runs
//! out. Against grpcio those two are counted and shown apart ("ended by
//! the server") and do not fail the test; every other failed call does.
//!
//! The `*_over_tls` tests run the same against both peers serving TLS
//! (test certificates made at test time, `switchboard_tests::tls`): a
//! GOAWAY and a reconnect must work the same over TLS.
//!
//! The `*_stress` tests (ignored by default; run them with `--ignored`) do
//! more rounds with a shorter grace period. Each run prints, per round, the
//! calls made, the calls failed and the failure statuses.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use switchboard::channel::BackoffConfig;
use switchboard::prelude::*;
use switchboard::{Channel, ChannelBuilder, Code, Status, TlsConfig};
use switchboard_interop_client::pb::Empty;
use switchboard_interop_client::pb::test_service_client::TestServiceBlockingStub;
use switchboard_interop_peer::InteropServer;
use switchboard_interop_peer::python::PythonServer;

/// Threads making calls at once.
const CALLERS: usize = 4;

/// The deadline of each call: far longer than a restart takes, so a call
/// that waits for the new server never runs out of time.
const CALL_DEADLINE: Duration = Duration::from_secs(15);

/// The longest a round may wait for its calls; a stuck channel fails the
/// test instead of hanging it.
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(30);

/// Most failure times kept per round (the counts are always complete).
const FAILURE_TIMES_KEPT: usize = 10;

/// One run: how many restarts, how many successful calls before each, and
/// the grace period of each stop.
struct Plan {
    restarts: usize,
    calls_per_round: u64,
    grace: Duration,
}

/// The default runs: five restarts.
const PLAN: Plan = Plan {
    restarts: 5,
    calls_per_round: 1000,
    grace: Duration::from_secs(1),
};

/// The stress runs: many restarts, little traffic between them, a short
/// grace period.
const STRESS: Plan = Plan {
    restarts: 25,
    calls_per_round: 200,
    grace: Duration::from_millis(200),
};

/// Five graceful restarts of the tonic peer: no call fails.
#[test]
fn tonic_graceful_restart_loses_no_call() {
    run::<InteropServer>(&PLAN);
}

/// Five `stop(grace)` restarts of the grpcio peer: no call fails but those
/// grpcio ends itself.
#[test]
fn grpcio_graceful_restart_loses_no_call() {
    run::<PythonServer>(&PLAN);
}

/// Five graceful restarts of the tonic peer serving TLS: no call fails.
#[test]
fn tonic_graceful_restart_over_tls_loses_no_call() {
    run::<Tls<InteropServer>>(&PLAN);
}

/// Five `stop(grace)` restarts of the grpcio peer serving TLS: no call
/// fails but those grpcio ends itself.
#[test]
fn grpcio_graceful_restart_over_tls_loses_no_call() {
    run::<Tls<PythonServer>>(&PLAN);
}

/// [`STRESS`] against the tonic peer.
#[test]
#[ignore = "stress: run with --ignored"]
fn tonic_graceful_restart_stress() {
    run::<InteropServer>(&STRESS);
}

/// [`STRESS`] against the grpcio peer.
#[test]
#[ignore = "stress: run with --ignored"]
fn grpcio_graceful_restart_stress() {
    run::<PythonServer>(&STRESS);
}

/// A peer that can be stopped gracefully and started again on its port.
trait Restartable: Sized {
    /// The peer's name in messages.
    const NAME: &'static str;

    /// Starts a server on `127.0.0.1:port` (0: a port the system chooses).
    fn start_on(port: u16) -> Self;

    /// The address the server listens on.
    fn addr(&self) -> SocketAddr;

    /// Stops the server gracefully with `grace`; returns once it is gone,
    /// with a word on how the stop went.
    fn stop_gracefully(self, grace: Duration) -> String;

    /// Whether `status` is the server's own doing at shutdown, beyond any
    /// client's control: counted apart, not as a lost call.
    fn ended_by_server(_status: &Status) -> bool {
        false
    }

    /// A channel to the server at `addr`, plaintext.
    fn channel(addr: SocketAddr) -> ChannelBuilder {
        Channel::builder(format!("http://{addr}"))
    }
}

/// A peer serving TLS with the test certificates.
struct Tls<P>(P);

/// The test CA's server certificate and key as files (for the Python peer).
fn tls_files() -> &'static (PathBuf, PathBuf) {
    static FILES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    FILES.get_or_init(|| {
        let pki = switchboard_tests::tls::pki();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("restart-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the TLS files' directory");
        let cert = dir.join("server.pem");
        let key = dir.join("server.key");
        std::fs::write(&cert, &pki.server.cert_pem).expect("write the certificate");
        std::fs::write(&key, &pki.server.key_pem).expect("write the key");
        (cert, key)
    })
}

impl Restartable for Tls<InteropServer> {
    const NAME: &'static str = "tonic over TLS";

    fn start_on(port: u16) -> Self {
        let server = &switchboard_tests::tls::pki().server;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let peer = InteropServer::start_tls_on(addr, &server.cert_pem, &server.key_pem)
            .unwrap_or_else(|e| panic!("start the TLS tonic peer on port {port}: {e}"));
        Tls(peer)
    }

    fn addr(&self) -> SocketAddr {
        self.0.addr()
    }

    fn stop_gracefully(self, grace: Duration) -> String {
        <InteropServer as Restartable>::stop_gracefully(self.0, grace)
    }

    fn channel(addr: SocketAddr) -> ChannelBuilder {
        tls_channel(addr)
    }
}

impl Restartable for Tls<PythonServer> {
    const NAME: &'static str = "grpcio over TLS";

    fn start_on(port: u16) -> Self {
        let (cert, key) = tls_files();
        Tls(PythonServer::start_tls_on(port, cert, key).unwrap_or_else(|e| panic!("{e}")))
    }

    fn addr(&self) -> SocketAddr {
        self.0.addr()
    }

    fn stop_gracefully(self, grace: Duration) -> String {
        <PythonServer as Restartable>::stop_gracefully(self.0, grace)
    }

    fn ended_by_server(status: &Status) -> bool {
        <PythonServer as Restartable>::ended_by_server(status)
    }

    fn channel(addr: SocketAddr) -> ChannelBuilder {
        tls_channel(addr)
    }
}

/// A TLS channel to `addr` that trusts the test CA (the server
/// certificate names 127.0.0.1).
fn tls_channel(addr: SocketAddr) -> ChannelBuilder {
    let ca = &switchboard_tests::tls::pki().ca.cert_pem;
    Channel::builder(format!("https://{addr}"))
        .tls(TlsConfig::new().ca_certificate_pem(ca.as_bytes()))
}

impl Restartable for InteropServer {
    const NAME: &'static str = "tonic";

    fn start_on(port: u16) -> Self {
        InteropServer::start_on(SocketAddr::from(([127, 0, 0, 1], port)))
            .unwrap_or_else(|e| panic!("start the tonic peer on port {port}: {e}"))
    }

    fn addr(&self) -> SocketAddr {
        InteropServer::addr(self)
    }

    fn stop_gracefully(self, grace: Duration) -> String {
        let stop = InteropServer::stop_gracefully(self, grace);
        let how = if stop.drained {
            "drained"
        } else {
            "grace ran out"
        };
        format!("{how} in {} ms", stop.took.as_millis())
    }
}

impl Restartable for PythonServer {
    const NAME: &'static str = "grpcio";

    fn start_on(port: u16) -> Self {
        PythonServer::start_on(port).unwrap_or_else(|e| panic!("{e}"))
    }

    fn addr(&self) -> SocketAddr {
        PythonServer::addr(self)
    }

    fn stop_gracefully(self, grace: Duration) -> String {
        match PythonServer::stop_gracefully(self, grace) {
            Ok(stop) => format!("stopped in {} ms", stop.took.as_millis()),
            Err(error) => panic!("stopping the grpcio peer: {error}"),
        }
    }

    /// grpc core's shutdown ends each call still waiting for a handler with
    /// `grpc-status: 1`, `grpc-message: CANCELLED` (grpc/grpc#41785), and
    /// grpcio's `stop(grace)` cuts what is left when the grace period ends
    /// with grpc core's `cancel_all_calls` (`grpc-status: 14`,
    /// `grpc-message: Cancelling all calls`). switchboard's own statuses
    /// all say more than that.
    fn ended_by_server(status: &Status) -> bool {
        matches!(
            (status.code(), status.message()),
            (Code::Cancelled, "CANCELLED") | (Code::Unavailable, "Cancelling all calls")
        )
    }
}

/// What happened in one round: calls that ended while it was the current
/// round (from the first call after the previous restart until the
/// restart that ends it).
#[derive(Default)]
struct Round {
    ok: u64,
    /// Lost calls: failed for a reason other than the server's own.
    failed: u64,
    /// Calls the server itself cancelled (see
    /// [`Restartable::ended_by_server`]).
    ended_by_server: u64,
    /// Failure statuses, `CODE: message`, with how often each occurred.
    statuses: BTreeMap<String, u64>,
    /// When the first failures happened, in ms after the last stop began.
    failure_times: Vec<f64>,
    /// How the stop went and how long the restart took.
    restart: String,
}

/// The rounds so far; the last one is the current one.
struct Tally {
    rounds: Vec<Round>,
    /// When the last stop began.
    last_stop: Option<Instant>,
}

impl Tally {
    fn current(&mut self) -> &mut Round {
        if self.rounds.is_empty() {
            self.rounds.push(Round::default());
        }
        let last = self.rounds.len() - 1;
        &mut self.rounds[last]
    }

    /// Counts one call that ended at `ended` with `result`.
    fn record<T>(&mut self, result: Result<T, Status>, ended: Instant, by_server: bool) {
        let since_stop = self
            .last_stop
            .map(|began| ended.saturating_duration_since(began).as_secs_f64() * 1000.0);
        let round = self.current();
        let status = match result {
            Ok(_) => {
                round.ok += 1;
                return;
            }
            Err(status) => status,
        };
        let mut key = format!("{:?}: {}", status.code(), status.message());
        if by_server {
            round.ended_by_server += 1;
            key.push_str(" (ended by the server)");
        } else {
            round.failed += 1;
        }
        *round.statuses.entry(key).or_default() += 1;
        if round.failure_times.len() < FAILURE_TIMES_KEPT
            && let Some(ms) = since_stop
        {
            round.failure_times.push(ms);
        }
    }

    fn failed(&self) -> u64 {
        self.rounds.iter().map(|round| round.failed).sum()
    }

    /// The per-round table printed after each run.
    fn report(&self, peer: &str, plan: &Plan) -> String {
        let mut out = format!(
            "graceful restarts of the {peer} peer: {} restarts, {} ok calls before each, grace {} ms\n",
            plan.restarts,
            plan.calls_per_round,
            plan.grace.as_millis()
        );
        let mut calls = 0;
        let mut by_server = 0;
        for (index, round) in self.rounds.iter().enumerate() {
            let made = round.ok + round.failed + round.ended_by_server;
            calls += made;
            by_server += round.ended_by_server;
            let _ = write!(
                out,
                "round {index}: {made} calls, {} ok, {} failed",
                round.ok, round.failed
            );
            if round.ended_by_server > 0 {
                let _ = write!(out, ", {} ended by the server", round.ended_by_server);
            }
            let restart = if round.restart.is_empty() {
                "none (last round)"
            } else {
                &round.restart
            };
            let _ = writeln!(out, "; restart: {restart}");
            for (status, count) in &round.statuses {
                let _ = writeln!(out, "    {count} x {status}");
            }
            if !round.failure_times.is_empty() {
                let times: Vec<String> = round
                    .failure_times
                    .iter()
                    .map(|ms| format!("+{ms:.1} ms"))
                    .collect();
                let _ = writeln!(
                    out,
                    "    ended, after the last stop began: {}",
                    times.join(", ")
                );
            }
        }
        let _ = writeln!(
            out,
            "total: {calls} calls, {} failed, {by_server} ended by the server",
            self.failed()
        );
        out
    }
}

/// What the callers and the test share.
struct Shared {
    tally: Mutex<Tally>,
    /// Notified after every call.
    progress: Condvar,
    /// Set when the callers must stop.
    done: AtomicBool,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until the current round has `n` successful calls; false if
    /// [`PROGRESS_TIMEOUT`] passed first.
    fn wait_for_calls(&self, n: u64) -> bool {
        let tally = self.tally();
        let (_tally, timeout) = self
            .progress
            .wait_timeout_while(tally, PROGRESS_TIMEOUT, |tally| tally.current().ok < n)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        !timeout.timed_out()
    }
}

/// The calling threads; dropping this stops and joins them, so a failing
/// test does not leave them calling.
struct Callers {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Callers {
    fn start<P: Restartable>(channel: &Channel, shared: &Arc<Shared>) -> Callers {
        let stub = TestServiceBlockingStub::new(channel.clone())
            .with_wait_for_ready(true)
            .with_deadline_after(CALL_DEADLINE);
        let threads = (0..CALLERS)
            .map(|_| {
                let stub = stub.clone();
                let shared = shared.clone();
                std::thread::spawn(move || call_until_done::<P>(&stub, &shared))
            })
            .collect();
        Callers {
            shared: shared.clone(),
            threads,
        }
    }

    fn stop(&mut self) {
        self.shared.done.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Callers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One caller: calls until told to stop, counting each call in the round
/// current when it ended.
fn call_until_done<P: Restartable>(stub: &TestServiceBlockingStub, shared: &Shared) {
    while !shared.done.load(Ordering::Acquire) {
        let result = stub.empty_call(Empty {});
        let ended = Instant::now();
        let by_server = result
            .as_ref()
            .is_err_and(|status| P::ended_by_server(status));
        shared.tally().record(result, ended, by_server);
        shared.progress.notify_all();
    }
}

/// Runs `plan` against peer `P` and asserts that no call failed.
fn run<P: Restartable>(plan: &Plan) {
    let started = Instant::now();
    let mut server = P::start_on(0);
    let addr = server.addr();
    let channel = P::channel(addr)
        .backoff(fast_backoff())
        .build()
        .expect("a channel to the peer");
    let shared = Arc::new(Shared {
        tally: Mutex::new(Tally {
            rounds: Vec::new(),
            last_stop: None,
        }),
        progress: Condvar::new(),
        done: AtomicBool::new(false),
    });
    let mut callers = Callers::start::<P>(&channel, &shared);
    for round in 0..=plan.restarts {
        if !shared.wait_for_calls(plan.calls_per_round) {
            callers.stop();
            panic!(
                "round {round}: fewer than {} calls succeeded within {} s\n{}",
                plan.calls_per_round,
                PROGRESS_TIMEOUT.as_secs(),
                shared.tally().report(P::NAME, plan)
            );
        }
        if round == plan.restarts {
            break;
        }
        shared.tally().last_stop = Some(Instant::now());
        let stopped = server.stop_gracefully(plan.grace);
        let restarting = Instant::now();
        server = P::start_on(addr.port());
        let restarted = restarting.elapsed();
        let mut tally = shared.tally();
        tally.current().restart =
            format!("{stopped}, new server up in {} ms", restarted.as_millis());
        tally.rounds.push(Round::default());
    }
    callers.stop();
    drop(server);
    let tally = shared.tally();
    println!(
        "{}took {:.1} s",
        tally.report(P::NAME, plan),
        started.elapsed().as_secs_f64()
    );
    let failed = tally.failed();
    assert_eq!(
        failed,
        0,
        "{failed} calls failed across graceful restarts of the {} peer (per-round report above)",
        P::NAME
    );
}

/// Reconnect backoff for the test: retries within tens of milliseconds, so
/// waiting for the new server does not take gRPC's 1 s backoff.
fn fast_backoff() -> BackoffConfig {
    BackoffConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        min_connect_timeout: Duration::from_secs(2),
        ..BackoffConfig::default()
    }
}
