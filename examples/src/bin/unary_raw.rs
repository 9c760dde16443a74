//! A hand-written unary call, blocking and as a future, against an embedded
//! demo server (tonic, on 127.0.0.1 port 0), with no generated code.
//!
//! Run: `cargo run --release -p switchboard-examples --bin unary_raw`

use std::time::Duration;

use switchboard::stub::{blocking_unary_call, future_unary_call};
use switchboard::{CallOptions, Channel, Code};
use switchboard_examples::{ECHO_UNARY, EchoRequest};
use switchboard_tests::TonicServer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TonicServer::start();
    println!("demo server (tonic) listening on {}", server.url());

    // Building a channel does no I/O; the first call connects.
    let channel = Channel::builder(server.url()).build()?;
    let options = CallOptions::new().with_deadline_after(Duration::from_secs(5));

    // Blocking: no async runtime needed; this thread runs the call's callbacks.
    let request = EchoRequest {
        message: "hello, blocking".into(),
        ..Default::default()
    };
    let reply = blocking_unary_call(&channel, &ECHO_UNARY, &options, request)?;
    println!("blocking reply: {}", reply.message);

    // Future: starts now, completes on any executor.
    let request = EchoRequest {
        message: "hello, future".into(),
        ..Default::default()
    };
    let future = future_unary_call(&channel, &ECHO_UNARY, &options, request);
    let reply = futures::executor::block_on(future)?;
    println!("future reply:   {}", reply.message);

    // Errors come back as a Status.
    let request = EchoRequest {
        status_code: Code::NotFound.as_i32(),
        status_message: "nothing here".into(),
        ..Default::default()
    };
    match blocking_unary_call(&channel, &ECHO_UNARY, &options, request) {
        Err(status) => println!("error status:   {status}"),
        Ok(reply) => println!("unexpected reply: {reply:?}"),
    }
    Ok(())
}
