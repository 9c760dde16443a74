//! Keepalive (gRFC A8): a dead network path is found by an unanswered
//! PING and ends the calls on it with UNAVAILABLE; a live one is kept; a
//! server's GOAWAY `too_many_pings` doubles the channel's keepalive time;
//! bad settings are refused at `build()`.
//!
//! Peers: the Echo peer behind the kit's TCP [`Proxy`] (which goes silent
//! both ways on command, sockets open, and logs the PINGs and GOAWAYs
//! going past), the raw mock, which logs the PINGs it receives, and the
//! Python grpcio peer (gRPC's C core) with a strict ping policy: tonic and
//! h2 servers have none and never send `too_many_pings`.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use h2::Reason;
use switchboard::stub::blocking_server_streaming_call;
use switchboard::{CallOptions, Channel, Code, ConnectivityState, Origin};
use switchboard_interop_peer::python::PythonServer;
use switchboard_tests::TonicServer;
use switchboard_tests::echo::StreamRequest;
use switchboard_tests::methods::SERVER_STREAM;
use switchboard_tests::mock::{
    MockServer, RawFrame, goaway_frame_with_data, raw_frame, settings_ack_frame,
};
use switchboard_tests::proxy::Proxy;
use switchboard_tests::support::{call_unary, fast_backoff};
use switchboard_tests::wait::{WAIT_LIMIT, wait_for_state, watchdog};

/// A server stream whose second message comes a minute after the first:
/// nothing moves on the connection in between.
fn slow_stream(sleep_ms: u64) -> StreamRequest {
    StreamRequest {
        count: 2,
        size: 1,
        sleep_ms,
        message: "s".into(),
        ..Default::default()
    }
}

#[test]
fn a_dead_peer_ends_a_server_stream_with_keepalive_timeout_and_the_next_call_reconnects() {
    let server = TonicServer::start();
    let proxy = Proxy::start(server.addr());
    let time = Duration::from_millis(200);
    let timeout = Duration::from_millis(300);
    let channel = Channel::builder(proxy.url())
        .keepalive_time(time)
        .keepalive_timeout(timeout)
        .backoff(fast_backoff())
        .build()
        .unwrap();
    watchdog(move || {
        // No deadline: only keepalive can end this stream.
        let mut stream = blocking_server_streaming_call(
            &channel,
            &SERVER_STREAM,
            &CallOptions::new(),
            slow_stream(60_000),
        );
        assert!(stream.next().unwrap().is_ok(), "the first message");
        assert!(proxy.stop_forwarding(WAIT_LIMIT), "the proxy went silent");
        let silent = Instant::now();
        let status = stream
            .find_map(Result::err)
            .expect("the stream ends with an error");
        let detected = silent.elapsed();
        println!(
            "keepalive: dead peer detected {detected:?} after the path went silent \
             (keepalive time {time:?} + timeout {timeout:?})"
        );
        assert_eq!(status.code(), Code::Unavailable, "{status}");
        assert!(status.message().contains("keepalive timeout"), "{status}");
        assert_eq!(status.origin(), Origin::Http2, "{status}");

        // The next call goes to a new connection (the proxy forwards new
        // connections again).
        let reply = call_unary(&channel, "after").expect("a call on a new connection");
        assert_eq!(reply.message, "after");
        assert_eq!(proxy.connections(), 2, "a second connection");
    });
}

#[test]
fn a_live_peer_answers_the_pings_and_a_quiet_stream_completes() {
    let server = TonicServer::start();
    let proxy = Proxy::start(server.addr());
    let channel = Channel::builder(proxy.url())
        .keepalive_time(Duration::from_millis(50))
        .keepalive_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    watchdog(move || {
        // Quiet for many keepalive times: tonic answers each PING.
        let stream = blocking_server_streaming_call(
            &channel,
            &SERVER_STREAM,
            &CallOptions::new(),
            slow_stream(1_000),
        );
        let messages: Vec<_> = stream
            .collect::<Result<_, _>>()
            .expect("the stream completes");
        assert_eq!(messages.len(), 2);
        assert_eq!(channel.state(false), ConnectivityState::Ready);
        // The handshake's PING and at least one keepalive PING went out.
        let pings = proxy.wait_for_pings(0, 2, WAIT_LIMIT);
        assert!(pings.is_some(), "keepalive pinged the quiet stream");
        assert_eq!(proxy.connections(), 1, "one connection throughout");
    });
}

#[test]
fn keepalive_off_sends_no_ping_but_the_handshakes() {
    let server = TonicServer::start();
    let proxy = Proxy::start(server.addr());
    let channel = Channel::builder(proxy.url()).build().unwrap();
    watchdog(move || {
        // Quiet for 300 ms, the time of many keepalive times above.
        let stream = blocking_server_streaming_call(
            &channel,
            &SERVER_STREAM,
            &CallOptions::new(),
            slow_stream(300),
        );
        assert_eq!(stream.collect::<Result<Vec<_>, _>>().unwrap().len(), 2);
        let pings = proxy
            .wait_for_pings(0, 1, WAIT_LIMIT)
            .expect("the handshake's PING");
        assert_eq!(pings.len(), 1, "only the PING that waits for SETTINGS");
    });
}

