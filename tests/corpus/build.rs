//! Generates the corpus: every `.proto` of the pinned
//! `googleapis-common-protos` release, fetched from PyPI into the target
//! directory on first use, in one `switchboard_build::compile_protos` call.
//!
//! The fetch is `python3 -m pip download` of the pinned wheel with its
//! sha256 required (`--require-hashes`), then the `.proto` files are
//! extracted with Python's `zipfile`; both steps are skipped once
//! `<target>/googleapis-common-protos-<version>/` exists. It fails loudly:
//! no network and no local copy is a build error that says what to do.
//! `SWITCHBOARD_GOOGLEAPIS_PROTOS=DIR` uses a local copy instead (a
//! directory holding `google/api/...`); `SWITCHBOARD_PYTHON` names the
//! interpreter (default `python3`), as for the Python interop peer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// The pinned release and its wheel's sha256 (from PyPI).
const VERSION: &str = "1.76.0";
const WHEEL_SHA256: &str = "59e13344a9f3651aa201a03e2bee815a3bf43a4baf1f9ff8a9b62a840ce25fac";

type BoxError = Box<dyn std::error::Error>;

fn main() {
    if let Err(error) = generate() {
        // Display, not Debug: the message is for a person.
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn generate() -> Result<(), BoxError> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SWITCHBOARD_GOOGLEAPIS_PROTOS");
    let root = match env::var_os("SWITCHBOARD_GOOGLEAPIS_PROTOS") {
        Some(dir) => PathBuf::from(dir),
        None => fetch()?,
    };
    let mut protos = Vec::new();
    find_protos(&root, &mut protos)?;
    protos.sort();
    if protos.len() < 60 {
        return Err(format!(
            "{} holds {} .proto files; googleapis-common-protos {VERSION} has 63",
            root.display(),
            protos.len()
        )
        .into());
    }
    let protos: Vec<PathBuf> = protos.iter().map(|p| root.join(p)).collect();
    switchboard_build::compile_protos(&protos, &[root])?;
    Ok(())
}

/// The extracted protos in the target directory, fetched if missing.
fn fetch() -> Result<PathBuf, BoxError> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    // Cargo marks its target directory with CACHEDIR.TAG; share one fetch
    // between profiles and between `build`, `clippy` and `doc`.
    let target = out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .unwrap_or(&out_dir)
        .to_path_buf();
    let dest = target.join(format!("googleapis-common-protos-{VERSION}"));
    if dest.join("google").is_dir() {
        return Ok(dest);
    }
    let work = target.join(format!(
        "googleapis-common-protos-{VERSION}.partial-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work)?;
    let fetched = download(&work);
    if fetched.is_err() {
        let _ = fs::remove_dir_all(&work);
    }
    let extracted = fetched?;
    // Another build may have finished first; either copy is the same.
    if fs::rename(&extracted, &dest).is_err() && !dest.join("google").is_dir() {
        return Err(format!("cannot move the protos to {}", dest.display()).into());
    }
    let _ = fs::remove_dir_all(&work);
    Ok(dest)
}

/// Downloads and unpacks the wheel in `work`; returns where the protos are.
fn download(work: &Path) -> Result<PathBuf, BoxError> {
    let requirements = work.join("requirements.txt");
    fs::write(
        &requirements,
        format!("googleapis-common-protos=={VERSION} --hash=sha256:{WHEEL_SHA256}\n"),
    )?;
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
    let wheel = fs::read_dir(&wheels)?
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
fn run(command: &mut Command, what: &str) -> Result<(), BoxError> {
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
    )
    .into())
}

/// Every `.proto` under `dir`, as paths relative to it.
fn find_protos(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), BoxError> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in
            fs::read_dir(&current).map_err(|e| format!("cannot read {}: {e}", current.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "proto") {
                out.push(path.strip_prefix(dir)?.to_path_buf());
            }
        }
    }
    Ok(())
}
