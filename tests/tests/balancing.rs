//! Many backends: a channel over several tonic servers, through its
//! resolver (`ipv4:` lists, a manual resolver), its policy (round_robin,
//! pick_first) and several connections per address. Every server is a real
//! tonic server in this process; the tests count what each one served.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use std::future::Future;
use switchboard::channel::LoadBalancing;
use switchboard::resolver::{Address, ManualResolver};

use switchboard::stub::{blocking_unary_call, future_unary_call};
use switchboard::{CallOptions, Channel, Code, ConnectivityState, Deadline, Status};
use switchboard_tests::methods::UNARY;
use switchboard_tests::support::{bounded, fast_backoff, hello};
use switchboard_tests::wait::{WAIT_LIMIT, poll_until};
use switchboard_tests::{ServerOptions, TonicServer, free_port};

/// An `ipv4:` target listing `servers`' addresses, in order.
fn ipv4_target(addrs: &[SocketAddr]) -> String {
    let list: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
    format!("ipv4:{}", list.join(","))
}

/// A round_robin channel to `target` that reconnects quickly.
fn round_robin(target: &str) -> Channel {
    Channel::builder(target)
        .load_balancing(LoadBalancing::RoundRobin)
        .backoff(fast_backoff())
        .build()
        .unwrap()
}

/// Wait-for-ready call options bounded by the kit's call bound.
fn wait_for_ready() -> CallOptions {
    bounded().with_wait_for_ready(true)
}

/// One blocking unary call with `options`.
fn call(channel: &Channel, options: &CallOptions) -> Result<(), Status> {
    blocking_unary_call(channel, &UNARY, options, hello("hi")).map(drop)
}

#[test]
fn round_robin_over_three_servers_splits_calls_within_ten_percent() {
    let servers: Vec<TonicServer> = (0..3).map(|_| TonicServer::start()).collect();
    let addrs: Vec<SocketAddr> = servers.iter().map(TonicServer::addr).collect();
    let channel = round_robin(&ipv4_target(&addrs));
    // Every server READY before counting: one wait-for-ready call each way
    // round until each has served one.
    assert!(
        poll_until(WAIT_LIMIT, || {
            call(&channel, &wait_for_ready()).unwrap();
            servers.iter().all(|s| s.counters().calls() > 0)
        }),
        "every server serves a call"
    );
    let before: Vec<u64> = servers.iter().map(|s| s.counters().calls()).collect();
    for _ in 0..3000 {
        call(&channel, &bounded()).unwrap();
    }
    let shares: Vec<u64> = servers
        .iter()
        .zip(&before)
        .map(|(s, b)| s.counters().calls() - b)
        .collect();
    println!("round_robin shares of 3000 calls: {shares:?}");
    assert_eq!(shares.iter().sum::<u64>(), 3000);
    for share in &shares {
        assert!((900..=1100).contains(share), "uneven split: {shares:?}");
    }
}

