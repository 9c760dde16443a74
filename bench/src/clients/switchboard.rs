//! The three switchboard clients, each on its own default [`Channel`] (one
//! HTTP/2 connection, driven on switchboard's shared I/O thread), each doing
//! what a user of that API would do:
//!
//! | client | unary / stream | 64 in flight | 10,000 pending |
//! | --- | --- | --- | --- |
//! | blocking | `blocking_unary_call`, blocking iterator | 64 OS threads, each looping `blocking_unary_call` | 10,000 `future_unary_call`s started, then `.wait()`ed in turn on one thread |
//! | async (tokio) | `.await` inside `block_on` of a multi-thread runtime | 64 tasks spawned on that runtime | 10,000 `UnaryFuture`s polled by one task |
//! | async (block_on) | `.await` under `futures::executor::block_on` | 64 futures joined under `block_on` | 10,000 futures joined under `block_on` |
//!
//! A blocking user holding 10,000 calls at once would not start 10,000
//! threads (their stacks would measure the kernel, not switchboard); the
//! blocking client uses `UnaryFuture::wait`, which is what
//! `blocking_unary_call` runs.
//!
//! The multi-connection rows run the same throughput code on one channel
//! from [`multi_connection_channel`], switchboard's multi-connection setting
//! (issue 13), one such channel per client and number of connections.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use futures::StreamExt;
use futures::future::join_all;
use switchboard::stub::{
    UnaryFuture, async_server_streaming_call, blocking_server_streaming_call, blocking_unary_call,
    future_unary_call,
};
use switchboard::{CallOptions, Channel, MethodDescriptor, MethodKind, ProstCodec};
use switchboard_tests::echo::{EchoRequest, EchoResponse, StreamRequest};
use switchboard_tests::{ECHO_SERVER_STREAM_PATH, ECHO_UNARY_PATH};

use super::{
    Batch, Client, Hold, Load, Mark, Multi, Result, SWITCHBOARD_BLOCK_ON, SWITCHBOARD_BLOCKING,
    SWITCHBOARD_TOKIO, batch, held_deadline, held_request, paced, request, spawned, stream_request,
};

pub(crate) const UNARY: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_UNARY_PATH, MethodKind::Unary, ProstCodec);
pub(crate) const SERVER_STREAM: MethodDescriptor<StreamRequest, EchoResponse> =
    MethodDescriptor::new(
        ECHO_SERVER_STREAM_PATH,
        MethodKind::ServerStreaming,
        ProstCodec,
    );

/// switchboard's multi-connection setting: one [`Channel`] to `url` that
/// opens `connections` connections to each address and spreads calls over
/// them round robin (issue 13).
///
/// `ChannelBuilder::connections_per_address`: the channel opens
/// `connections` connections and puts each call on the least loaded (the
/// scenario prints how many TCP connections each setting opened).
pub fn multi_connection_channel(url: &str, connections: usize) -> Result<Channel> {
    if connections == 0 {
        return Err("a multi-connection channel needs at least one connection".into());
    }
    Ok(Channel::builder(url)
        .connections_per_address(connections)
        .build()?)
}

/// The channels of one client's multi-connection runs, by number of
/// connections, each built on its first run.
pub(crate) struct MultiChannels {
    url: String,
    built: RefCell<BTreeMap<usize, Channel>>,
}

impl MultiChannels {
    pub(crate) fn new(url: &str) -> MultiChannels {
        MultiChannels {
            url: url.to_string(),
            built: RefCell::default(),
        }
    }

    /// The channel with `n` connections.
    pub(crate) fn get(&self, n: usize) -> Result<Channel> {
        if let Some(channel) = self.built.borrow().get(&n) {
            return Ok(channel.clone());
        }
        let channel = multi_connection_channel(&self.url, n)?;
        self.built.borrow_mut().insert(n, channel.clone());
        Ok(channel)
    }
}

/// How the multi-connection rows are set up, for the notes.
fn multi_setting(n: usize) -> String {
    format!("one Channel from multi_connection_channel(url, {n})")
}

/// The blocking client: `blocking_unary_call` and the blocking iterator.
pub fn blocking(url: &str) -> Result<Client> {
    let channel = Channel::builder(url).build()?;
    let multi = MultiChannels::new(url);
    let (c1, c2, c3) = (channel.clone(), channel.clone(), channel.clone());
    Ok(Client {
        name: SWITCHBOARD_BLOCKING,
        unary: Box::new(move |n, each| {
            let options = CallOptions::new();
            for _ in 0..n {
                let start = Instant::now();
                blocking_unary_call(&c1, &UNARY, &options, request())?;
                each(start.elapsed());
            }
            Ok(())
        }),
        throughput: Box::new(move |load| blocking_threads(&c2, load)),
        multi: Multi {
            setting: multi_setting,
            run: Box::new(move |n, load| blocking_threads(&multi.get(n)?, load)),
        },
        server_stream: Box::new(move |n| {
            let start = Instant::now();
            let mut count = 0u32;
            let options = CallOptions::new();
            for item in
                blocking_server_streaming_call(&c3, &SERVER_STREAM, &options, stream_request(n))
            {
                item?;
                count += 1;
            }
            check_count(count, n)?;
            Ok(f64::from(n) / start.elapsed().as_secs_f64())
        }),
        pending: Box::new(move |hold| {
            for call in start_paced(&channel, hold) {
                call.wait()?;
            }
            Ok(())
        }),
    })
}

