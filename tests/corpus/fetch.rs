//! The corpus's protos: every `.proto` of the pinned
//! `googleapis-common-protos` release, fetched from PyPI into the target
//! directory on first use. Shared (by `#[path]`) between this crate's
//! `build.rs` and `switchboard-codegen`'s plugin-equals-build test.
//!
//! The fetch is `python3 -m pip download` of the pinned wheel with its
//! sha256 required (`--require-hashes`), then Python's `zipfile` extracts
//! the `.proto` files; both are skipped once
//! `<target>/googleapis-common-protos-<version>/` exists. It fails loudly,
//! with an error that says what to do. `SWITCHBOARD_GOOGLEAPIS_PROTOS=DIR`
//! uses a local copy instead (a directory holding `google/api/...`);
//! `SWITCHBOARD_PYTHON` names the interpreter (default `python3`), as for
//! the Python interop peer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// The pinned release.
pub const VERSION: &str = "1.76.0";

/// Its wheel's sha256, from PyPI.
const WHEEL_SHA256: &str = "59e13344a9f3651aa201a03e2bee815a3bf43a4baf1f9ff8a9b62a840ce25fac";

/// How many `.proto` files the release holds.
pub const PROTO_COUNT: usize = 63;

/// The directory holding `google/...`, fetched if missing, and the
/// `.proto` files under it (relative to it, sorted). `inside_target` is
/// any path inside Cargo's target directory (`OUT_DIR`,
/// `CARGO_TARGET_TMPDIR`).
pub fn googleapis_protos(inside_target: &Path) -> Result<(PathBuf, Vec<PathBuf>), String> {
    let root = match env::var_os("SWITCHBOARD_GOOGLEAPIS_PROTOS") {
        Some(dir) => PathBuf::from(dir),
        None => fetch(inside_target)?,
    };
    let mut protos = Vec::new();
    find_protos(&root, &root, &mut protos)?;
    protos.sort();
    if protos.len() != PROTO_COUNT {
        return Err(format!(
            "{} holds {} .proto files; googleapis-common-protos {VERSION} has {PROTO_COUNT}",
            root.display(),
            protos.len()
        ));
    }
    Ok((root, protos))
}

/// The extracted protos in the target directory, fetched if missing.
fn fetch(inside_target: &Path) -> Result<PathBuf, String> {
    // Cargo marks its target directory with CACHEDIR.TAG: one fetch serves
    // every profile, `build`, `clippy`, `doc` and the tests.
    let target = inside_target
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .unwrap_or(inside_target);
    let dest = target.join(format!("googleapis-common-protos-{VERSION}"));
    if dest.join("google").is_dir() {
        return Ok(dest);
    }
    let work = target.join(format!(
        "googleapis-common-protos-{VERSION}.partial-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let fetched = download(&work);
    let moved = fetched.and_then(|extracted| {
        // Another process may have finished first; either copy is the same.
        if fs::rename(&extracted, &dest).is_err() && !dest.join("google").is_dir() {
            return Err(format!("cannot move the protos to {}", dest.display()));
        }
        Ok(dest)
    });
    let _ = fs::remove_dir_all(&work);
    moved
}

/// Downloads and unpacks the wheel in `work`; returns where the protos are.
fn download(work: &Path) -> Result<PathBuf, String> {
    let requirements = work.join("requirements.txt");
    fs::write(
        &requirements,
        format!("googleapis-common-protos=={VERSION} --hash=sha256:{WHEEL_SHA256}\n"),
    )
    .map_err(|e| format!("cannot write {}: {e}", requirements.display()))?;
    let python = env::var_os("SWITCHBOARD_PYTHON").unwrap_or_else(|| "python3".into());
    let wheels = work.join("wheels");
    run(
        Command::new(&python)
            .args(["-m", "pip", "download", "--no-deps", "--require-hashes"])
            .args(["--only-binary=:all:", "--disable-pip-version-check", "-r"])
            .arg(&requirements)
            .arg("-d")
            .arg(&wheels),
        "download googleapis-common-protos from PyPI",
    )?;
    let wheel = fs::read_dir(&wheels)
        .map_err(|e| format!("cannot read {}: {e}", wheels.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|e| e == "whl"))
        .ok_or("pip download left no wheel")?;
    let extracted = work.join("protos");
    run(
        Command::new(&python)
            .arg("-c")
            .arg(
                "import sys, zipfile\n\
                 z = zipfile.ZipFile(sys.argv[1])\n\
                 for n in z.namelist():\n\
                 \x20   if n.endswith('.proto'): z.extract(n, sys.argv[2])\n",
            )
            .arg(&wheel)
            .arg(&extracted),
        "extract the .proto files from the wheel",
    )?;
    Ok(extracted)
}

/// Runs `command`, or says what failed and how to get around it.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let shown = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|arg| arg.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let output = command
        .output()
        .map_err(|e| format!("cannot {what}: cannot run `{shown}`: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "cannot {what}: `{shown}` failed ({}).\n{}\n\
         The corpus needs PyPI on its first build, or \
         SWITCHBOARD_GOOGLEAPIS_PROTOS=DIR pointing at a copy of the protos.",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Every `.proto` under `dir`, as paths relative to `root`.
fn find_protos(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            find_protos(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}
