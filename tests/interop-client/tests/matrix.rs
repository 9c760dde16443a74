//! The interop matrix: every case of switchboard's interop client against
//! each independent peer, one `#[test]` per cell, so a failure names its
//! case and peer.
//!
//! - `tonic_peer`: all 18 cases against the tonic `TestService`
//!   (`switchboard_interop_peer::InteropServer`).
//! - `python_peer`: the 16 cases grpcio can serve against the Python grpcio
//!   (C core) `TestService`. The two client-compression cases
//!   (`client_compressed_unary`, `client_compressed_streaming`) run against
//!   the tonic peer only: grpcio decompresses a request before its handler
//!   sees it and exposes no per-message compressed flag, so the Python peer
//!   cannot implement the spec's CompressedRequest feature (it ignores
//!   `expect_compressed`). `python_peer::cannot_serve_client_compression`
//!   measures that: both cases fail there at their feature probe.
//! - `tonic_tls_peer`, `python_tls_peer`: the TLS column, every case but
//!   the four compression ones, over TLS against each peer serving the
//!   test server certificate (made at test time by
//!   `switchboard_tests::tls::pki`), with the client configured by the
//!   standard flags: `--use_tls --use_test_ca --ca_file=CA
//!   --server_host_override=foo.test.google.fr`.
//! - `binary`: the `interop-client` binary with the standard flags.
//!
//! Each peer is started once per test process and shared by its cells;
//! every cell makes its own channel. A Python peer that cannot be set up
//! (no `python3 -m venv`, pip unable to reach PyPI) fails every Python cell
//! with the setup's message; nothing is skipped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use switchboard::Channel;
use switchboard_interop_client::cases::{self, Case};
use switchboard_interop_client::cli;
use switchboard_interop_client::runner::{CASE_TIME_LIMIT, run_case};
use switchboard_interop_peer::InteropServer;
use switchboard_interop_peer::python::PythonServer;

/// The shared tonic peer.
fn tonic_peer() -> SocketAddr {
    static PEER: OnceLock<InteropServer> = OnceLock::new();
    PEER.get_or_init(InteropServer::start).addr()
}

/// The shared Python grpcio peer; panics with the setup error if it could
/// not start.
fn python_peer() -> SocketAddr {
    static PEER: OnceLock<Result<PythonServer, String>> = OnceLock::new();
    match PEER.get_or_init(PythonServer::start) {
        Ok(peer) => peer.addr(),
        Err(error) => panic!("the Python grpcio interop peer could not start: {error}"),
    }
}

/// The test certificates as files: the CA, and the server's certificate
/// and key (for the Python peer and `--ca_file`).
struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn tls_files() -> &'static TlsFiles {
    static FILES: OnceLock<TlsFiles> = OnceLock::new();
    FILES.get_or_init(|| {
        let pki = switchboard_tests::tls::pki();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("interop-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the TLS files' directory");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write a TLS file");
            path
        };
        TlsFiles {
            ca: write("ca.pem", &pki.ca.cert_pem),
            cert: write("server.pem", &pki.server.cert_pem),
            key: write("server.key", &pki.server.key_pem),
        }
    })
}

/// The shared tonic peer serving TLS.
fn tonic_tls_peer() -> SocketAddr {
    static PEER: OnceLock<InteropServer> = OnceLock::new();
    PEER.get_or_init(|| {
        let server = &switchboard_tests::tls::pki().server;
        InteropServer::start_tls(&server.cert_pem, &server.key_pem)
    })
    .addr()
}

/// The shared Python grpcio peer serving TLS.
fn python_tls_peer() -> SocketAddr {
    static PEER: OnceLock<Result<PythonServer, String>> = OnceLock::new();
    let files = tls_files();
    match PEER.get_or_init(|| PythonServer::start_tls(&files.cert, &files.key)) {
        Ok(peer) => peer.addr(),
        Err(error) => panic!("the Python grpcio TLS interop peer could not start: {error}"),
    }
}

/// The interop client's standard TLS flags for a server at `addr`.
fn tls_flags(addr: SocketAddr) -> Vec<String> {
    vec![
        "--server_host=127.0.0.1".to_owned(),
        format!("--server_port={}", addr.port()),
        "--use_tls=true".to_owned(),
        "--use_test_ca=true".to_owned(),
        format!("--ca_file={}", tls_files().ca.display()),
        "--server_host_override=foo.test.google.fr".to_owned(),
    ]
}

