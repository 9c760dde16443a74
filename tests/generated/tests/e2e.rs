//! End to end: the stubs `switchboard-build` generated for `helloworld` and
//! `routeguide` call real tonic servers (see `support`), through both the
//! blocking and the async stub, with the per-stub options.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use switchboard::interceptor::CallContext;
use switchboard::prelude::*;
use switchboard::{Channel, Code, Deadline, Metadata, Status};
use switchboard_generated_tests::helloworld::HelloRequest;
use switchboard_generated_tests::helloworld::greeter_client::{
    self, GreeterAsyncStub, GreeterBlockingStub,
};
use switchboard_generated_tests::routeguide::route_guide_client::{
    RouteGuideAsyncStub, RouteGuideBlockingStub,
};
use switchboard_generated_tests::routeguide::{Point, Rectangle, RouteNote};

use support::DemoServer;

fn channel(server: &DemoServer) -> Channel {
    Channel::builder(server.url())
        .build()
        .expect("valid target")
}

fn hello(name: &str) -> HelloRequest {
    HelloRequest { name: name.into() }
}

fn point(latitude: i32, longitude: i32) -> Point {
    Point {
        latitude,
        longitude,
    }
}

#[test]
fn stubs_are_clone_send_sync_and_descriptors_name_the_method() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    assert_traits::<GreeterBlockingStub>();
    assert_traits::<GreeterAsyncStub>();
    assert_traits::<RouteGuideBlockingStub>();
    assert_traits::<RouteGuideAsyncStub>();
    assert_eq!(
        greeter_client::SAY_HELLO.full_path(),
        "/helloworld.Greeter/SayHello"
    );
    assert_eq!(
        greeter_client::SAY_HELLO.kind(),
        switchboard::MethodKind::Unary
    );
}

#[test]
fn blocking_stub_unary() {
    let server = DemoServer::start();
    let stub = GreeterBlockingStub::new(channel(&server));
    assert_eq!(
        stub.say_hello(hello("blocking")).unwrap().message,
        "Hello, blocking!"
    );
    // A clone shares the channel and keeps working.
    let clone = stub.clone();
    assert_eq!(
        clone.say_hello(hello("clone")).unwrap().message,
        "Hello, clone!"
    );
}

#[test]
fn async_stub_unary_on_any_executor_and_wait() {
    let server = DemoServer::start();
    let stub = GreeterAsyncStub::new(channel(&server));
    let reply = futures::executor::block_on(stub.say_hello(hello("async"))).unwrap();
    assert_eq!(reply.message, "Hello, async!");
    assert_eq!(
        stub.say_hello(hello("wait")).wait().unwrap().message,
        "Hello, wait!"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (a, b) = runtime
        .block_on(async { tokio::join!(stub.say_hello(hello("a")), stub.say_hello(hello("b"))) });
    assert_eq!(
        (a.unwrap().message, b.unwrap().message),
        ("Hello, a!".into(), "Hello, b!".into())
    );
}

#[test]
fn metadata_and_interceptors_reach_the_server_through_both_stubs() {
    let server = DemoServer::start();
    let mut metadata = Metadata::new();
    metadata.insert("x-greeting", "Howdy").unwrap();
    let blocking = GreeterBlockingStub::new(channel(&server)).with_metadata(metadata);
    assert_eq!(
        blocking.say_hello(hello("md")).unwrap().message,
        "Howdy, md!"
    );

    let asynchronous =
        GreeterAsyncStub::new(channel(&server)).with_interceptor(|call: &mut CallContext<'_>| {
            assert_eq!(call.method(), "/helloworld.Greeter/SayHello");
            call.metadata_mut()
                .insert("x-greeting", "Hi")
                .map_err(|e| Status::internal(e.to_string()))
        });
    assert_eq!(
        asynchronous.say_hello(hello("ic")).wait().unwrap().message,
        "Hi, ic!"
    );
}

#[test]
fn a_refusing_interceptor_fails_the_call_on_both_stubs() {
    let server = DemoServer::start();
    let refuse = |_: &mut CallContext<'_>| -> Result<(), Status> {
        Err(Status::permission_denied("no token"))
    };
    let blocking = GreeterBlockingStub::new(channel(&server)).with_interceptor(refuse);
    let status = blocking.say_hello(hello("x")).unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let asynchronous = GreeterAsyncStub::new(channel(&server)).with_interceptor(refuse);
    let status = asynchronous.say_hello(hello("x")).wait().unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[test]
fn deadlines_apply_per_call_on_both_stubs() {
    let server = DemoServer::start();
    let blocking =
        GreeterBlockingStub::new(channel(&server)).with_deadline_after(Duration::from_millis(100));
    assert_eq!(
        blocking.say_hello(hello("slow")).unwrap_err().code(),
        Code::DeadlineExceeded
    );
    // A fresh deadline per call: the next call has its own 100 ms... plenty.
    assert_eq!(
        blocking.say_hello(hello("fast")).unwrap().message,
        "Hello, fast!"
    );

    let asynchronous = GreeterAsyncStub::new(channel(&server))
        .with_deadline(Deadline::after(Duration::from_millis(100)));
    let status = asynchronous.say_hello(hello("slow")).wait().unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
}

