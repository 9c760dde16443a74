//! `interop-peer`: runs the tonic interop `TestService` server by hand.
//!
//! ```text
//! interop-peer --port 10000 [--host 127.0.0.1] [--use_tls false]
//! ```
//!
//! Prints `listening on ADDR` once the socket is bound, then serves until
//! killed. Port 0 lets the system choose.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use switchboard_interop_peer::InteropServer;

const USAGE: &str = "usage: interop-peer --port N [--host ADDR] [--use_tls false]";

fn main() -> ExitCode {
    let addr = match parse_args(std::env::args().skip(1)) {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("interop-peer: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match InteropServer::start_on(addr) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("interop-peer: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", server.addr());
    loop {
        std::thread::park();
    }
}

/// Reads `--port N`, `--host ADDR` and `--use_tls false` (also in the
/// `--flag=value` form the interop tools use).
fn parse_args(args: impl Iterator<Item = String>) -> Result<SocketAddr, String> {
    let mut port = None;
    let mut host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let text = value()?;
                port = Some(
                    text.parse::<u16>()
                        .map_err(|_| format!("--port {text}: not a port number"))?,
                );
            }
            "--host" => {
                let text = value()?;
                host = text
                    .parse()
                    .map_err(|_| format!("--host {text}: not an IP address"))?;
            }
            "--use_tls" => match value()?.as_str() {
                "false" => {}
                other => return Err(format!("--use_tls {other}: only plaintext is supported")),
            },
            "-h" | "--help" => return Err("help requested".to_owned()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let port = port.ok_or("--port is required")?;
    Ok(SocketAddr::new(host, port))
}
