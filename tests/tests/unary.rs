//! Unary calls, blocking and future, against the Echo peer: replies, a
//! reused connection, futures on tokio and on other executors, and many
//! threads sharing one channel.

use switchboard::CallOptions;
use switchboard::stub::{blocking_unary_call, future_unary_call};
use switchboard_tests::TonicServer;
use switchboard_tests::methods::UNARY;
use switchboard_tests::support::{channel_to, hello};

#[test]
fn blocking_unary_ok() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("hi")).unwrap();
    assert_eq!(reply.message, "hi");
    // A second call reuses the connection.
    let reply = blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello("again")).unwrap();
    assert_eq!(reply.message, "again");
    assert_eq!(server.counters().calls(), 2);
}

#[test]
fn future_under_futures_block_on_without_tokio() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let reply = futures::executor::block_on(future_unary_call(
        &channel,
        &UNARY,
        &CallOptions::new(),
        hello("no tokio here"),
    ))
    .unwrap();
    assert_eq!(reply.message, "no tokio here");
}

#[test]
fn future_under_a_tokio_runtime() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let replies = runtime.block_on(async {
        let a = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("a"));
        let b = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("b"));
        let (a, b) = tokio::join!(a, b);
        (a.unwrap().message, b.unwrap().message)
    });
    assert_eq!(replies, ("a".to_string(), "b".to_string()));
}

#[test]
fn future_wait_blocks_for_the_reply() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let future = future_unary_call(&channel, &UNARY, &CallOptions::new(), hello("wait"));
    assert_eq!(future.wait().unwrap().message, "wait");
}

#[test]
fn sixteen_threads_share_one_channel() {
    let server = TonicServer::start();
    let channel = channel_to(server.url());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let channel = channel.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    let text = format!("{t}-{i}");
                    let reply =
                        blocking_unary_call(&channel, &UNARY, &CallOptions::new(), hello(&text))
                            .unwrap_or_else(|s| panic!("call {text} failed: {s}"));
                    assert_eq!(reply.message, text);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(server.counters().calls(), 16_000);
}