#[test]
fn message_size_limits_apply_on_both_stubs() {
    let server = DemoServer::start();
    let blocking = GreeterBlockingStub::new(channel(&server)).with_max_inbound_message_size(1024);
    assert_eq!(
        blocking.say_hello(hello("big")).unwrap_err().code(),
        Code::ResourceExhausted
    );
    assert!(blocking.say_hello(hello("small")).is_ok());

    let asynchronous = GreeterAsyncStub::new(channel(&server)).with_max_outbound_message_size(16);
    let status = asynchronous
        .say_hello(hello("a name longer than sixteen bytes"))
        .wait()
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
}

#[test]
fn compression_reaches_the_wire_on_both_stubs() {
    let server = DemoServer::start();
    let blocking = GreeterBlockingStub::new(channel(&server)).with_compression("gzip");
    assert_eq!(blocking.options().compression(), Some("gzip"));
    assert_eq!(
        blocking.say_hello(hello("zip")).unwrap().message,
        "Hello, zip! (gzip)"
    );
    let asynchronous = GreeterAsyncStub::new(channel(&server)).with_compression("gzip");
    assert_eq!(
        asynchronous.say_hello(hello("zap")).wait().unwrap().message,
        "Hello, zap! (gzip)"
    );
}

#[test]
fn wait_for_ready_and_options_carry_over_between_stubs() {
    let server = DemoServer::start();
    let stub = GreeterBlockingStub::new(channel(&server)).with_wait_for_ready(true);
    assert!(stub.options().wait_for_ready());
    assert_eq!(
        stub.say_hello(hello("opts")).unwrap().message,
        "Hello, opts!"
    );
    let asynchronous =
        GreeterAsyncStub::new(stub.channel().clone()).with_options(stub.options().clone());
    assert!(asynchronous.options().wait_for_ready());
    let (channel, options) = stub.clone().into_parts();
    let rebuilt = GreeterAsyncStub::from_parts(channel, options);
    assert!(rebuilt.options().wait_for_ready());
    assert_eq!(
        asynchronous
            .say_hello(hello("copied"))
            .wait()
            .unwrap()
            .message,
        "Hello, copied!"
    );
}

#[test]
fn route_guide_unary_on_both_stubs() {
    let server = DemoServer::start();
    let blocking = RouteGuideBlockingStub::new(channel(&server));
    let feature = blocking.get_feature(point(10, 5)).unwrap();
    assert_eq!(feature.name, "feature at 10,5");
    let asynchronous = RouteGuideAsyncStub::new(channel(&server));
    let feature = futures::executor::block_on(asynchronous.get_feature(point(11, 5))).unwrap();
    assert_eq!(feature.name, "");
    assert_eq!(feature.location, Some(point(11, 5)));
}

fn rectangle() -> Rectangle {
    Rectangle {
        lo: Some(point(0, 1)),
        hi: Some(point(30, 1)),
    }
}

fn route() -> Vec<Point> {
    vec![point(0, 0), point(3, 4), point(10, 4)]
}

#[test]
fn blocking_server_streaming() {
    let server = DemoServer::start();
    let stub = RouteGuideBlockingStub::new(channel(&server));
    let names: Vec<String> = stub
        .list_features(rectangle())
        .map(|f| f.map(|f| f.name))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        names,
        [
            "feature at 0,1",
            "feature at 10,1",
            "feature at 20,1",
            "feature at 30,1"
        ]
    );
}

#[test]
fn blocking_client_streaming() {
    let server = DemoServer::start();
    let stub = RouteGuideBlockingStub::new(channel(&server));
    let summary = stub.record_route(route()).unwrap();
    assert_eq!(summary.point_count, 3);
    assert_eq!(summary.feature_count, 2);
    assert_eq!(summary.distance, 14);
}

#[test]
fn blocking_bidi_streaming() {
    let server = DemoServer::start();
    let stub = RouteGuideBlockingStub::new(channel(&server));
    let call = stub.route_chat();
    for message in ["one", "two"] {
        call.send(RouteNote {
            location: Some(point(1, 1)),
            message: message.into(),
        })
        .unwrap();
        let reply = call.recv().expect("a reply").unwrap();
        assert_eq!(reply.message, format!("echo: {message}"));
    }
    call.half_close();
    assert!(
        call.recv().is_none(),
        "the server ends the call after the half-close"
    );
}

#[test]
fn async_server_streaming() {
    use futures::StreamExt;
    let server = DemoServer::start();
    let stub = RouteGuideAsyncStub::new(channel(&server));
    let features: Vec<_> = futures::executor::block_on(stub.list_features(rectangle()).collect());
    let names: Vec<String> = features.into_iter().map(|f| f.unwrap().name).collect();
    assert_eq!(names.len(), 4, "{names:?}");
}

#[test]
fn async_client_streaming() {
    let server = DemoServer::start();
    let stub = RouteGuideAsyncStub::new(channel(&server));
    let summary =
        futures::executor::block_on(stub.record_route(futures::stream::iter(route()))).unwrap();
    assert_eq!(summary.point_count, 3);
    assert_eq!(summary.distance, 14);
}

#[test]
fn async_bidi_streaming() {
    use futures::StreamExt;
    let server = DemoServer::start();
    let stub = RouteGuideAsyncStub::new(channel(&server));
    let notes = futures::stream::iter(["one", "two", "three"].map(|m| RouteNote {
        location: Some(point(2, 2)),
        message: m.into(),
    }));
    let replies: Vec<String> =
        futures::executor::block_on(stub.route_chat(notes).collect::<Vec<_>>())
            .into_iter()
            .map(|r| r.unwrap().message)
            .collect();
    assert_eq!(replies, ["echo: one", "echo: two", "echo: three"]);
}
