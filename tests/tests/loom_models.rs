//! Runs the runtime's loom model checks (`runtime/tests/loom.rs`) as part of
//! `cargo test --workspace`.
//!
//! The models need the runtime compiled with `--cfg switchboard_loom`, which
//! only a separate cargo build can do; it goes to its own target directory so
//! it never invalidates the normal build. The test fails if that build or any
//! model fails, or if fewer models ran than the file defines.

use std::path::Path;
use std::process::Command;

#[test]
fn loom_models_pass() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .current_dir(workspace)
        .env("RUSTFLAGS", "--cfg switchboard_loom")
        .env("CARGO_TARGET_DIR", workspace.join("target/loom"))
        .env("LOOM_MAX_PREEMPTIONS", "3")
        .args([
            "test",
            "-p",
            "switchboard",
            "--test",
            "loom",
            "--release",
            "--",
            "--test-threads=1",
        ])
        .output()
        .expect("run cargo for the loom models");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "loom models failed:\n{stdout}\n{stderr}"
    );
    let source = std::fs::read_to_string(workspace.join("runtime/tests/loom.rs")).expect("loom.rs");
    let defined = source.matches("#[test]").count();
    let expected = format!("test result: ok. {defined} passed");
    assert!(
        stdout.contains(&expected),
        "expected {defined} models to pass:\n{stdout}"
    );
}
