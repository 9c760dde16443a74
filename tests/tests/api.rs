//! The low-level call API and the public types: a listener that panics
//! closes its call instead of stranding the caller (rule 6), and
//! the auto traits the public types promise.

use std::sync::{Arc, Mutex};

use switchboard::call::{ClientCall, Listener};
use switchboard::executor::ThreadlessExecutor;
use switchboard::stub::blocking_unary_call;
use switchboard::{CallOptions, Channel, Code, Metadata, MethodDescriptor, Status};
use switchboard_tests::TonicServer;
use switchboard_tests::echo::{EchoRequest, EchoResponse};
use switchboard_tests::methods::UNARY;
use switchboard_tests::support::hello;

/// A listener that panics in `on_message` and records its close.
struct Panicky(Arc<Mutex<Option<Status>>>);

impl Listener<EchoResponse> for Panicky {
    fn on_message(&mut self, _: EchoResponse) {
        panic!("user code blew up");
    }
    fn on_close(&mut self, status: Status, _: Metadata) {
        *self.0.lock().unwrap() = Some(status);
    }
}

fn call_with_panicking_listener(channel: &Channel) -> Status {
    let executor = ThreadlessExecutor::new();
    let call = channel.new_call(&UNARY, &CallOptions::new(), executor.clone());
    let closed = Arc::new(Mutex::new(None));
    call.start(Box::new(Panicky(closed.clone())), Metadata::new());
    call.request(1);
    call.send_message(hello("boom"));
    call.half_close();
    loop {
        if let Some(status) = closed.lock().unwrap().take() {
            return status;
        }
        executor.wait_and_drain();
    }
}

#[test]
fn panicking_listener_closes_the_call_instead_of_stranding_the_caller() {
    let server = TonicServer::start();
    let channel = Channel::builder(server.url()).build().unwrap();
    // Cold channel: the call is pending first, its callbacks pass the gate.
    let status = call_with_panicking_listener(&channel);
    assert_eq!(status.code(), Code::Cancelled, "{status}");
    assert!(status.message().contains("user code blew up"), "{status}");
    // Warm channel: straight onto the real call.
    let status = call_with_panicking_listener(&channel);
    assert_eq!(status.code(), Code::Cancelled, "{status}");
    assert!(status.message().contains("panicked"), "{status}");
    // The channel is unharmed.
    blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("fine")).unwrap();
}

#[test]
fn public_types_have_the_expected_auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send_unpin<T: Send + Unpin>() {}
    fn clone<T: Clone>() {}
    send_sync::<Channel>();
    clone::<Channel>();
    send_sync::<switchboard::channel::ChannelCall<EchoRequest, EchoResponse>>();
    send_sync::<switchboard::call::DelayedClientCall<EchoRequest, EchoResponse>>();
    send_sync::<ThreadlessExecutor>();
    send_sync::<Status>();
    send_sync::<Metadata>();
    send_sync::<CallOptions>();
    send_sync::<MethodDescriptor<EchoRequest, EchoResponse>>();
    send_unpin::<switchboard::stub::UnaryFuture<EchoResponse>>();
}
