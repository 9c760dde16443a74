//! [`PythonServer`]: `tests/interop/python/server.py` running as a child
//! process in the [`Venv`], on `127.0.0.1` and a port the system chooses.
//!
//! Protocol with the script: it prints the bound port as the first line of
//! its stdout once it is serving, and exits when its stdin reaches EOF. The
//! handle keeps stdin open, so the server lives exactly as long as the
//! handle (or, if the test process dies, as long as the process).

use std::io::{self, BufRead as _, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::interop_dir;
use super::venv::Venv;

/// How long the server may take to print its port.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running Python grpcio interop server. Dropping it kills the server.
#[derive(Debug)]
pub struct PythonServer {
    child: Child,
    /// Held open: EOF on the script's stdin stops it.
    _stdin: Option<ChildStdin>,
    addr: SocketAddr,
}

impl PythonServer {
    /// Sets up the venv if needed ([`Venv::ensure`]), starts the server and
    /// waits until it serves.
    pub fn start() -> Result<PythonServer, String> {
        let venv = Venv::ensure()?;
        let script = interop_dir().join("python").join("server.py");
        let mut child = Command::new(venv.python())
            .arg(&script)
            .args(["--port", "0", "--gen_dir"])
            .arg(venv.gen_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} with {}: {e}",
                    script.display(),
                    venv.python().display()
                )
            })?;
        let stdin = child.stdin.take();
        match read_port(&mut child) {
            Ok(port) => Ok(PythonServer {
                child,
                _stdin: stdin,
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            }),
            Err(message) => {
                let _ = child.kill();
                let status = child.wait();
                Err(format!(
                    "the Python interop server {} did not start: {message} (exit: {status:?}; \
                     its stderr is above)",
                    script.display()
                ))
            }
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The server's URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for PythonServer {
    /// Kills the server process and reaps it.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the port from the first line of the child's stdout, then keeps
/// draining stdout on a thread so the child never blocks on a full pipe.
fn read_port(child: &mut Child) -> Result<u16, String> {
    let stdout = child
        .stdout
        .take()
        .ok_or("the server's stdout was not captured")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let first = reader.read_line(&mut line).map(|_| line);
        let _ = tx.send(first);
        let _ = io::copy(&mut reader, &mut io::sink());
    });
    let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
        Ok(Ok(line)) => line,
        Ok(Err(error)) => return Err(format!("reading its stdout failed: {error}")),
        Err(_) => {
            return Err(format!(
                "it printed no port within {} s",
                STARTUP_TIMEOUT.as_secs()
            ));
        }
    };
    let line = line.trim();
    if line.is_empty() {
        return Err("it exited before printing its port".to_owned());
    }
    line.parse()
        .map_err(|_| format!("its first line {line:?} is not a port number"))
}