/// Runs `case` over TLS on a fresh channel to `addr`, configured by the
/// standard flags.
fn run_tls(addr: SocketAddr, case: &Case) -> Result<(), String> {
    let config = match cli::parse(tls_flags(addr))? {
        cli::Command::Run(config) => config,
        cli::Command::Help => return Err("the flags asked for help".to_owned()),
    };
    let channel = config
        .channel_builder()?
        .build()
        .map_err(|e| e.to_string())?;
    run_case(case, &channel, CASE_TIME_LIMIT).result
}

/// One TLS cell: `case` against the peer called `peer` at `addr`, over TLS.
fn tls_cell(peer: &str, addr: SocketAddr, name: &str) {
    if let Err(message) = run_tls(addr, case(name)) {
        panic!("interop case {name} failed over TLS against the {peer} peer at {addr}: {message}");
    }
}

fn case(name: &str) -> &'static Case {
    cases::find(name).unwrap_or_else(|| panic!("no interop case is called {name}"))
}

/// Runs `case` on a fresh channel to `addr`: its result.
fn run_on(addr: SocketAddr, case: &Case) -> Result<(), String> {
    let channel = Channel::builder(format!("http://{addr}"))
        .build()
        .map_err(|e| e.to_string())?;
    run_case(case, &channel, CASE_TIME_LIMIT).result
}

/// One cell: `case` against the peer called `peer` at `addr` must pass.
fn cell(peer: &str, addr: SocketAddr, name: &str) {
    if let Err(message) = run_on(addr, case(name)) {
        panic!("interop case {name} failed against the {peer} peer at {addr}: {message}");
    }
}

/// One module per peer with one `#[test]` per case, and `CASES`, the list.
macro_rules! matrix {
    ($module:ident, $peer:literal, $addr:expr, [$($case:ident),* $(,)?]) => {
        mod $module {
            use super::*;

            /// The cases this peer's cells run.
            pub(crate) const CASES: &[&str] = &[$(stringify!($case)),*];

            $(
                #[test]
                fn $case() {
                    cell($peer, $addr, stringify!($case));
                }
            )*
        }
    };
}

matrix!(
    tonic_peer,
    "tonic",
    tonic_peer(),
    [
        empty_unary,
        large_unary,
        client_compressed_unary,
        server_compressed_unary,
        client_streaming,
        client_compressed_streaming,
        server_streaming,
        server_compressed_streaming,
        ping_pong,
        empty_stream,
        custom_metadata,
        status_code_and_message,
        special_status_message,
        unimplemented_method,
        unimplemented_service,
        cancel_after_begin,
        cancel_after_first_response,
        timeout_on_sleeping_server,
    ]
);

// client_compressed_unary and client_compressed_streaming are missing on
// purpose: grpcio cannot see whether a request message was compressed, so
// the Python peer cannot fail the cases' feature probe (see the module
// docs and `python_only::cannot_serve_client_compression`).
matrix!(
    python_peer,
    "Python grpcio",
    python_peer(),
    [
        empty_unary,
        large_unary,
        server_compressed_unary,
        client_streaming,
        server_streaming,
        server_compressed_streaming,
        ping_pong,
        empty_stream,
        custom_metadata,
        status_code_and_message,
        special_status_message,
        unimplemented_method,
        unimplemented_service,
        cancel_after_begin,
        cancel_after_first_response,
        timeout_on_sleeping_server,
    ]
);

/// One module per TLS peer with one `#[test]` per case, and `CASES`.
macro_rules! tls_matrix {
    ($module:ident, $peer:literal, $addr:expr, [$($case:ident),* $(,)?]) => {
        mod $module {
            use super::*;

            /// The cases this peer's TLS cells run.
            pub(crate) const CASES: &[&str] = &[$(stringify!($case)),*];

            $(
                #[test]
                fn $case() {
                    tls_cell($peer, $addr, stringify!($case));
                }
            )*
        }
    };
}

