//! Replays the checked-in fuzz corpus on stable, as an ordinary test.
//!
//! For each target of `fuzz/` it runs every file of `fuzz/corpus/<target>/`,
//! and of `fuzz/regressions/<target>/` when there is one (inputs that once
//! crashed a target), through the same `switchboard::fuzzing` function the
//! fuzz target calls. A panic fails the test and names the file. A missing or
//! empty corpus directory fails too, so the replay cannot pass by running
//! nothing. To grow the corpus, see `fuzz/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

const FUZZ_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");

/// The files of `dir`, sorted; panics when `required` and there are none.
fn inputs(dir: &Path, required: bool) -> Vec<PathBuf> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if !required && err.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(err) => panic!("cannot read {}: {err}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !required || !files.is_empty(),
        "{} has no inputs: the corpus must be checked in",
        dir.display()
    );
    files
}

/// Runs every corpus and regression input of `target` through `run`.
fn replay(target: &str, run: fn(&[u8])) {
    let fuzz = Path::new(FUZZ_DIR);
    let mut files = inputs(&fuzz.join("corpus").join(target), true);
    files.extend(inputs(&fuzz.join("regressions").join(target), false));
    let mut failed = Vec::new();
    for file in &files {
        let data = fs::read(file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs panicked: {failed:#?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn deframe() {
    replay("deframe", switchboard::fuzzing::deframe);
}

#[test]
fn deframe_gzip() {
    replay("deframe_gzip", switchboard::fuzzing::deframe_gzip);
}

#[test]
fn grpc_timeout() {
    replay("grpc_timeout", switchboard::fuzzing::grpc_timeout);
}

#[test]
fn grpc_message() {
    replay("grpc_message", switchboard::fuzzing::grpc_message);
}

#[test]
fn metadata_from_headers() {
    replay(
        "metadata_from_headers",
        switchboard::fuzzing::metadata_from_headers,
    );
}

#[test]
fn status_details() {
    replay("status_details", switchboard::fuzzing::status_details);
}

/// The regressions kept for the crashes fuzzing found are still replayed.
#[test]
fn regressions_are_present() {
    for target in ["deframe", "deframe_gzip"] {
        let dir = Path::new(FUZZ_DIR).join("regressions").join(target);
        assert!(!inputs(&dir, true).is_empty());
    }
}
