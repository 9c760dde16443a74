//! [`PythonServer`]: `tests/interop/python/server.py` running as a child
//! process in the [`Venv`], on `127.0.0.1` and a port the system chooses
//! (or a given one).
//!
//! Protocol with the script: it prints the bound port as the first line of
//! its stdout once it is serving, and exits when its stdin reaches EOF. The
//! handle keeps stdin open, so the server lives exactly as long as the
//! handle (or, if the test process dies, as long as the process). For a
//! graceful stop the handle writes `stop GRACE` on stdin; the script runs
//! grpcio's `server.stop(GRACE)`, prints `stopped` once the server has
//! fully stopped, and exits. [`PythonServer::set_health`] writes `health
//! [SERVICE] STATUS` and waits for the script to echo it (the status is set
//! by then).

use std::io::{self, BufRead as _, BufReader, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use super::interop_dir;
use super::venv::Venv;

/// How long the server may take to print its port.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a graceful stop may take beyond its grace period (grpcio
/// cancelling what is left, the interpreter exiting).
const STOP_MARGIN: Duration = Duration::from_secs(10);

/// A running Python grpcio interop server. Dropping it kills the server.
#[derive(Debug)]
pub struct PythonServer {
    child: Child,
    /// Held open: EOF on the script's stdin stops it; a `stop` line stops it
    /// gracefully.
    stdin: Option<ChildStdin>,
    /// The script's stdout lines after the port (in a mutex only so that
    /// the handle stays `Sync`, e.g. for a shared `static` peer).
    lines: Mutex<mpsc::Receiver<io::Result<String>>>,
    addr: SocketAddr,
}

/// How long the script may take to acknowledge a `health` line.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// How a [`PythonServer::stop_gracefully`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PythonStop {
    /// From asking for the stop until the script said it had stopped.
    pub took: Duration,
}

impl PythonServer {
    /// Sets up the venv if needed ([`Venv::ensure`]), starts the server on a
    /// port the system chooses and waits until it serves.
    pub fn start() -> Result<PythonServer, String> {
        Self::start_on(0)
    }

    /// Like [`PythonServer::start`], on `port` of `127.0.0.1` (0: chosen by
    /// the system), e.g. the port of a server that was stopped with
    /// [`PythonServer::stop_gracefully`].
    pub fn start_on(port: u16) -> Result<PythonServer, String> {
        Self::spawn(port, None, None, &[], &[])
    }

    /// Like [`PythonServer::start`], serving server reflection as
    /// `grpc.reflection.v1alpha` only (as grpcio-reflection's own
    /// `enable_server_reflection` does): `grpc.reflection.v1` answers
    /// UNIMPLEMENTED, so a client must fall back.
    pub fn start_reflection_v1alpha_only() -> Result<PythonServer, String> {
        Self::spawn(0, None, None, &[], &["--reflection", "v1alpha"])
    }

    /// Like [`PythonServer::start`], with grpcio server channel arguments
    /// (`grpc.server(options=...)`), e.g. a ping policy:
    /// `("grpc.http2.max_ping_strikes", 1)`.
    pub fn start_with_options(options: &[(&str, i64)]) -> Result<PythonServer, String> {
        Self::spawn(0, None, None, options, &[])
    }

    /// Like [`PythonServer::start_on`], with grpcio channel arguments for
    /// the server (`grpc.server(options=...)`), e.g.
    /// `("grpc.max_connection_age_ms", 500)`.
    pub fn start_with(port: u16, options: &[(&str, i64)]) -> Result<PythonServer, String> {
        Self::spawn(port, None, None, options, &[])
    }

    /// Like [`PythonServer::start`], serving TLS (grpcio's
    /// `ssl_server_credentials`, ALPN `h2`) with the PEM certificate chain
    /// in `cert` and its key in `key`.
    pub fn start_tls(cert: &Path, key: &Path) -> Result<PythonServer, String> {
        Self::start_tls_on(0, cert, key)
    }

    /// Like [`PythonServer::start_tls`], on `port` (0: one the system
    /// chooses), e.g. the port of a server that was stopped with
    /// [`PythonServer::stop_gracefully`].
    pub fn start_tls_on(port: u16, cert: &Path, key: &Path) -> Result<PythonServer, String> {
        Self::spawn(port, Some((cert, key)), None, &[], &[])
    }

    /// Like [`PythonServer::start_tls`], requiring a client certificate
    /// signed by the CA in the PEM file `client_ca` (mutual TLS).
    pub fn start_mutual_tls(
        cert: &Path,
        key: &Path,
        client_ca: &Path,
    ) -> Result<PythonServer, String> {
        Self::spawn(0, Some((cert, key)), Some(client_ca), &[], &[])
    }

