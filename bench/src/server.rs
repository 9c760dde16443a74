//! The benchmark's server: the tonic Echo server from `switchboard-tests`,
//! run in a child process (this same binary with `--serve`) so it never
//! shares the clients' threads.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use switchboard_tests::TonicServer;

/// Serve mode: start the server, print its URL, run until stdin closes.
pub fn serve() -> crate::clients::Result<()> {
    let server = TonicServer::start();
    println!("{}", server.url());
    // The parent holds our stdin; when it exits, this read returns.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(server);
    Ok(())
}

/// The server child process; killed on drop.
pub struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    /// Starts the child and waits for its URL.
    pub fn spawn() -> crate::clients::Result<ServerProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve")
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
        Ok(ServerProcess { child, url })
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