/// `load.in_flight` threads, released together, each looping blocking calls.
fn blocking_threads(channel: &Channel, load: Load) -> Result<Batch> {
    let barrier = Barrier::new(load.in_flight + 1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..load.in_flight)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let options = CallOptions::new();
                    let mut latencies = Vec::with_capacity(load.calls_each);
                    for _ in 0..load.calls_each {
                        let start = Instant::now();
                        blocking_unary_call(channel, &UNARY, &options, request())?;
                        latencies.push(start.elapsed());
                    }
                    Ok(latencies)
                })
            })
            .collect();
        barrier.wait();
        let start = Mark::now();
        let results = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("worker panicked".into())))
            .collect();
        batch(start, results)
    })
}

/// `calls` sequential async unary calls on `channel`; their latencies.
async fn async_calls(channel: Channel, calls: usize) -> Result<Vec<std::time::Duration>> {
    let options = CallOptions::new();
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        future_unary_call(&channel, &UNARY, &options, request()).await?;
        latencies.push(start.elapsed());
    }
    Ok(latencies)
}

/// Reads a server stream of `n` messages asynchronously; messages per second.
async fn async_stream(channel: &Channel, n: u32) -> Result<f64> {
    let start = Instant::now();
    let options = CallOptions::new();
    let mut stream =
        async_server_streaming_call(channel, &SERVER_STREAM, &options, stream_request(n));
    let mut count = 0u32;
    while let Some(item) = stream.next().await {
        item?;
        count += 1;
    }
    check_count(count, n)?;
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

/// The async client on a tokio multi-thread runtime (tokio's defaults: one
/// worker per core).
pub fn tokio(url: &str) -> Result<Client> {
    let channel = Channel::builder(url).build()?;
    let multi = MultiChannels::new(url);
    let runtime = Arc::new(
        ::tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    );
    let (c1, c2, c3) = (channel.clone(), channel.clone(), channel.clone());
    let (r1, r2, r3, r4) = (
        runtime.clone(),
        runtime.clone(),
        runtime.clone(),
        runtime.clone(),
    );
    Ok(Client {
        name: SWITCHBOARD_TOKIO,
        unary: Box::new(move |n, each| {
            r1.block_on(async {
                let options = CallOptions::new();
                for _ in 0..n {
                    let start = Instant::now();
                    future_unary_call(&c1, &UNARY, &options, request()).await?;
                    each(start.elapsed());
                }
                Ok(())
            })
        }),
        throughput: Box::new(move |load| {
            r2.block_on(spawned(load.in_flight, || {
                async_calls(c2.clone(), load.calls_each)
            }))
        }),
        multi: Multi {
            setting: multi_setting,
            run: Box::new(move |n, load| {
                let channel = multi.get(n)?;
                r4.block_on(spawned(load.in_flight, || {
                    async_calls(channel.clone(), load.calls_each)
                }))
            }),
        },
        server_stream: Box::new(move |n| r3.block_on(async_stream(&c3, n))),
        pending: Box::new(move |hold| {
            let options = CallOptions::new().with_deadline_after(held_deadline(hold.sleep_ms));
            runtime.block_on(paced(hold, || {
                let call =
                    future_unary_call(&channel, &UNARY, &options, held_request(hold.sleep_ms));
                async move { Ok(call.await.map(drop)?) }
            }))
        }),
    })
}

/// The async client under `futures::executor::block_on`: no runtime at all
/// on the caller's side.
pub fn block_on(url: &str) -> Result<Client> {
    let channel = Channel::builder(url).build()?;
    let multi = MultiChannels::new(url);
    let (c1, c2, c3) = (channel.clone(), channel.clone(), channel.clone());
    Ok(Client {
        name: SWITCHBOARD_BLOCK_ON,
        unary: Box::new(move |n, each| {
            futures::executor::block_on(async {
                let options = CallOptions::new();
                for _ in 0..n {
                    let start = Instant::now();
                    future_unary_call(&c1, &UNARY, &options, request()).await?;
                    each(start.elapsed());
                }
                Ok(())
            })
        }),
        throughput: Box::new(move |load| joined(&c2, load)),
        multi: Multi {
            setting: multi_setting,
            run: Box::new(move |n, load| joined(&multi.get(n)?, load)),
        },
        server_stream: Box::new(move |n| futures::executor::block_on(async_stream(&c3, n))),
        pending: Box::new(move |hold| {
            let calls = start_paced(&channel, hold);
            for result in futures::executor::block_on(join_all(calls)) {
                result?;
            }
            Ok(())
        }),
    })
}

/// `load.in_flight` futures joined under `futures::executor::block_on`,
/// each looping async calls on `channel`.
fn joined(channel: &Channel, load: Load) -> Result<Batch> {
    let start = Mark::now();
    let workers = (0..load.in_flight).map(|_| async_calls(channel.clone(), load.calls_each));
    batch(start, futures::executor::block_on(join_all(workers)))
}

/// Starts the held calls of `hold` batch by batch, sleeping the calling
/// thread between batches (a switchboard call starts when it is made, so
/// nothing needs polling meanwhile); their futures.
fn start_paced(channel: &Channel, hold: &Hold) -> Vec<UnaryFuture<EchoResponse>> {
    let options = CallOptions::new().with_deadline_after(held_deadline(hold.sleep_ms));
    let mut calls = Vec::with_capacity(hold.calls);
    let mut batches = hold.batches().peekable();
    while let Some(n) = batches.next() {
        calls
            .extend((0..n).map(|_| {
                future_unary_call(channel, &UNARY, &options, held_request(hold.sleep_ms))
            }));
        if batches.peek().is_some() {
            std::thread::sleep(hold.gap);
        }
    }
    calls
}

/// Fails unless a stream delivered the `expected` number of messages.
pub fn check_count(count: u32, expected: u32) -> Result<()> {
    if count == expected {
        Ok(())
    } else {
        Err(format!("stream delivered {count} messages, expected {expected}").into())
    }
}