/// Four threads call in a loop (wait-for-ready); one of three servers is
/// killed. Only calls in flight on its connection may fail, each with
/// UNAVAILABLE; every call made after the channel saw the loss succeeds,
/// and the other two servers take the dead one's share.
#[test]
fn killing_one_of_three_servers_under_load_fails_only_calls_in_flight_on_it() {
    const THREADS: usize = 4;
    let mut servers: Vec<Option<TonicServer>> =
        (0..3).map(|_| Some(TonicServer::start())).collect();
    let addrs: Vec<SocketAddr> = servers.iter().flatten().map(TonicServer::addr).collect();
    let channel = round_robin(&ipv4_target(&addrs));
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let (failures, failed) = mpsc::channel::<Status>();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (channel, stop, ok, failures) =
                (channel.clone(), stop.clone(), ok.clone(), failures.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match call(&channel, &wait_for_ready()) {
                        Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(status) => {
                            let _ = failures.send(status);
                            0
                        }
                    };
                }
            })
        })
        .collect();
    drop(failures);
    // Load on all three, then kill the second.
    for server in servers.iter().flatten() {
        server
            .counters()
            .wait_for("calls under load", |c| c.completed >= 200);
    }
    servers[1].take().unwrap().kill();
    let ok_at_kill = ok.load(Ordering::Relaxed);
    let survivors: Vec<&TonicServer> = servers.iter().flatten().collect();
    let after_kill: Vec<u64> = survivors.iter().map(|s| s.counters().completed()).collect();
    // 2,000 more calls succeed.
    assert!(
        poll_until(WAIT_LIMIT * 3, || ok.load(Ordering::Relaxed)
            >= ok_at_kill + 2000),
        "calls go on after the kill"
    );
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    let failed: Vec<Status> = failed.try_iter().collect();
    println!(
        "killed 1 of 3 servers under load ({THREADS} threads): {} calls failed: {:?}",
        failed.len(),
        failed.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    assert!(
        failed.len() <= THREADS,
        "more calls failed ({}) than were in flight ({THREADS})",
        failed.len()
    );
    for status in &failed {
        assert_eq!(status.code(), Code::Unavailable, "{status}");
    }
    // The survivors served every call made after the kill (but for the
    // few in flight when the counts were read).
    let served: u64 = survivors
        .iter()
        .zip(&after_kill)
        .map(|(s, before)| s.counters().completed() - before)
        .sum();
    let made = ok.load(Ordering::Relaxed) - ok_at_kill;
    assert!(
        served + THREADS as u64 >= made,
        "the survivors served {served} of {made}"
    );
    for (server, before) in survivors.iter().zip(&after_kill) {
        assert!(
            server.counters().completed() - before > 500,
            "both survivors take a share"
        );
    }
}

#[test]
fn a_round_robin_server_that_comes_back_is_used_again_without_a_new_channel() {
    let first = TonicServer::start();
    let second = TonicServer::start();
    let second_addr = second.addr();
    let channel = round_robin(&ipv4_target(&[first.addr(), second_addr]));
    assert!(
        poll_until(WAIT_LIMIT, || {
            call(&channel, &wait_for_ready()).unwrap();
            second.counters().calls() > 0
        }),
        "the second server serves"
    );
    second.kill();
    // While it is down, calls go to the first.
    for _ in 0..50 {
        call(&channel, &wait_for_ready()).unwrap();
    }
    let back = TonicServer::start_on(second_addr).expect("the port is free again");
    assert!(
        poll_until(WAIT_LIMIT, || {
            call(&channel, &wait_for_ready()).unwrap();
            back.counters().calls() > 0
        }),
        "the server that came back serves calls again"
    );
}

#[test]
fn pick_first_uses_the_first_address_that_connects_and_fails_over_in_order() {
    let first_addr = free_port();
    let second = TonicServer::start();
    let channel = Channel::builder(ipv4_target(&[first_addr, second.addr()]))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    // The first address refuses: calls go to the second, and stick there.
    for _ in 0..20 {
        call(&channel, &wait_for_ready()).unwrap();
    }
    assert_eq!(second.counters().completed(), 20);
    // The first comes up; pick_first stays on the second while it lives.
    let first = TonicServer::start_on(first_addr).expect("the port is free");
    for _ in 0..20 {
        call(&channel, &wait_for_ready()).unwrap();
    }
    assert_eq!(second.counters().completed(), 40);
    assert_eq!(first.counters().calls(), 0);
    // The second dies; once the channel has seen it (a call racing the
    // kill may fail, as on any dying connection), it starts again from the
    // first address.
    second.kill();
    let seen = channel.wait_for_state_change(ConnectivityState::Ready, Deadline::after(WAIT_LIMIT));
    assert_ne!(seen, None, "the channel sees the connection go");
    for _ in 0..20 {
        call(&channel, &wait_for_ready()).unwrap();
    }
    assert_eq!(first.counters().completed(), 20);
}

