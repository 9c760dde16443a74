//! Rough unary timing against the embedded tonic server: blocking p50/p99
//! latency on one thread, and calls per second for 16 threads sharing one
//! channel. (The real side-by-side harness lives in `bench/`.)
//!
//! Run: `cargo run --release -p switchboard-examples --bin unary_timing`

use std::time::Instant;

use switchboard::stub::blocking_unary_call;
use switchboard::{CallOptions, Channel};
use switchboard_examples::{ECHO_UNARY, EchoRequest};
use switchboard_tests::TonicServer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build()?;
    let options = CallOptions::new();
    let request = EchoRequest {
        message: "ping".into(),
        ..Default::default()
    };

    for _ in 0..2_000 {
        blocking_unary_call(&channel, &ECHO_UNARY, &options, request.clone())?;
    }
    let mut samples = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let start = Instant::now();
        blocking_unary_call(&channel, &ECHO_UNARY, &options, request.clone())?;
        samples.push(start.elapsed());
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "blocking unary, 1 thread: p50 {:?}  p90 {:?}  p99 {:?}",
        pct(0.50),
        pct(0.90),
        pct(0.99)
    );

    let threads = 16;
    let per_thread = 2_000;
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let channel = channel.clone();
            let request = request.clone();
            std::thread::spawn(move || -> Result<(), switchboard::Status> {
                for _ in 0..per_thread {
                    blocking_unary_call(
                        &channel,
                        &ECHO_UNARY,
                        &CallOptions::new(),
                        request.clone(),
                    )?;
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| "thread panicked")??;
    }
    let elapsed = start.elapsed();
    let total = threads * per_thread;
    println!(
        "blocking unary, {threads} threads on one channel: {total} calls in {:.2}s = {:.0} calls/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
