//! helloworld: generated stubs, blocking and async, against an embedded
//! demo Greeter server.
//!
//! Run: `cargo run --release -p switchboard-examples --bin helloworld`
//!
//! `build.rs` compiled `proto/helloworld.proto` with one line,
//! `switchboard_build::compile_protos(&["proto/helloworld.proto"], &["proto"])`,
//! and `src/lib.rs` includes the result with
//! `switchboard::include_proto!("helloworld")`. The demo server is tonic:
//! switchboard is a client only, for now.

use std::time::Duration;

use switchboard::Channel;
// The stubs' call options (`with_deadline_after`, …) come from the prelude.
use switchboard::prelude::*;
use switchboard_examples::demo::DemoServer;
use switchboard_examples::helloworld::HelloRequest;
use switchboard_examples::helloworld::greeter_client::{GreeterAsyncStub, GreeterBlockingStub};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = DemoServer::start()?;
    println!("demo Greeter server (tonic) listening on {}", server.url());

    // Building a channel does no I/O; the first call connects. Stubs are
    // cheap to clone and share the channel.
    let channel = Channel::builder(server.url()).build()?;

    // Blocking stub: no async runtime needed; the reply is decoded on this thread.
    let blocking =
        GreeterBlockingStub::new(channel.clone()).with_deadline_after(Duration::from_secs(5));
    let reply = blocking.say_hello(HelloRequest {
        name: "blocking stub".into(),
    })?;
    println!("blocking stub: {}", reply.message);

    // Async stub: the call starts now; await the future on any executor.
    let stub = GreeterAsyncStub::new(channel).with_deadline_after(Duration::from_secs(5));
    let future = stub.say_hello(HelloRequest {
        name: "async stub".into(),
    });
    let reply = futures::executor::block_on(future)?;
    println!("async stub:    {}", reply.message);
    Ok(())
}
