//! Inbound flow control, end to end: a tonic server streams 1 GiB to a
//! consumer that reads slowly, and the process's peak memory stays bounded
//! (a client that buffered what the server sends would grow by the GiB).
//!
//! This file holds one test so no other test shares its process and its
//! memory reading. Linux only: it reads and resets the peak RSS in /proc.

#![cfg(target_os = "linux")]

use std::time::Duration;

use switchboard::stub::blocking_server_streaming_call;
use switchboard::{CallOptions, Channel};
use switchboard_tests::TonicServer;
use switchboard_tests::echo::StreamRequest;
use switchboard_tests::methods::SERVER_STREAM;

/// Peak resident set size of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

#[test]
fn one_gib_to_a_slow_consumer_keeps_memory_bounded() {
    const MESSAGE: u32 = 64 * 1024;
    const COUNT: u32 = 16 * 1024; // 1 GiB in all
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    // Warm everything up, then measure the peak from here on.
    let warm: Vec<_> = blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &CallOptions::new(),
        StreamRequest {
            count: 4,
            size: MESSAGE,
            ..Default::default()
        },
    )
    .collect();
    assert_eq!(warm.len(), 4);
    std::fs::write("/proc/self/clear_refs", "5").expect("reset peak RSS");
    let before = peak_rss_kib();

    let request = StreamRequest {
        count: COUNT,
        size: MESSAGE,
        ..Default::default()
    };
    let mut received = 0u64;
    for (i, item) in
        blocking_server_streaming_call(&channel, &SERVER_STREAM, &CallOptions::new(), request)
            .enumerate()
    {
        let message = item.expect("stream item");
        received += message.payload.len() as u64;
        // A slow consumer (about 4 s for the GiB): much slower than the
        // server and loopback can deliver. The sleep is the behaviour
        // under test (a consumer slower than its producer), not a wait.
        if i % 4 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(received, u64::from(COUNT) * u64::from(MESSAGE));

    let growth_mib = peak_rss_kib().saturating_sub(before) / 1024;
    println!("peak RSS growth while streaming 1 GiB to a slow consumer: {growth_mib} MiB");
    assert!(
        growth_mib < 96,
        "peak RSS grew by {growth_mib} MiB: the client buffers what it cannot consume"
    );
}
