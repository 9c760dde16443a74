//! [`Venv`]: the virtualenv the Python peer runs in, made on first use.
//!
//! Steps, each skipped when already done:
//! 1. `python3 -m venv DIR` (interpreter: `$SWITCHBOARD_PYTHON`, default
//!    `python3`);
//! 2. `pip install` of the pinned grpcio, grpcio-tools,
//!    grpcio-health-checking, grpcio-reflection and protobuf; the
//!    pins are written to a marker file afterwards, so a finished install
//!    is recognised (and a change of pins reinstalls);
//! 3. `grpc_tools.protoc` on `tests/interop/proto` into `DIR/gen`, redone
//!    when the protos or the pins change (a fingerprint marker).
//!
//! `DIR` is `$SWITCHBOARD_INTEROP_VENV`, else `interop-venv` in
//! `$CARGO_TARGET_DIR` or the workspace's `target/`. Test processes that
//! set it up at the same time are serialised by an exclusive `flock` on
//! `DIR.lock`; within a process, [`Venv::ensure`] runs the setup once.

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsString;
use std::fs::{self, File};
use std::hash::{Hash as _, Hasher as _};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use super::{interop_dir, workspace_root};

/// The pinned version of grpcio, grpcio-tools, grpcio-health-checking and
/// grpcio-reflection (cp311 manylinux wheels exist; the last two are pure
/// Python, released with grpcio under the same numbers).
pub const GRPCIO_VERSION: &str = "1.85.1";

/// The pinned protobuf runtime (what grpcio-tools 1.85.1 resolves to).
pub const PROTOBUF_VERSION: &str = "7.36.2";

/// The schema files, relative to `tests/interop/proto`.
const PROTOS: [&str; 3] = [
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
];

/// Marker of a finished `pip install`: holds the requirements.
const PIP_MARKER: &str = ".switchboard-pip";

/// Marker of generated stubs: holds the fingerprint of protos and pins.
const STUBS_MARKER: &str = ".switchboard-stubs";

