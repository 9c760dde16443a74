//! The Python grpcio interop peer: gRPC's C core behind the same
//! `grpc.testing.TestService` as the tonic peer, from
//! `tests/interop/python/server.py`.
//!
//! - [`Venv`] makes a virtualenv with pinned [`GRPCIO_VERSION`] grpcio,
//!   grpcio-tools, grpcio-health-checking and grpcio-reflection (once per
//!   machine; later runs only check a marker file) and generates the Python
//!   stubs from `tests/interop/proto` into it.
//! - [`PythonServer`] runs `server.py` with that venv's interpreter on a
//!   port the system chooses (or a given one), and kills it when dropped;
//!   [`PythonServer::stop_gracefully`] stops it with grpcio's
//!   `server.stop(grace)` instead. Beside `TestService` it serves health
//!   checking (`grpc.health.v1`; [`PythonServer::set_health`] changes a
//!   status) and server reflection (v1 and v1alpha, or v1alpha alone with
//!   [`PythonServer::start_reflection_v1alpha_only`]).
//!
//! Every failure (no `python3`, no `venv` module, pip unable to reach PyPI,
//! the server dying on start) is an `Err(String)` that says what to fix;
//! tests fail with it rather than skip.
//!
//! grpcio cannot tell a handler whether a request message arrived
//! compressed, so this peer ignores `expect_compressed`; the client
//! compression cases run against the tonic peer only.

mod process;
mod venv;

pub use process::{PythonServer, PythonStop};
pub use venv::{GRPCIO_VERSION, PROTOBUF_VERSION, Venv};

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate).
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// `tests/interop`: the protos and the Python server.
fn interop_dir() -> PathBuf {
    workspace_root().join("tests").join("interop")
}
