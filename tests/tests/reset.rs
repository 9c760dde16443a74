//! RST_STREAM from the server: before the response, after its headers,
//! mid-message and after a whole message, on unary and server-streaming
//! calls, each mapped to its code — and REFUSED_STREAM, which means the
//! server never processed the call, retried transparently.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use h2::Reason;
use prost::Message;
use switchboard::Channel;
use switchboard::call::ClientCall;
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::{blocking_server_streaming_call, blocking_unary_call};
use switchboard::{Code, Metadata};
use switchboard_tests::echo::StreamRequest;
use switchboard_tests::listener::Recorder;
use switchboard_tests::methods::{SERVER_STREAM, UNARY};
use switchboard_tests::mock::{MockServer, RawFrame, grpc_frame, headers_frame, raw_frame};
use switchboard_tests::support::{
    GRPC, bounded, call_unary, call_unary_with, channel_to, hello, reply, reply_with_payload,
};
use tokio::sync::Semaphore;

#[test]
fn rst_stream_before_the_response_maps_to_a_code() {
    // The reason is chosen by the request, so one server answers every case.
    let server = MockServer::start(|mut stream| async move {
        let reason: u32 = stream.request().header("x-reset").unwrap().parse().unwrap();
        stream.send_reset(Reason::from(reason));
    });
    let channel = channel_to(server.url());
    for (reason, code) in [
        (Reason::REFUSED_STREAM, Code::Unavailable),
        (Reason::CANCEL, Code::Cancelled),
        (Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
    ] {
        let status = call_unary_with(&channel, "x-reset", &u32::from(reason).to_string())
            .expect_err("a reset call fails");
        assert_eq!(status.code(), code, "{reason:?}: {status}");
        assert!(
            status.message().contains(&format!("{reason:?}")),
            "{reason:?}: {status}"
        );
    }
}

#[test]
fn rst_stream_after_the_response_headers_maps_to_a_code() {
    // The mock resets only once the caller has heard the response headers
    // (the test adds a permit), so the reset meets a client that is reading
    // the response body, not one still waiting for headers.
    let go = Arc::new(Semaphore::new(0));
    let server = MockServer::start({
        let go = go.clone();
        move |mut stream| {
            let go = go.clone();
            async move {
                let reason: u32 = stream.request().header("x-reset").unwrap().parse().unwrap();
                stream.send_headers(200, &[GRPC]);
                go.acquire().await.unwrap().forget();
                stream.send_reset(Reason::from(reason));
            }
        }
    });
    let channel = channel_to(server.url());
    for (reason, code) in [
        (Reason::CANCEL, Code::Cancelled),
        (Reason::ENHANCE_YOUR_CALM, Code::ResourceExhausted),
        // After headers the server has processed the call: no retry.
        (Reason::REFUSED_STREAM, Code::Unavailable),
    ] {
        let mut metadata = Metadata::new();
        metadata
            .insert("x-reset", &u32::from(reason).to_string())
            .unwrap();
        let executor = ThreadlessExecutor::new();
        let call = channel.new_call(&UNARY, &bounded(), executor.clone());
        let recorder = Recorder::new();
        call.start(recorder.listener(), metadata);
        call.request(1);
        call.send_message(hello("hi"));
        call.half_close();
        recorder.drain_until(&executor, |heard| {
            heard.headers.is_some() || heard.close.is_some()
        });
        assert_eq!(
            recorder.heard().headers_delivered,
            1,
            "{reason:?}: headers first"
        );
        go.add_permits(1);
        let heard = recorder.drain_to_close(&executor);
        let (status, _) = heard.close.as_ref().unwrap();
        assert_eq!(status.code(), code, "{reason:?}: {status}");
        assert!(
            status.message().contains(&format!("{reason:?}")),
            "{reason:?}: {status}"
        );
        assert_eq!(
            (heard.headers_delivered, heard.messages.len()),
            (1, 0),
            "{reason:?}"
        );
    }
    assert_eq!(server.requests().len(), 3, "no call was sent twice");
}

/// `rst_after_header`, `rst_during_data`, `rst_after_data`: each call fails
/// with a clear status, and the next call on the same channel succeeds.
#[test]
fn resets_at_each_point_fail_the_call_and_leave_the_channel_usable() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = MockServer::start(move |mut stream| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let message = grpc_frame(&reply("whole").encode_to_vec());
            match n {
                // rst_after_header
                0 => {
                    stream.send_headers(200, &[GRPC]);
                    stream.send_reset(Reason::INTERNAL_ERROR);
                }
                // rst_during_data: half a message, then the reset
                2 => {
                    stream.send_headers(200, &[GRPC]);
                    stream.send_data(message.slice(..message.len() / 2));
                    stream.send_reset(Reason::INTERNAL_ERROR);
                }
                // rst_after_data: a whole message, no trailers, the reset
                4 => {
                    stream.send_headers(200, &[GRPC]);
                    stream.send_data(message);
                    stream.send_reset(Reason::INTERNAL_ERROR);
                }
                _ => stream.send_unary_ok(&reply("fine")),
            }
        }
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    for case in ["rst_after_header", "rst_during_data", "rst_after_data"] {
        let status = call_unary(&channel, case).expect_err(case);
        assert_eq!(status.code(), Code::Internal, "{case}: {status}");
        assert!(
            status.message().contains("INTERNAL_ERROR"),
            "{case}: {status}"
        );
        assert_eq!(
            call_unary(&channel, "next").expect("channel still usable"),
            reply("fine"),
            "after {case}"
        );
    }
    assert_eq!(
        server.connections(),
        1,
        "one connection served all six calls"
    );
}

