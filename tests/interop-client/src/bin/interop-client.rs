//! `interop-client`: runs gRPC interop test cases against any
//! `grpc.testing.TestService` server over HTTP/2, plaintext or TLS.
//!
//! ```text
//! interop-client --server_host=127.0.0.1 --server_port=10000 --test_case=all
//! ```
//!
//! Prints one line per case and exits 0 when all pass; at the first failure
//! it prints what failed and exits 1. Bad flags exit 2; contradicting TLS
//! flags or an unreadable `--ca_file` exit 1. All cases share one channel,
//! as in the other languages' interop clients.

use std::process::ExitCode;

use switchboard_interop_client::cli::{self, Command, Config, USAGE};
use switchboard_interop_client::runner::{CASE_TIME_LIMIT, run_case};

fn main() -> ExitCode {
    match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Run(config)) => run(&config),
        Err(error) => {
            eprintln!("interop-client: {error}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Runs the configured cases in order, stopping at the first failure.
fn run(config: &Config) -> ExitCode {
    let target = config.target();
    let builder = match config.channel_builder() {
        Ok(builder) => builder,
        Err(error) => {
            eprintln!("interop-client: {error}");
            return ExitCode::FAILURE;
        }
    };
    let channel = match builder.build() {
        Ok(channel) => channel,
        Err(error) => {
            eprintln!("interop-client: {error}");
            return ExitCode::FAILURE;
        }
    };
    for case in &config.cases {
        let outcome = run_case(case, &channel, CASE_TIME_LIMIT);
        let millis = outcome.elapsed.as_millis();
        match outcome.result {
            Ok(()) => println!("{}: PASSED ({millis} ms)", outcome.name),
            Err(message) => {
                println!("{}: FAILED ({millis} ms)", outcome.name);
                eprintln!(
                    "interop-client: test case {} FAILED against {target}: {message}",
                    outcome.name
                );
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "interop-client: all {} test case(s) passed against {target}",
        config.cases.len()
    );
    ExitCode::SUCCESS
}
