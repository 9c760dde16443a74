//! The benchmark's servers, each in a child process (this same binary in a
//! serve mode) so it never shares the clients' threads: the tonic Echo
//! server from `switchboard-tests` (`--serve [--server-threads N]`, a tokio
//! runtime of N workers) and the raw h2 server of [`crate::raw_server`]
//! (`--serve-raw`, one thread, canned bytes).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use switchboard_tests::{ServerOptions, TonicServer};

/// One server setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServerKind {
    /// The raw h2 server: one thread, canned answers.
    Raw,
    /// The tonic Echo server on a runtime of this many worker threads.
    Tonic(usize),
}

impl ServerKind {
    /// As the tables show it.
    pub fn label(self) -> String {
        match self {
            ServerKind::Raw => "raw h2 server (canned bytes, 1 thread)".into(),
            ServerKind::Tonic(1) => "tonic server, 1 worker".into(),
            ServerKind::Tonic(n) => format!("tonic server, {n} workers"),
        }
    }

    /// Short, for JSON keys and the targets' figures.
    pub fn key(self) -> String {
        match self {
            ServerKind::Raw => "raw-server".into(),
            ServerKind::Tonic(n) => format!("tonic-{n}w"),
        }
    }

    /// The child's command-line arguments.
    fn args(self) -> Vec<String> {
        match self {
            ServerKind::Raw => vec!["--serve-raw".into()],
            ServerKind::Tonic(n) => {
                vec!["--serve".into(), "--server-threads".into(), n.to_string()]
            }
        }
    }
}

/// Serve mode: start the tonic server on `workers` worker threads, print
/// its URL, run until stdin closes.
pub fn serve(workers: usize) -> crate::clients::Result<()> {
    let server = TonicServer::start_with_workers(ServerOptions::default(), workers);
    println!("{}", server.url());
    // The parent holds our stdin; when it exits, this read returns.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(server);
    Ok(())
}

/// A server child process; killed on drop.
pub struct ServerProcess {
    child: Child,
    url: String,
    kind: ServerKind,
}

impl ServerProcess {
    /// Starts the child and waits for its URL.
    pub fn spawn(kind: ServerKind) -> crate::clients::Result<ServerProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(kind.args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("server child has no stdout")?;
        let mut url = String::new();
        BufReader::new(stdout).read_line(&mut url)?;
        let url = url.trim().to_string();
        if !url.starts_with("http://") {
            return Err(format!("server child printed {url:?} instead of its URL").into());
        }
        Ok(ServerProcess { child, url, kind })
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Which server this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The child's process id, for placing its threads.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