tls_matrix!(
    tonic_tls_peer,
    "tonic (TLS)",
    tonic_tls_peer(),
    [
        empty_unary,
        large_unary,
        client_streaming,
        server_streaming,
        ping_pong,
        empty_stream,
        custom_metadata,
        status_code_and_message,
        special_status_message,
        unimplemented_method,
        unimplemented_service,
        cancel_after_begin,
        cancel_after_first_response,
        timeout_on_sleeping_server,
    ]
);

tls_matrix!(
    python_tls_peer,
    "Python grpcio (TLS)",
    python_tls_peer(),
    [
        empty_unary,
        large_unary,
        client_streaming,
        server_streaming,
        ping_pong,
        empty_stream,
        custom_metadata,
        status_code_and_message,
        special_status_message,
        unimplemented_method,
        unimplemented_service,
        cancel_after_begin,
        cancel_after_first_response,
        timeout_on_sleeping_server,
    ]
);

/// Cells about what the Python peer cannot serve.
mod python_only {
    use super::*;

    /// The not-applicable cells, measured: against grpcio the two
    /// client-compression cases fail at their feature probe (an
    /// uncompressed request with `expect_compressed: true` succeeds instead
    /// of failing with INVALID_ARGUMENT). If grpcio ever learns to check,
    /// this test fails, and the cases belong in `python_peer`.
    #[test]
    fn cannot_serve_client_compression() {
        let addr = python_peer();
        for case in cases::ALL.iter().filter(|c| c.needs_compressed_request) {
            match run_on(addr, case) {
                Ok(()) => panic!(
                    "{} passed against the Python peer: it now checks request compression; \
                     move the case into the python_peer matrix",
                    case.name
                ),
                Err(message) => assert!(
                    message.contains("feature probe") && message.contains("succeeded"),
                    "{} failed against the Python peer for another reason than its probe: \
                     {message}",
                    case.name
                ),
            }
        }
    }
}

/// TLS against grpcio (BoringSSL) beyond the cells: its failures name
/// their cause as they do against tonic (rustls), and mutual TLS works.
mod python_tls_only {
    use std::error::Error as _;

    use switchboard::prelude::*;
    use switchboard::status::Origin;
    use switchboard::{Code, Status, TlsConfig};
    use switchboard_interop_client::pb::test_service_client::TestServiceBlockingStub;

    use super::*;

    fn test_ca() -> TlsConfig {
        TlsConfig::new().ca_certificate_pem(switchboard_tests::tls::pki().ca.cert_pem.clone())
    }

    fn channel(addr: SocketAddr, tls: TlsConfig) -> Channel {
        Channel::builder(format!("https://{addr}"))
            .tls(tls)
            .build()
            .expect("valid settings")
    }

    /// The status of a failed EmptyCall to `addr` with `tls`.
    fn failure(addr: SocketAddr, tls: TlsConfig) -> Status {
        TestServiceBlockingStub::new(channel(addr, tls))
            .with_deadline_after(CASE_TIME_LIMIT)
            .empty_call(Default::default())
            .expect_err("the call fails")
    }

    /// `status` is a TLS failure naming `words`.
    fn assert_tls(status: &Status, words: &[&str]) {
        assert_eq!(status.code(), Code::Unavailable, "{status}");
        assert_eq!(status.origin(), Origin::Tls, "{status}");
        for word in words {
            assert!(status.message().contains(word), "{word:?} not in {status}");
        }
    }

    /// `status` is a TLS failure naming `words`, with a rustls::Error behind it.
    fn assert_tls_error(status: &Status, words: &[&str]) {
        assert_tls(status, words);
        let mut cause = status.source();
        let mut found = false;
        while let Some(error) = cause {
            found |= error.downcast_ref::<rustls::Error>().is_some();
            cause = error.source();
        }
        assert!(found, "no rustls::Error behind {status:?}");
    }

    #[test]
    fn certificate_errors_name_their_cause() {
        let addr = python_tls_peer();
        // Mozilla's roots do not know the test CA.
        assert_tls_error(&failure(addr, TlsConfig::new()), &["unknown issuer"]);
        let elsewhere = test_ca().server_name("elsewhere.example");
        assert_tls_error(&failure(addr, elsewhere), &["name mismatch"]);
    }

