//! switchboard's comparison harness: the same workloads through switchboard
//! and tonic, against one tonic server in a separate process, interleaved
//! over rounds so that drift cancels out. Prints a table with ratios to
//! tonic.
//!
//! Run: `cargo run --release -p switchboard-bench -- [--quick]`
//!
//! Scenarios so far: unary latency (one caller) and server-stream message
//! rate. (The full harness, with the raw h2 floor, throughput at 64 in
//! flight, allocations and memory, is the benchmark issue's.)

mod clients;
mod report;
mod server;

use std::time::Duration;

use report::{Row, Table};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        return server::serve();
    }
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 5 };
    let server = server::ServerProcess::spawn()?;
    let url = server.url();
    println!("server: tonic, separate process, {url}; rounds: {rounds}; quick: {quick}");

    let only = flag_value(&args, "--only");
    let scenario = flag_value(&args, "--scenario");
    let clients: Vec<_> = clients::all(&url)?
        .into_iter()
        .filter(|c| only.as_deref().is_none_or(|o| c.name.contains(o)))
        .collect();
    let run = |name: &str| scenario.as_deref().is_none_or(|s| s == name);
    let latency_calls = if quick { 2_000 } else { 20_000 };
    let stream_messages = if quick { 50_000 } else { 300_000 };

    let mut latency = Table::new(
        "unary-latency: 1 caller, 100-byte payload",
        &["p50 µs", "p99 µs", "p99.9 µs"],
    );
    let mut stream = Table::new("server-stream: 100-byte messages", &["msgs/s"]);
    for round in 0..rounds {
        // ABAB: alternate the order each round.
        let order: Vec<&clients::Client> = if round % 2 == 0 {
            clients.iter().collect()
        } else {
            clients.iter().rev().collect()
        };
        for client in &order {
            if run("unary-latency") {
                let samples = (client.unary_latency)(latency_calls)?;
                latency.add(Row::latencies(client.name, &samples));
            }
            if run("server-stream") {
                let rate = (client.server_stream)(stream_messages)?;
                stream.add(Row::single(client.name, rate));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    latency.print("tonic");
    stream.print("tonic");
    Ok(())
}

/// The value after `flag` on the command line, if any.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}
