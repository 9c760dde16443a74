//! The completion queue (`switchboard::CompletionQueue`) against the Echo
//! peer: every kind of call driven through `next`, deadlines and cancels
//! through the queue, shutdown with calls in flight, two threads in `next`
//! at once (each event delivered once), usage errors, dropping handles and
//! the queue, and a `next` that times out with nothing pending.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchboard::completion_queue::Next;
use switchboard::{CallOptions, Channel, Code, CompletionQueue, Deadline, Metadata, Status};
use switchboard_tests::TonicServer;
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::methods::{BIDI, CLIENT_STREAM, SERVER_STREAM, UNARY};
use switchboard_tests::support::{bounded, deadline, hello, ready_channel_to, stream_of};
use switchboard_tests::wait::WAIT_LIMIT;

/// Everything the tests' operations complete with.
#[derive(Debug)]
enum Ev {
    Unary(usize, Result<EchoResponse, Status>),
    Headers(Result<Metadata, Status>),
    Read(Result<Option<EchoResponse>, Status>),
    Wrote(Result<(), Status>),
    WritesDone(Result<(), Status>),
    Finished(Status),
    Response(Result<EchoResponse, Status>),
}

/// The next event; fails the test on a timeout (a lost event) or shutdown.
fn next_event(cq: &CompletionQueue<Ev>) -> Ev {
    match cq.next(Deadline::after(WAIT_LIMIT)) {
        Next::Event(event) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Asserts that the queue reports `Shutdown` now (nothing left in it).
fn assert_drained(cq: &CompletionQueue<Ev>) {
    match cq.next(Deadline::after(WAIT_LIMIT)) {
        Next::Shutdown => {}
        other => panic!("expected Shutdown, got {other:?}"),
    }
}

fn server_and_channel() -> (TonicServer, Channel) {
    let server = TonicServer::start();
    let channel = ready_channel_to(server.url());
    (server, channel)
}

#[test]
fn unary_calls_complete_with_their_tags() {
    let (_server, channel) = server_and_channel();
    let cq = CompletionQueue::new();
    for i in 0..20 {
        cq.unary(
            &channel,
            &UNARY,
            &bounded(),
            hello(&format!("m{i}")),
            move |r| Ev::Unary(i, r),
        )
        .unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..20 {
        match next_event(&cq) {
            Ev::Unary(i, result) => {
                assert_eq!(result.unwrap().message, format!("m{i}"));
                seen.push(i);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..20).collect::<Vec<_>>());
    cq.shutdown();
    assert_drained(&cq);
}

#[test]
fn unary_error_status_comes_back_as_the_tags_err() {
    let (_server, channel) = server_and_channel();
    let cq = CompletionQueue::new();
    let request = EchoRequest {
        status_code: Code::NotFound.as_i32(),
        status_message: "nothing here".into(),
        ..hello("x")
    };
    cq.unary(&channel, &UNARY, &bounded(), request, |r| Ev::Unary(0, r))
        .unwrap();
    match next_event(&cq) {
        Ev::Unary(0, Err(status)) => {
            assert_eq!(status.code(), Code::NotFound, "{status}");
            assert_eq!(status.message(), "nothing here");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn server_stream_reads_every_message_then_the_end() {
    let (_server, channel) = server_and_channel();
    let cq = CompletionQueue::new();
    let mut md = Metadata::new();
    md.insert("x-echo-who", "me").unwrap();
    let options = bounded().with_metadata(md);
    // More messages than the read-ahead window, so reads top it up.
    let stream = cq
        .server_streaming(&channel, &SERVER_STREAM, &options, stream_of(100, 8))
        .unwrap();
    stream.headers(Ev::Headers);
    match next_event(&cq) {
        Ev::Headers(headers) => assert_eq!(headers.unwrap().get("x-echo-who"), Some("me")),
        other => panic!("unexpected {other:?}"),
    }
    let mut indexes = Vec::new();
    loop {
        stream.read(Ev::Read);
        match next_event(&cq) {
            Ev::Read(Ok(Some(message))) => {
                assert_eq!(message.payload, vec![0xAB; 8]);
                indexes.push(message.index);
            }
            Ev::Read(Ok(None)) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(indexes, (0..100).collect::<Vec<_>>());
    stream.read(Ev::Read);
    assert!(
        matches!(next_event(&cq), Ev::Read(Ok(None))),
        "reads after the end get the end again"
    );
    stream.finish(Ev::Finished);
    match next_event(&cq) {
        Ev::Finished(status) => {
            assert!(status.is_ok(), "{status}");
            assert_eq!(status.trailers().get("x-echo-who"), Some("me"));
        }
        other => panic!("unexpected {other:?}"),
    }
    // Finish is the call's last operation: the queue can drain, and
    // operations after it are refused, their tags never called.
    cq.shutdown();
    assert_drained(&cq);
    stream.read(Ev::Read);
    assert_drained(&cq);
}

#[test]
fn an_unfinished_stream_holds_a_shut_down_queue_until_its_handle_drops() {
    let (_server, channel) = server_and_channel();
    let cq = CompletionQueue::new();
    let stream = cq
        .server_streaming(&channel, &SERVER_STREAM, &bounded(), stream_of(2, 1))
        .unwrap();
    cq.shutdown();
    let mut messages = 0;
    loop {
        stream.read(Ev::Read);
        match next_event(&cq) {
            Ev::Read(Ok(Some(_))) => messages += 1,
            Ev::Read(Ok(None)) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(messages, 2);
    // The call ended, but the handle could still start operations.
    assert!(matches!(
        cq.next(Deadline::after(Duration::from_millis(20))),
        Next::Timeout
    ));
    drop(stream);
    assert_drained(&cq);
}

#[test]
fn server_stream_error_end_reaches_the_read_and_the_finish() {
    let (_server, channel) = server_and_channel();
    let cq = CompletionQueue::new();
    let request = switchboard_tests::echo::StreamRequest {
        status_code: Code::Aborted.as_i32(),
        status_message: "stop".into(),
        ..stream_of(2, 1)
    };
    let stream = cq
        .server_streaming(&channel, &SERVER_STREAM, &bounded(), request)
        .unwrap();
    stream.finish(Ev::Finished);
    let mut messages = 0;
    let mut finished = None;
    let mut read_end = None;
    stream.read(Ev::Read);
    while finished.is_none() || read_end.is_none() {
        match next_event(&cq) {
            Ev::Read(Ok(Some(_))) => {
                messages += 1;
                stream.read(Ev::Read);
            }
            Ev::Read(Err(status)) => read_end = Some(status),
            Ev::Finished(status) => finished = Some(status),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(messages, 2, "messages before the error end are delivered");
    assert_eq!(read_end.unwrap().code(), Code::Aborted);
    assert_eq!(finished.unwrap().code(), Code::Aborted);
}

#[test]
fn client_stream_writes_then_finishes_with_the_one_response() {
    let (_server, channel) = server_and_channel();
    let cq = CompletionQueue::new();
    let call = cq
        .client_streaming(&channel, &CLIENT_STREAM, &bounded())
        .unwrap();
    call.finish(Ev::Response);
    let payload = |i: usize| EchoRequest {
        payload: vec![1; i],
        ..hello("c")
    };
    // One write at a time: the next is started when the last completed.
    let mut written = 0;
    call.write(payload(1), Ev::Wrote);
    let response = loop {
        match next_event(&cq) {
            Ev::Wrote(result) => {
                result.unwrap();
                written += 1;
                if written < 5 {
                    call.write(payload(written + 1), Ev::Wrote);
                } else {
                    call.writes_done(Ev::WritesDone);
                }
            }
            Ev::WritesDone(result) => result.unwrap(),
            Ev::Response(result) => break result.unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(response.message, "5", "the server counted five requests");
    assert_eq!(response.total_bytes, 1 + 2 + 3 + 4 + 5);
    call.write(payload(1), Ev::Wrote);
    match next_event(&cq) {
        Ev::Wrote(Err(status)) => assert_eq!(status.code(), Code::FailedPrecondition),
        other => panic!("a write after the end fails: {other:?}"),
    }
}

#[test]
fn bidi_stream_ping_pong_then_the_end() {
    let (_server, channel) = server_and_channel();
    let cq = CompletionQueue::new();
    let call = cq.bidi_streaming(&channel, &BIDI, &bounded()).unwrap();
    for i in 0..10 {
        call.write(hello(&format!("ping {i}")), Ev::Wrote);
        call.read(Ev::Read);
        let (mut wrote, mut read) = (false, None);
        while !wrote || read.is_none() {
            match next_event(&cq) {
                Ev::Wrote(result) => wrote = result.is_ok(),
                Ev::Read(result) => read = Some(result.unwrap().expect("a reply")),
                other => panic!("unexpected {other:?}"),
            }
        }
        let reply = read.unwrap();
        assert_eq!(reply.message, format!("ping {i}"));
        assert_eq!(reply.index, i);
    }
    call.writes_done(Ev::WritesDone);
    call.read(Ev::Read);
    call.finish(Ev::Finished);
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_event(&cq));
    }
    assert!(
        got.iter().any(|e| matches!(e, Ev::WritesDone(Ok(())))),
        "{got:?}"
    );
    assert!(
        got.iter().any(|e| matches!(e, Ev::Read(Ok(None)))),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|e| matches!(e, Ev::Finished(status) if status.is_ok())),
        "{got:?}"
    );
    cq.shutdown();
    assert_drained(&cq);
}

#[test]
fn call_deadlines_apply_through_the_queue() {
    let (server, channel) = server_and_channel();
    server.hold();
    let cq = CompletionQueue::new();
    let options = deadline(Duration::from_millis(200));
    cq.unary(&channel, &UNARY, &options, hello("late"), |r| {
        Ev::Unary(0, r)
    })
    .unwrap();
    let stream = cq
        .server_streaming(&channel, &SERVER_STREAM, &options, stream_of(3, 1))
        .unwrap();
    stream.read(Ev::Read);
    stream.finish(Ev::Finished);
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(match next_event(&cq) {
            Ev::Unary(0, result) => ("unary", result.unwrap_err().code()),
            Ev::Read(result) => ("read", result.unwrap_err().code()),
            Ev::Finished(status) => ("finish", status.code()),
            other => panic!("unexpected {other:?}"),
        });
    }
    codes.sort_unstable_by_key(|(what, _)| *what);
    assert_eq!(
        codes,
        [
            ("finish", Code::DeadlineExceeded),
            ("read", Code::DeadlineExceeded),
            ("unary", Code::DeadlineExceeded),
        ]
    );
    server.release();
}

#[test]
fn cancel_through_the_queue_ends_the_call_on_both_sides() {
    let (server, channel) = server_and_channel();
    server.hold();
    let cq = CompletionQueue::new();
    let unary = cq
        .unary(&channel, &UNARY, &bounded(), hello("held"), |r| {
            Ev::Unary(0, r)
        })
        .unwrap();
    let bidi = cq.bidi_streaming(&channel, &BIDI, &bounded()).unwrap();
    bidi.read(Ev::Read);
    server.wait_until_calls(3); // the warm-up call, then these two
    unary.cancel();
    bidi.cancel();
    let mut codes = Vec::new();
    for _ in 0..2 {
        codes.push(match next_event(&cq) {
            Ev::Unary(0, result) => result.unwrap_err().code(),
            Ev::Read(result) => result.unwrap_err().code(),
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(codes, [Code::Cancelled, Code::Cancelled]);
    server.wait_until_cancelled(2);
    bidi.finish(Ev::Finished);
    match next_event(&cq) {
        Ev::Finished(status) => assert_eq!(status.code(), Code::Cancelled),
        other => panic!("unexpected {other:?}"),
    }
    server.release();
}

#[test]
fn shutdown_with_calls_in_flight_drains_them_then_reports_shutdown() {
    let (server, channel) = server_and_channel();
    server.hold();
    let cq = CompletionQueue::new();
    for i in 0..5 {
        cq.unary(
            &channel,
            &UNARY,
            &bounded(),
            hello(&format!("m{i}")),
            move |r| Ev::Unary(i, r),
        )
        .unwrap();
    }
    let stream = cq
        .server_streaming(&channel, &SERVER_STREAM, &bounded(), stream_of(3, 1))
        .unwrap();
    stream.read(Ev::Read);
    server.wait_until_calls(7);
    cq.shutdown();

    let refused = cq.unary(&channel, &UNARY, &bounded(), hello("late"), |r| {
        Ev::Unary(99, r)
    });
    assert_eq!(refused.unwrap_err().code(), Code::Unavailable);
    // The server holds every call: nothing can complete yet.
    assert!(matches!(
        cq.next(Deadline::after(Duration::from_millis(50))),
        Next::Timeout
    ));

    server.release();
    let (mut unary, mut messages, mut finished, mut read_end) = (0, 0, false, false);
    stream.finish(Ev::Finished);
    while unary < 5 || !finished || !read_end {
        match next_event(&cq) {
            Ev::Unary(i, result) => {
                assert_eq!(result.unwrap().message, format!("m{i}"));
                unary += 1;
            }
            Ev::Read(Ok(Some(_))) => {
                messages += 1;
                stream.read(Ev::Read);
            }
            Ev::Read(Ok(None)) => read_end = true,
            Ev::Finished(status) => {
                assert!(status.is_ok(), "{status}");
                finished = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(messages, 3);
    assert_drained(&cq);
    // Drained is final.
    let refused = cq.unary(&channel, &UNARY, &bounded(), hello("x"), |r| {
        Ev::Unary(0, r)
    });
    assert!(refused.is_err());
    assert_drained(&cq);
}

#[test]
fn two_threads_in_next_get_each_event_exactly_once() {
    const CALLS: usize = 1_000;
    const IN_FLIGHT: usize = 64;
    let (_server, channel) = server_and_channel();
    let cq = CompletionQueue::new();
    let started = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let seen = Mutex::new(HashMap::<usize, usize>::new());
    let start_one = || {
        let i = started.fetch_add(1, Ordering::SeqCst);
        if i < CALLS {
            cq.unary(
                &channel,
                &UNARY,
                &bounded(),
                hello(&i.to_string()),
                move |r| Ev::Unary(i, r),
            )
            .unwrap();
        }
    };
    for _ in 0..IN_FLIGHT {
        start_one();
    }
    let per_thread: Vec<usize> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut taken = 0;
                    loop {
                        match cq.next(Deadline::after(WAIT_LIMIT)) {
                            Next::Event(Ev::Unary(i, result)) => {
                                assert_eq!(result.unwrap().message, i.to_string());
                                *seen.lock().unwrap().entry(i).or_default() += 1;
                                taken += 1;
                                start_one();
                                if done.fetch_add(1, Ordering::SeqCst) + 1 == CALLS {
                                    cq.shutdown();
                                }
                            }
                            Next::Shutdown => return taken,
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), CALLS, "every call's event arrived");
    assert!(seen.values().all(|&n| n == 1), "no event twice");
    assert_eq!(per_thread.iter().sum::<usize>(), CALLS);
}

#[test]
fn next_times_out_with_nothing_pending_and_reports_an_idle_shutdown() {
    let cq: CompletionQueue<Ev> = CompletionQueue::new();
    let limit = Deadline::after(Duration::from_millis(20));
    assert!(matches!(cq.next(limit), Next::Timeout));
    assert!(limit.is_expired(), "waited until the deadline");
    cq.shutdown();
    assert_drained(&cq);
}

#[test]
fn a_second_pending_operation_of_a_kind_fails_at_once() {
    let (server, channel) = server_and_channel();
    server.hold();
    let cq = CompletionQueue::new();
    let call = cq.bidi_streaming(&channel, &BIDI, &bounded()).unwrap();
    call.read(Ev::Read);
    call.read(Ev::Read);
    call.finish(Ev::Finished);
    call.finish(Ev::Finished);
    let mut codes = Vec::new();
    for _ in 0..2 {
        codes.push(match next_event(&cq) {
            Ev::Read(result) => ("read", result.unwrap_err().code()),
            Ev::Finished(status) => ("finish", status.code()),
            other => panic!("unexpected {other:?}"),
        });
    }
    codes.sort_unstable_by_key(|(what, _)| *what);
    assert_eq!(
        codes,
        [
            ("finish", Code::FailedPrecondition),
            ("read", Code::FailedPrecondition)
        ]
    );
    // The first read and finish are still pending, and end with the call.
    call.cancel();
    let mut rest: Vec<Code> = (0..2)
        .map(|_| match next_event(&cq) {
            Ev::Read(result) => result.unwrap_err().code(),
            Ev::Finished(status) => status.code(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    rest.dedup();
    assert_eq!(rest, [Code::Cancelled]);
    server.release();
}

#[test]
fn dropping_a_stream_handle_cancels_its_call() {
    let (server, channel) = server_and_channel();
    server.hold();
    let cq = CompletionQueue::<Ev>::new();
    let stream = cq
        .server_streaming(&channel, &SERVER_STREAM, &bounded(), stream_of(1000, 1))
        .unwrap();
    server.wait_until_calls(2);
    drop(stream);
    server.wait_until_cancelled(1);
    cq.shutdown();
    // The call's end still passes through the queue before it drains.
    assert_drained(&cq);
    server.release();
}

#[test]
fn dropping_the_queue_cancels_its_calls() {
    let (server, channel) = server_and_channel();
    server.hold();
    let cq = CompletionQueue::new();
    cq.unary(&channel, &UNARY, &bounded(), hello("held"), |r| {
        Ev::Unary(0, r)
    })
    .unwrap();
    let stream = cq.bidi_streaming(&channel, &BIDI, &bounded()).unwrap();
    stream.read(Ev::Read);
    server.wait_until_calls(3);
    drop(cq);
    server.wait_until_cancelled(2);
    // The handle outlives the queue: its operations are refused, quietly.
    stream.read(Ev::Read);
    server.release();
}

#[test]
fn a_refusing_interceptor_fails_the_call_through_the_queue() {
    let (_server, channel) = server_and_channel();
    let cq = CompletionQueue::new();
    let options = CallOptions::new().with_interceptor(
        |_: &mut switchboard::interceptor::CallContext<'_>| -> Result<(), Status> {
            Err(Status::permission_denied("no"))
        },
    );
    cq.unary(&channel, &UNARY, &options, hello("x"), |r| Ev::Unary(0, r))
        .unwrap();
    match next_event(&cq) {
        Ev::Unary(0, Err(status)) => assert_eq!(status.code(), Code::PermissionDenied),
        other => panic!("unexpected {other:?}"),
    }
    cq.shutdown();
    assert_drained(&cq);
}