    #[test]
    fn mutual_tls_needs_the_client_certificate() {
        let files = tls_files();
        let peer = PythonServer::start_mutual_tls(&files.cert, &files.key, &files.ca)
            .unwrap_or_else(|e| panic!("the Python grpcio mTLS peer could not start: {e}"));
        let client = &switchboard_tests::tls::pki().client;
        let with_cert = test_ca().identity_pem(client.cert_pem.clone(), client.key_pem.clone());
        let result = run_case(
            case("empty_unary"),
            &channel(peer.addr(), with_cert),
            CASE_TIME_LIMIT,
        );
        if let Err(message) = result.result {
            panic!("mutual TLS with the client certificate failed: {message}");
        }
        // grpcio closes the connection without an alert the client can
        // read: the failure is told by the server's request for a
        // certificate, and the source is the I/O error of the close.
        assert_tls(
            &failure(peer.addr(), test_ca()),
            &["requires a client certificate", "identity_pem"],
        );
    }
}

/// The matrix covers every case: all of them against tonic, and against
/// Python all but the ones that need CompressedRequest.
#[test]
fn matrix_covers_every_case() {
    let all: Vec<&str> = cases::ALL.iter().map(|c| c.name).collect();
    assert_eq!(tonic_peer::CASES, all.as_slice());
    let python: Vec<&str> = cases::ALL
        .iter()
        .filter(|c| !c.needs_compressed_request)
        .map(|c| c.name)
        .collect();
    assert_eq!(python_peer::CASES, python.as_slice());
    // The TLS column: every case that does not test compression.
    let tls: Vec<&str> = cases::ALL
        .iter()
        .map(|c| c.name)
        .filter(|name| !name.contains("compressed"))
        .collect();
    assert_eq!(tonic_tls_peer::CASES, tls.as_slice());
    assert_eq!(python_tls_peer::CASES, tls.as_slice());
}

/// The `interop-client` binary, as an interop harness runs it.
mod binary {
    use super::*;

    fn interop_client(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_interop-client"))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run interop-client: {e}"))
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn all_cases_pass_against_the_tonic_peer() {
        let port = tonic_peer().port().to_string();
        let output = interop_client(&[
            "--server_host=127.0.0.1",
            &format!("--server_port={port}"),
            "--test_case=all",
            "--use_tls=false",
            "--use_test_ca=false",
        ]);
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert!(
            output.status.success(),
            "interop-client --test_case=all exited with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        for case in cases::ALL {
            assert!(
                stdout.contains(&format!("{}: PASSED", case.name)),
                "no PASSED line for {}:\n{stdout}",
                case.name
            );
        }
    }

    #[test]
    fn the_first_failure_stops_the_run_with_a_clear_message() {
        // A port nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .unwrap_or_else(|e| panic!("cannot find a free port: {e}"));
        let output = interop_client(&[
            "--server_host=127.0.0.1",
            &format!("--server_port={port}"),
            "--test_case=empty_unary,large_unary",
        ]);
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert_eq!(
            output.status.code(),
            Some(1),
            "stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(stdout.contains("empty_unary: FAILED"), "{stdout}");
        assert!(!stdout.contains("large_unary"), "the run went on: {stdout}");
        assert!(
            stderr.contains("test case empty_unary FAILED") && stderr.contains("UNAVAILABLE"),
            "{stderr}"
        );
    }

    #[test]
    fn tls_cases_pass_against_the_tonic_tls_peer_with_the_standard_flags() {
        let mut args = tls_flags(tonic_tls_peer());
        args.push("--test_case=empty_unary,large_unary,ping_pong".to_owned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = interop_client(&args);
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        assert!(
            output.status.success(),
            "interop-client over TLS exited with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        assert!(stdout.contains("all 3 test case(s) passed"), "{stdout}");
    }

    #[test]
    fn tls_flag_mistakes_and_bad_flags_are_reported() {
        let output = interop_client(&["--server_port=1", "--use_tls", "--use_test_ca"]);
        assert_eq!(output.status.code(), Some(1));
        assert!(text(&output.stderr).contains("--use_test_ca needs --ca_file"));

        let output = interop_client(&["--server_port=1", "--test_case=no_such_case"]);
        assert_eq!(output.status.code(), Some(2));
        assert!(text(&output.stderr).contains("unknown test case \"no_such_case\""));
    }
}