    fn spawn(
        port: u16,
        tls: Option<(&Path, &Path)>,
        client_ca: Option<&Path>,
        options: &[(&str, i64)],
        flags: &[&str],
    ) -> Result<PythonServer, String> {
        let venv = Venv::ensure()?;
        let script = interop_dir().join("python").join("server.py");
        let mut command = Command::new(venv.python());
        command
            .arg(&script)
            .args(["--port", &port.to_string(), "--gen_dir"])
            .arg(venv.gen_dir());
        if let Some((cert, key)) = tls {
            command
                .arg("--tls_cert")
                .arg(cert)
                .arg("--tls_key")
                .arg(key);
        }
        if let Some(ca) = client_ca {
            command.arg("--tls_client_ca").arg(ca);
        }
        for (name, value) in options {
            command.arg("--grpc_option").arg(format!("{name}={value}"));
        }
        command.args(flags);
        let mut child = command
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
            Ok((port, lines)) => Ok(PythonServer {
                child,
                stdin,
                lines: Mutex::new(lines),
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

    /// Sets the health status of `service` (`""`: the server as a whole)
    /// in the server's `grpc.health.v1.Health` service, and returns once it
    /// is set: watchers of the service are told. `status` is the proto
    /// name: `SERVING`, `NOT_SERVING`, `SERVICE_UNKNOWN` or `UNKNOWN`.
    ///
    /// At start the server has `""` and `grpc.testing.TestService`
    /// SERVING; any other name becomes known when set.
    pub fn set_health(&self, service: &str, status: &str) -> Result<(), String> {
        if service.contains(char::is_whitespace) || status.contains(char::is_whitespace) {
            return Err(format!(
                "a health service or status with whitespace cannot be sent: {service:?} {status:?}"
            ));
        }
        let (command, ack) = if service.is_empty() {
            (
                format!("health {status}\n"),
                format!("health \"\" {status}"),
            )
        } else {
            (
                format!("health {service} {status}\n"),
                format!("health {service} {status}"),
            )
        };
        // One command and its answer at a time.
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = match self.stdin.as_ref() {
            Some(mut stdin) => stdin
                .write_all(command.as_bytes())
                .and_then(|()| stdin.flush()),
            None => Err(io::Error::other("its stdin is closed")),
        };
        sent.map_err(|e| format!("cannot send the Python server {command:?}: {e}"))?;
        let started = Instant::now();
        loop {
            let left = COMMAND_TIMEOUT.saturating_sub(started.elapsed());
            match lines.recv_timeout(left) {
                Ok(Ok(line)) if line.trim() == ack => return Ok(()),
                Ok(Ok(line)) if line.starts_with("error:") => {
                    return Err(format!(
                        "the Python server refused {:?}: {}",
                        command.trim(),
                        line.trim()
                    ));
                }
                Ok(Ok(_)) => continue,
                Ok(Err(error)) => return Err(format!("reading its stdout failed: {error}")),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err("the Python server exited".to_owned());
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the Python server did not acknowledge {:?} within {} s",
                        command.trim(),
                        COMMAND_TIMEOUT.as_secs()
                    ));
                }
            }
        }
    }

    /// Stops the server with grpcio's `server.stop(grace)`: it takes no new
    /// calls and closes its listening socket at once, sends every
    /// connection a GOAWAY, lets running calls finish for up to `grace`
    /// (then cancels the rest), and the process exits.
    ///
    /// Returns once the process has exited, or an error if it did not say it
    /// stopped within `grace` plus a margin (the process is then killed).
    pub fn stop_gracefully(mut self, grace: Duration) -> Result<PythonStop, String> {
        let started = Instant::now();
        let command = format!("stop {}\n", grace.as_secs_f64());
        let sent = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(command.as_bytes())
                .and_then(|()| stdin.flush()),
            None => Err(io::Error::other("its stdin is closed")),
        };
        sent.map_err(|e| format!("cannot ask the Python server to stop: {e}"))?;
        let limit = grace + STOP_MARGIN;
        let lines = self.lines.get_mut().unwrap_or_else(PoisonError::into_inner);
        loop {
            let left = limit.saturating_sub(started.elapsed());
            match lines.recv_timeout(left) {
                Ok(Ok(line)) if line.trim() == "stopped" => break,
                Ok(Ok(_)) => continue,
                Ok(Err(error)) => return Err(format!("reading its stdout failed: {error}")),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "it exited without saying it stopped: {:?}",
                        self.child.wait()
                    ));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "it did not stop within {:.1} s",
                        limit.as_secs_f64()
                    ));
                }
            }
        }
        let took = started.elapsed();
        // It exits right after saying so; reap it before the port is reused.
        self.child
            .wait()
            .map_err(|e| format!("cannot wait for the stopped Python server: {e}"))?;
        Ok(PythonStop { took })
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
/// reading stdout on a thread, so the child never blocks on a full pipe,
/// and passes the later lines on through the returned receiver.
fn read_port(child: &mut Child) -> Result<(u16, mpsc::Receiver<io::Result<String>>), String> {
    let stdout = child
        .stdout
        .take()
        .ok_or("the server's stdout was not captured")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => {
                    if tx.send(Ok(line)).is_err() {
                        // Nobody listens any more: keep the pipe drained.
                        let _ = io::copy(&mut reader, &mut io::sink());
                        return;
                    }
                }
                Err(error) => {
                    let _ = tx.send(Err(error));
                    return;
                }
            }
        }
    });
    let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
        Ok(Ok(line)) => line,
        Ok(Err(error)) => return Err(format!("reading its stdout failed: {error}")),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err("it exited before printing its port".to_owned());
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
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
    let port = line
        .parse()
        .map_err(|_| format!("its first line {line:?} is not a port number"))?;
    Ok((port, rx))
}