#[test]
fn a_manual_resolver_moves_traffic_to_a_new_list_with_no_failed_call() {
    let old = TonicServer::start();
    let new = TonicServer::start();
    let resolver = ManualResolver::new("manual");
    resolver.update(vec![Address::Tcp(old.addr())]);
    let channel = Channel::builder("manual:///backends")
        .resolver(resolver.clone())
        .load_balancing(LoadBalancing::RoundRobin)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (channel, stop) = (channel.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut results = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    results.push(call(&channel, &bounded()));
                }
                results
            })
        })
        .collect();
    old.counters()
        .wait_for("calls on the old list", |c| c.completed >= 100);
    resolver.update(vec![Address::Tcp(new.addr())]);
    new.counters()
        .wait_for("calls on the new list", |c| c.completed >= 100);
    // Once the new list serves, the old server gets nothing new.
    let old_then = old.counters().calls();
    new.counters()
        .wait_for("more calls", |c| c.completed >= 300);
    stop.store(true, Ordering::Relaxed);
    let results: Vec<Result<(), Status>> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let failed: Vec<&Status> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "calls failed across the move: {failed:?}"
    );
    assert_eq!(
        old.counters().calls(),
        old_then,
        "traffic left the old list"
    );
}

#[test]
fn an_empty_list_fails_fast_calls_naming_the_resolver_and_holds_wait_for_ready_ones() {
    let server = TonicServer::start();
    let resolver = ManualResolver::new("discovery");
    resolver.update(Vec::new());
    let channel = Channel::builder("discovery:///payments")
        .resolver(resolver.clone())
        .build()
        .unwrap();
    let status = call(&channel, &bounded()).unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
    assert!(
        status.message().contains("discovery") && status.message().contains("no addresses"),
        "{status}"
    );
    // A wait-for-ready call, made (its future starts the call) before the
    // next list, waits for it and is served by it.
    let mut waiting = Box::pin(future_unary_call(
        &channel,
        &UNARY,
        &wait_for_ready(),
        hello("waits"),
    ));
    let noop = futures::task::noop_waker();
    let polled = waiting
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&noop));
    assert!(polled.is_pending(), "the wait-for-ready call waits");
    let fail_fast = call(&channel, &bounded()).unwrap_err();
    assert_eq!(fail_fast.code(), Code::Unavailable);
    resolver.update(vec![Address::Tcp(server.addr())]);
    let reply = futures::executor::block_on(waiting).unwrap();
    assert_eq!(reply.message, "waits");
    assert_eq!(server.counters().completed(), 1);
}

#[test]
fn a_dns_target_with_round_robin_reaches_a_server_on_localhost() {
    let server = TonicServer::start();
    let channel = round_robin(&format!("dns:///localhost:{}", server.addr().port()));
    call(&channel, &wait_for_ready()).unwrap();
    assert_eq!(server.counters().completed(), 1);
}

/// Server-side established TCP connections on `port` (from /proc/net/tcp).
fn established_on(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[1].ends_with(&local) && fields[3] == "01"
        })
        .count()
}

/// MAX_CONCURRENT_STREAMS 10 and 64 calls in flight: the channel opens
/// enough connections that all 64 reach the server at once (none waits for
/// a stream), and closes the extra ones once they are idle.
#[test]
fn a_server_stream_limit_opens_more_connections_and_idle_extras_close() {
    let server = TonicServer::start_with(ServerOptions {
        max_concurrent_streams: Some(10),
    });
    let port = server.addr().port();
    let channel = Channel::builder(server.url())
        .max_connections_per_address(8)
        .extra_connection_idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    call(&channel, &bounded()).unwrap();
    server.hold();
    let threads: Vec<_> = (0..64)
        .map(|_| {
            let channel = channel.clone();
            std::thread::spawn(move || call(&channel, &bounded()))
        })
        .collect();
    // All 64 reach the held handlers at once: none waits for a stream.
    server.wait_until_calls(65);
    let connections = established_on(port);
    println!("64 calls in flight, limit 10 per connection: {connections} connections");
    assert!(
        (7..=8).contains(&connections),
        "{connections} connections for 64 calls at 10 each"
    );
    server.release();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    assert!(
        poll_until(WAIT_LIMIT, || established_on(port) == 1),
        "the extra connections close when idle ({} open)",
        established_on(port)
    );
    // The channel still works on the connection it kept.
    call(&channel, &bounded()).unwrap();
}
