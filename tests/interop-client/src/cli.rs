//! The interop client's command line: the standard flags of gRPC's
//! `doc/interop-test-descriptions.md` ("Client"), parsed into a [`Config`].
//!
//! Flags take `--name=value` or `--name value`; the boolean ones also take
//! a bare `--name` (true). The cloud-only flags (service accounts, OAuth)
//! are not accepted: the cloud cases are not implemented. Parsing does no
//! I/O; [`Config::channel_builder`] reads `--ca_file`.
//!
//! TLS: `--use_tls` connects with TLS and Mozilla's roots; `--use_test_ca`
//! trusts the test CA instead, which switchboard does not ship: give it
//! with `--ca_file PATH` (grpc-go's flag; `--ca_file` alone also replaces
//! the roots). `--server_host_override` is the name the server's
//! certificate is checked against and the `:authority` calls claim.

use switchboard::{Channel, ChannelBuilder, TlsConfig};

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
                               name and :authority)
  --test_case=CASE             one case, a comma-separated list, or `all`
                               (default: large_unary)
  --use_tls=BOOL               use TLS (default: false), ALPN h2; the server
                               certificate must chain to Mozilla's roots
                               unless --use_test_ca / --ca_file say otherwise
  --use_test_ca=BOOL           trust the test CA instead (default: false);
                               needs --ca_file: switchboard ships no test CA
  --ca_file=PATH               PEM file of the CA(s) to trust (with --use_tls)
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
    /// `--ca_file`, if given.
    pub ca_file: Option<String>,
}

impl Config {
    /// The channel target: `http://HOST:PORT`, or `https://HOST:PORT` with
    /// `--use_tls` (an IPv6 literal bracketed).
    pub fn target(&self) -> String {
        let host = &self.server_host;
        let scheme = if self.use_tls { "https" } else { "http" };
        if host.contains(':') && !host.starts_with('[') {
            format!("{scheme}://[{host}]:{}", self.server_port)
        } else {
            format!("{scheme}://{host}:{}", self.server_port)
        }
    }

    /// `Err` if the flags contradict each other: the test CA or a CA file
    /// without `--use_tls`, or `--use_test_ca` without `--ca_file`.
    pub fn check_supported(&self) -> Result<(), String> {
        if !self.use_tls && (self.use_test_ca || self.ca_file.is_some()) {
            return Err("--use_test_ca and --ca_file need --use_tls".to_owned());
        }
        if self.use_test_ca && self.ca_file.is_none() {
            return Err(
                "--use_test_ca needs --ca_file=PATH: switchboard does not ship gRPC's \
                        test CA (give its ca.pem, or the CA your test server uses)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// The TLS settings the flags ask for (`None`: plaintext); reads
    /// `--ca_file`.
    pub fn tls(&self) -> Result<Option<TlsConfig>, String> {
        if !self.use_tls {
            return Ok(None);
        }
        let mut tls = TlsConfig::new();
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).map_err(|e| format!("--ca_file={path}: {e}"))?;
            tls = tls.ca_certificate_pem(pem);
        }
        if let Some(host) = &self.server_host_override {
            tls = tls.server_name(host.clone());
        }
        Ok(Some(tls))
    }

    /// The channel builder for these flags: [`Config::target`], the
    /// `:authority` override and [`Config::tls`]. `Err` says which flag is
    /// wrong.
    pub fn channel_builder(&self) -> Result<ChannelBuilder, String> {
        self.check_supported()?;
        let mut builder = Channel::builder(self.target());
        if let Some(host) = &self.server_host_override {
            builder = builder.authority(format!("{host}:{}", self.server_port));
        }
        if let Some(tls) = self.tls()? {
            builder = builder.tls(tls);
        }
        Ok(builder)
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
    let mut ca_file = None;

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
            "server_host" | "server_port" | "server_host_override" | "test_case" | "ca_file" => {
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
                    "ca_file" => ca_file = Some(value),
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
        ca_file: ca_file.filter(|path| !path.is_empty()),
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
    fn tls_flags() {
        let config = run(&[
            "--server_port=1",
            "--use_tls",
            "--use_test_ca=true",
            "--ca_file",
            "/x/ca.pem",
            "--server_host_override=foo.test.google.fr",
        ])
        .unwrap();
        assert_eq!(config.target(), "https://localhost:1");
        assert_eq!(config.ca_file.as_deref(), Some("/x/ca.pem"));
        assert!(config.check_supported().is_ok());
        // The CA file is read when the channel is built.
        let err = config.channel_builder().unwrap_err();
        assert!(err.contains("--ca_file=/x/ca.pem"), "{err}");

        let plain_tls = run(&["--server_port=1", "--use_tls=1"]).unwrap();
        assert!(plain_tls.channel_builder().unwrap().build().is_ok());

        for (args, expect) in [
            (&["--server_port=1", "--use_test_ca"][..], "need --use_tls"),
            (&["--server_port=1", "--ca_file=/x"][..], "need --use_tls"),
            (
                &["--server_port=1", "--use_tls", "--use_test_ca"][..],
                "needs --ca_file",
            ),
        ] {
            let err = run(args).unwrap().check_supported().unwrap_err();
            assert!(err.contains(expect), "{args:?}: {err}");
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
