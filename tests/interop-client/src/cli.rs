//! The interop client's command line: the standard flags of gRPC's
//! `doc/interop-test-descriptions.md` ("Client"), parsed into a [`Config`].
//!
//! Flags take `--name=value` or `--name value`; the boolean ones also take
//! a bare `--name` (true). The cloud-only flags (service accounts, OAuth)
//! are not accepted: the cloud cases are not implemented. Parsing does no
//! I/O; the binary prints and exits.

use crate::cases::{self, Case};

/// The `--help` text.
pub const USAGE: &str = "\
usage: interop-client --server_port=PORT [flags]

Runs gRPC interop test cases (doc/interop-test-descriptions.md) against a
grpc.testing.TestService server, stopping at the first failure.

flags:
  --server_host=HOST           server to connect to (default: localhost)
  --server_port=PORT           server port (required)
  --server_host_override=HOST  the host to claim to be connecting to (TLS
                               name and :authority); only meaningful with TLS
  --test_case=CASE             one case, a comma-separated list, or `all`
                               (default: large_unary)
  --use_tls=BOOL               use TLS (default: false; true is not supported
                               yet)
  --use_test_ca=BOOL           trust gRPC's test CA (default: false; true is
                               not supported yet)
  --help                       print this text

cases: empty_unary, large_unary, client_compressed_unary,
  server_compressed_unary, client_streaming, client_compressed_streaming,
  server_streaming, server_compressed_streaming, ping_pong, empty_stream,
  custom_metadata, status_code_and_message, special_status_message,
  unimplemented_method, unimplemented_service, cancel_after_begin,
  cancel_after_first_response, timeout_on_sleeping_server";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the cases of the config.
    Run(Config),
    /// Print [`USAGE`].
    Help,
}

/// A parsed command line.
#[derive(Debug)]
pub struct Config {
    /// `--server_host`.
    pub server_host: String,
    /// `--server_port`.
    pub server_port: u16,
    /// `--server_host_override`, if given.
    pub server_host_override: Option<String>,
    /// The cases `--test_case` names, in order.
    pub cases: Vec<&'static Case>,
    /// `--use_tls`.
    pub use_tls: bool,
    /// `--use_test_ca`.
    pub use_test_ca: bool,
}

impl Config {
    /// The channel target: `http://HOST:PORT` (an IPv6 literal bracketed).
    pub fn target(&self) -> String {
        let host = &self.server_host;
        if host.contains(':') && !host.starts_with('[') {
            format!("http://[{host}]:{}", self.server_port)
        } else {
            format!("http://{host}:{}", self.server_port)
        }
    }

    /// `Err` if the config asks for something switchboard cannot do yet:
    /// TLS.
    pub fn check_supported(&self) -> Result<(), String> {
        if self.use_tls || self.use_test_ca {
            return Err(
                "TLS not supported yet: switchboard speaks plaintext HTTP/2 only; run without \
                 --use_tls/--use_test_ca (or with =false)"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// Parses the arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut server_host = "localhost".to_owned();
    let mut server_port = None;
    let mut server_host_override = None;
    let mut test_case = "large_unary".to_owned();
    let mut use_tls = false;
    let mut use_test_ca = false;

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument {arg:?}: flags start with --"));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (flag, None),
        };
        match name {
            "help" => return Ok(Command::Help),
            "use_tls" => use_tls = parse_bool(name, inline.as_deref())?,
            "use_test_ca" => use_test_ca = parse_bool(name, inline.as_deref())?,
            "server_host" | "server_port" | "server_host_override" | "test_case" => {
                let value = match inline {
                    Some(value) => value,
                    None => args
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?,
                };
                match name {
                    "server_host" => server_host = value,
                    "server_port" => server_port = Some(parse_port(&value)?),
                    "server_host_override" => server_host_override = Some(value),
                    _ => test_case = value,
                }
            }
            _ => return Err(format!("unknown flag --{name}")),
        }
    }
    if server_host.is_empty() {
        return Err("--server_host is empty".to_owned());
    }
    Ok(Command::Run(Config {
        server_host,
        server_port: server_port.ok_or("--server_port is required")?,
        server_host_override: server_host_override.filter(|host| !host.is_empty()),
        cases: parse_cases(&test_case)?,
        use_tls,
        use_test_ca,
    }))
}

/// `--test_case`: `all`, one name, or a comma-separated list of names.
pub fn parse_cases(list: &str) -> Result<Vec<&'static Case>, String> {
    if list.trim() == "all" {
        return Ok(cases::ALL.iter().collect());
    }
    let mut found = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(format!("--test_case={list:?} has an empty case name"));
        }
        let case = cases::find(name)
            .ok_or_else(|| format!("unknown test case {name:?} (see --help for the list)"))?;
        found.push(case);
    }
    Ok(found)
}

fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(other) => Err(format!("--{name} takes true or false, not {other:?}")),
    }
}

fn parse_port(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!(
            "--server_port takes a port number 1-65535, not {value:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(|a| a.to_string()))? {
            Command::Run(config) => Ok(config),
            Command::Help => Err("help".to_owned()),
        }
    }

    fn names(config: &Config) -> Vec<&'static str> {
        config.cases.iter().map(|c| c.name).collect()
    }

    #[test]
    fn standard_flags_in_both_forms() {
        let config = run(&[
            "--server_host=example.test",
            "--server_port",
            "8080",
            "--server_host_override=foo.test.google.fr",
            "--test_case=ping_pong,empty_unary",
            "--use_tls=false",
            "--use_test_ca=false",
        ])
        .unwrap();
        assert_eq!(config.target(), "http://example.test:8080");
        assert_eq!(
            config.server_host_override.as_deref(),
            Some("foo.test.google.fr")
        );
        assert_eq!(names(&config), ["ping_pong", "empty_unary"]);
        assert!(config.check_supported().is_ok());
    }

    #[test]
    fn defaults_and_all() {
        let config = run(&["--server_port=1"]).unwrap();
        assert_eq!(config.target(), "http://localhost:1");
        assert_eq!(names(&config), ["large_unary"]);
        let all = run(&["--server_port=1", "--test_case=all"]).unwrap();
        assert_eq!(all.cases.len(), cases::ALL.len());
        let v6 = run(&["--server_port=1", "--server_host=::1"]).unwrap();
        assert_eq!(v6.target(), "http://[::1]:1");
    }

    #[test]
    fn tls_is_accepted_but_refused_when_true() {
        for flag in ["--use_tls", "--use_tls=true", "--use_test_ca=1"] {
            let config = run(&["--server_port=1", flag]).unwrap();
            let err = config.check_supported().unwrap_err();
            assert!(err.contains("TLS not supported yet"), "{err}");
        }
    }

    #[test]
    fn mistakes_are_reported() {
        for (args, expect) in [
            (&["--test_case=all"][..], "--server_port is required"),
            (&["--server_port=0"][..], "port number"),
            (&["--server_port=x"][..], "port number"),
            (
                &["--server_port=1", "--test_case=nope"][..],
                "unknown test case \"nope\"",
            ),
            (
                &["--server_port=1", "--test_case=empty_unary,,ping_pong"][..],
                "empty case name",
            ),
            (&["--server_port=1", "--use_tls=maybe"][..], "true or false"),
            (
                &["--server_port=1", "--oauth_scope=x"][..],
                "unknown flag --oauth_scope",
            ),
            (&["--server_port"][..], "needs a value"),
            (&["server_port=1"][..], "unexpected argument"),
        ] {
            let err = run(args).unwrap_err();
            assert!(err.contains(expect), "{args:?}: {err}");
        }
        assert!(matches!(parse(["--help".to_owned()]), Ok(Command::Help)));
    }
}