/// A virtualenv with the pinned grpcio and the generated `grpc.testing`
/// stubs.
#[derive(Debug)]
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// The venv at the default location, set up if needed. The setup runs
    /// once per process; later calls return its result.
    pub fn ensure() -> Result<&'static Venv, String> {
        static VENV: OnceLock<Result<Venv, String>> = OnceLock::new();
        VENV.get_or_init(|| Venv::set_up(&default_dir()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Sets up (or checks) a venv in `dir`, holding the lock file
    /// `dir.lock` while doing so.
    pub fn set_up(dir: &Path) -> Result<Venv, String> {
        let parent = dir.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        let _lock = lock(&dir.with_extension("lock"))?;
        let venv = Venv {
            dir: dir.to_path_buf(),
        };
        venv.install_packages()?;
        venv.generate_stubs()?;
        Ok(venv)
    }

    /// The venv's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The venv's Python interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// Where the generated `grpc/testing/*_pb2*.py` stubs are (a directory
    /// to put on `sys.path`; see `server.py` for the import).
    pub fn gen_dir(&self) -> PathBuf {
        self.dir.join("gen")
    }

    /// Steps 1 and 2: the venv and the pinned packages.
    fn install_packages(&self) -> Result<(), String> {
        let requirements = requirements();
        let marker = self.dir.join(PIP_MARKER);
        let python = self.python();
        if python.exists()
            && read_marker(&marker).as_deref() == Some(requirements.join(" ").as_str())
        {
            return Ok(());
        }
        let started = Instant::now();
        eprintln!(
            "setting up the Python interop venv in {} (first run only)",
            self.dir.display()
        );
        if !python.exists() {
            self.create()?;
        }
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
        ])
        .args(&requirements);
        let output = run(&mut pip, "pip install")?;
        if !output.status.success() {
            return Err(format!(
                "`{} -m pip install {}` failed ({}). The Python interop peer needs \
                 PyPI on its first run.\n{}",
                python.display(),
                requirements.join(" "),
                output.status,
                tail(&output.stderr),
            ));
        }
        fs::write(&marker, requirements.join(" "))
            .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
        eprintln!(
            "Python interop venv ready after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// `python3 -m venv`, from scratch.
    fn create(&self) -> Result<(), String> {
        if self.dir.exists() {
            // A venv without an interpreter is a broken leftover.
            fs::remove_dir_all(&self.dir)
                .map_err(|e| format!("cannot remove {}: {e}", self.dir.display()))?;
        }
        let interpreter =
            std::env::var_os("SWITCHBOARD_PYTHON").unwrap_or_else(|| "python3".into());
        let mut venv = Command::new(&interpreter);
        venv.arg("-m").arg("venv").arg(&self.dir);
        let output = match venv.output() {
            Ok(output) => output,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(format!(
                    "{} was not found: the Python interop peer needs Python 3.10 or newer \
                     on PATH (or set SWITCHBOARD_PYTHON to an interpreter)",
                    interpreter.to_string_lossy()
                ));
            }
            Err(error) => {
                return Err(format!(
                    "cannot run {}: {error}",
                    interpreter.to_string_lossy()
                ));
            }
        };
        if output.status.success() {
            return Ok(());
        }
        // Leave nothing half-made behind for the next run.
        let _ = fs::remove_dir_all(&self.dir);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("ensurepip") || stderr.contains("No module named venv") {
            "the Python venv module is missing: on Debian or Ubuntu install the \
             python3-venv package (apt-get install python3-venv)"
        } else {
            "creating the virtualenv failed"
        };
        Err(format!(
            "`{} -m venv {}` failed ({}): {hint}.\n{}",
            interpreter.to_string_lossy(),
            self.dir.display(),
            output.status,
            tail(&output.stderr),
        ))
    }

    /// Step 3: the Python stubs.
    fn generate_stubs(&self) -> Result<(), String> {
        let proto_root = interop_dir().join("proto");
        let fingerprint = fingerprint(&proto_root)?;
        let gen_dir = self.gen_dir();
        let marker = gen_dir.join(STUBS_MARKER);
        if read_marker(&marker).as_deref() == Some(fingerprint.as_str()) {
            return Ok(());
        }
        if gen_dir.exists() {
            fs::remove_dir_all(&gen_dir)
                .map_err(|e| format!("cannot remove {}: {e}", gen_dir.display()))?;
        }
        fs::create_dir_all(&gen_dir)
            .map_err(|e| format!("cannot create {}: {e}", gen_dir.display()))?;
        let mut protoc = Command::new(self.python());
        protoc
            .args(["-m", "grpc_tools.protoc"])
            .arg(flag("-I", &proto_root))
            .arg(flag("--python_out=", &gen_dir))
            .arg(flag("--grpc_python_out=", &gen_dir))
            .args(PROTOS)
            .current_dir(&proto_root);
        let output = run(&mut protoc, "grpc_tools.protoc")?;
        if !output.status.success() {
            return Err(format!(
                "generating the Python stubs with grpc_tools.protoc failed ({}):\n{}",
                output.status,
                tail(&output.stderr),
            ));
        }
        fs::write(&marker, fingerprint)
            .map_err(|e| format!("cannot write {}: {e}", marker.display()))
    }
}

/// `pip install` arguments: the pins.
fn requirements() -> Vec<String> {
    vec![
        format!("grpcio=={GRPCIO_VERSION}"),
        format!("grpcio-tools=={GRPCIO_VERSION}"),
        format!("grpcio-health-checking=={GRPCIO_VERSION}"),
        format!("grpcio-reflection=={GRPCIO_VERSION}"),
        format!("protobuf=={PROTOBUF_VERSION}"),
    ]
}

/// The default venv directory (see the module docs).
fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_INTEROP_VENV") {
        return PathBuf::from(dir);
    }
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"));
    target.join("interop-venv")
}

/// Takes an exclusive lock on `path` (created if missing), blocking until
/// other processes release it. Released when the returned file is dropped.
fn lock(path: &Path) -> Result<File, String> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(file)
}

/// A hex fingerprint of the proto files and the pins.
fn fingerprint(proto_root: &Path) -> Result<String, String> {
    let mut hasher = DefaultHasher::new();
    requirements().hash(&mut hasher);
    for proto in PROTOS {
        let path = proto_root.join(proto);
        let contents =
            fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        proto.hash(&mut hasher);
        contents.hash(&mut hasher);
    }
    Ok(format!("{:016x}", hasher.finish()))
}

fn read_marker(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// `prefix` immediately followed by `path`, as one argument.
fn flag(prefix: &str, path: &Path) -> OsString {
    let mut flag = OsString::from(prefix);
    flag.push(path);
    flag
}

/// Runs `command` to completion, capturing its output.
fn run(command: &mut Command, what: &str) -> Result<Output, String> {
    command
        .output()
        .map_err(|e| format!("cannot run {what} ({:?}): {e}", command.get_program()))
}

/// The last lines of a command's output, for error messages.
fn tail(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