#[test]
fn goaway_too_many_pings_doubles_the_keepalive_time_of_the_next_connection() {
    // The mock's ping log: (connection, when) of every PING received.
    let (log, pings) = mpsc::channel::<(usize, Instant)>();
    let server = MockServer::start_raw(move |mut conn| {
        let log = log.clone();
        async move {
            conn.handshake().await;
            let mut received = 0;
            while let Some(frame) = conn.read_frame().await {
                match frame.kind {
                    RawFrame::SETTINGS if frame.flags & RawFrame::ACK == 0 => {
                        conn.write(&settings_ack_frame()).await;
                    }
                    RawFrame::PING if frame.flags & RawFrame::ACK == 0 => {
                        received += 1;
                        let _ = log.send((conn.index(), Instant::now()));
                        // The first PING waits for our SETTINGS; the second
                        // is keepalive's: the first connection refuses it.
                        if conn.index() == 0 && received == 2 {
                            let calm = Reason::ENHANCE_YOUR_CALM;
                            conn.write(&goaway_frame_with_data(0, calm, b"too_many_pings"))
                                .await;
                            return;
                        }
                        let pong = raw_frame(RawFrame::PING, RawFrame::ACK, 0, frame.payload);
                        conn.write(&pong).await;
                    }
                    _ => {}
                }
            }
        }
    });
    let time = Duration::from_millis(100);
    let channel = Channel::builder(server.url())
        .keepalive_time(time)
        .keepalive_permit_without_calls(true)
        .keepalive_timeout(Duration::from_secs(5))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    let next_ping = |connection: usize| {
        let (index, at) = pings.recv_timeout(WAIT_LIMIT).expect("a PING");
        assert_eq!(index, connection);
        at
    };
    channel.state(true);
    let settings_wait = next_ping(0);
    let first = next_ping(0);
    println!(
        "keepalive: first connection pinged {:?} after its handshake",
        first - settings_wait
    );
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::Idle),
        ConnectivityState::Idle
    );

    channel.state(true);
    next_ping(1);
    let pings_on_second: Vec<Instant> = (0..2).map(|_| next_ping(1)).collect();
    let interval = pings_on_second[1] - pings_on_second[0];
    println!("keepalive: after too_many_pings, PINGs {interval:?} apart (time was {time:?})");
    // A lower bound from timers that never fire early (the client waits
    // the doubled time after the previous ACK), with a margin for the
    // delivery of either PING: not a measure of speed.
    assert!(
        interval >= time * 3 / 2,
        "the keepalive time doubled: {interval:?} between PINGs, time {time:?}"
    );
}

#[test]
fn grpcio_with_a_ping_policy_says_too_many_pings_and_the_keepalive_time_doubles() {
    // Any PING after the first, with no data sent, is a strike; the second
    // strike gets GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings").
    let server = PythonServer::start_with_options(&[
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 60_000),
        ("grpc.http2.max_ping_strikes", 1),
    ])
    .unwrap_or_else(|error| panic!("{error}"));
    let proxy = Proxy::start(server.addr());
    let time = Duration::from_millis(100);
    let channel = Channel::builder(proxy.url())
        .keepalive_time(time)
        .keepalive_permit_without_calls(true)
        .keepalive_timeout(Duration::from_secs(5))
        .backoff(fast_backoff())
        .build()
        .unwrap();
    channel.state(true);
    let goaway = proxy.wait_for_goaway(WAIT_LIMIT).expect("grpcio's GOAWAY");
    assert_eq!(goaway.connection, 0);
    assert_eq!(goaway.code, u32::from(Reason::ENHANCE_YOUR_CALM));
    assert_eq!(goaway.debug_data, b"too_many_pings");
    assert_eq!(
        wait_for_state(&channel, ConnectivityState::Idle),
        ConnectivityState::Idle
    );
    let first = proxy.wait_for_pings(0, 3, WAIT_LIMIT).expect("PINGs");
    println!(
        "keepalive vs grpcio: first connection's PINGs {:?} apart",
        first[2] - first[1]
    );

    channel.state(true);
    // The SETTINGS wait's PING, then two keepalive PINGs.
    let second = proxy.wait_for_pings(1, 3, WAIT_LIMIT).expect("PINGs");
    let interval = second[2] - second[1];
    println!("keepalive vs grpcio: after too_many_pings, PINGs {interval:?} apart");
    // A lower bound, as in the mock test above.
    assert!(
        interval >= time * 3 / 2,
        "the keepalive time doubled: {interval:?} between PINGs, time {time:?}"
    );
}

#[test]
fn bad_keepalive_settings_are_refused_at_build() {
    let refused = |builder: switchboard::ChannelBuilder, words: &str| {
        let error = builder.build().expect_err("refused").to_string();
        assert!(error.contains(words), "{words:?} not in {error}");
    };
    let builder = || Channel::builder("http://127.0.0.1:1");
    refused(
        builder().keepalive_time(Duration::ZERO),
        "keepalive time must not be zero",
    );
    refused(
        builder()
            .keepalive_time(Duration::from_secs(1))
            .keepalive_timeout(Duration::ZERO),
        "keepalive timeout must not be zero",
    );
    refused(
        builder().tcp_keepalive(Some(Duration::from_millis(500))),
        "TCP keepalive idle time",
    );
    refused(
        builder().tcp_keepalive(Some(Duration::from_secs(40_000))),
        "TCP keepalive idle time",
    );
    // Short times are allowed (A8's 10 s minimum is not enforced), and so
    // is TCP keepalive off.
    let built = builder()
        .keepalive_time(Duration::from_millis(1))
        .keepalive_timeout(Duration::from_millis(1))
        .keepalive_permit_without_calls(true)
        .tcp_keepalive(None)
        .build();
    assert!(built.is_ok());
}