/// A server stream reset by the server after two messages: the caller gets
/// both messages, then the reset's status. Written frame by frame, so both
/// messages are really on the wire before the RST_STREAM.
#[test]
fn a_server_stream_reset_mid_way_yields_its_messages_then_the_status() {
    const INTERNAL_ERROR: u32 = 0x2;
    let server = MockServer::start_raw(|mut conn| async move {
        conn.handshake().await;
        let Some(request) = conn.read_request_headers().await else {
            return;
        };
        let id = request.stream_id;
        conn.write(&headers_frame(id, true, false, None)).await;
        for message in ["one", "two"] {
            let data = grpc_frame(&reply(message).encode_to_vec());
            conn.write(&raw_frame(RawFrame::DATA, 0, id, data)).await;
        }
        conn.write(&raw_frame(
            RawFrame::RST_STREAM,
            0,
            id,
            INTERNAL_ERROR.to_be_bytes().to_vec(),
        ))
        .await;
        conn.hold().await;
    });
    let channel = Channel::builder(server.url()).build().unwrap();
    let items: Vec<_> = blocking_server_streaming_call(
        &channel,
        &SERVER_STREAM,
        &bounded(),
        StreamRequest::default(),
    )
    .collect();
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap(), &reply("one"));
    assert_eq!(items[1].as_ref().unwrap(), &reply("two"));
    let status = items[2].as_ref().unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status}");
    assert!(status.message().contains("INTERNAL_ERROR"), "{status}");
}

#[test]
fn a_refused_stream_is_retried_transparently_on_the_same_connection() {
    let streams = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = MockServer::start(move |mut stream| {
        let first = streams.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        async move {
            if first {
                stream.send_reset(Reason::REFUSED_STREAM);
            } else {
                stream.send_unary_ok(&reply_with_payload("retried"));
            }
        }
    });
    let channel = channel_to(server.url());
    let got = blocking_unary_call(&channel, &UNARY, &bounded(), hello("once"));
    assert_eq!(got.unwrap(), reply_with_payload("retried"));
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "the refused call was sent again");
    assert_eq!(requests[0].body, requests[1].body, "with the same request");
    assert_eq!(server.connections(), 1);
}
