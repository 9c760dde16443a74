//! The tonic client, used as tonic's docs recommend: `tonic::client::Grpc`
//! (what tonic-build's generated clients wrap) over a
//! `tonic::transport::Channel`, on a tokio multi-thread runtime.
//!
//! - unary latency (and allocations): the documented blocking wrapper, one
//!   `Runtime::block_on` per call, the baseline of the blocking target;
//! - 64 in flight: 64 tasks spawned on the runtime, each looping calls on a
//!   clone of the one channel;
//! - multi-connection with N connections: tonic's own balancer,
//!   `Channel::balance_channel` with N endpoints to the same server, inserted
//!   under the keys `0..N`, and calls as for 64 in flight over the balanced
//!   channel. (`balance_list` keys endpoints by URI, so N copies of one URI
//!   would collapse into one connection; the channel form with N distinct
//!   keys is the same balancer, tower's power-of-two-choices.)
//! - server stream: one `server_streaming` call awaited on the runtime;
//! - 10,000 pending: 10,000 calls, each with a `set_timeout` deadline,
//!   polled by one task on the runtime.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::uri::PathAndQuery;
use switchboard_tests::echo::{EchoRequest, EchoResponse, StreamRequest};
use switchboard_tests::{ECHO_SERVER_STREAM_PATH, ECHO_UNARY_PATH};
use tonic::client::Grpc;
use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

use super::switchboard::check_count;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::Sender;

use super::{
    Client, Multi, Result, TONIC, held_deadline, held_request, paced, request, spawned,
    stream_request,
};

/// One unary call through `grpc`, after waiting for it to be ready.
async fn unary(grpc: &mut Grpc<Channel>, request: tonic::Request<EchoRequest>) -> Result<()> {
    grpc.ready().await?;
    let path = PathAndQuery::from_static(ECHO_UNARY_PATH);
    let codec = tonic_prost::ProstCodec::<EchoRequest, EchoResponse>::default();
    grpc.unary(request, path, codec).await?;
    Ok(())
}

/// `calls` sequential unary calls on a clone of `channel`; their latencies.
async fn calls(channel: Channel, calls: usize) -> Result<Vec<Duration>> {
    let mut grpc = Grpc::new(channel);
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        unary(&mut grpc, tonic::Request::new(request())).await?;
        latencies.push(start.elapsed());
    }
    Ok(latencies)
}

/// A balanced channel and the sender of its endpoint list, kept so that the
/// list stays open.
type Balanced = (Channel, Sender<Change<usize, Endpoint>>);

/// `Channel::balance_channel` over `n` endpoints to `url`, on `runtime`.
fn balance(runtime: &Runtime, url: &str, n: usize) -> Result<Balanced> {
    let _context = runtime.enter();
    let (channel, changes) = Channel::balance_channel(n);
    for key in 0..n {
        changes.try_send(Change::Insert(key, Endpoint::from_shared(url.to_string())?))?;
    }
    Ok((channel, changes))
}

/// The tonic client, connected to `url`.
pub fn client(url: &str) -> Result<Client> {
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    );
    let channel = runtime.block_on(Channel::from_shared(url.to_string())?.connect())?;
    let balanced = RefCell::new(BTreeMap::<usize, Balanced>::new());
    let url = url.to_string();
    let (ch1, ch2, ch3) = (channel.clone(), channel.clone(), channel.clone());
    let (r1, r2, r3, r4) = (
        runtime.clone(),
        runtime.clone(),
        runtime.clone(),
        runtime.clone(),
    );
    Ok(Client {
        name: TONIC,
        unary: Box::new(move |n, each| {
            let mut grpc = Grpc::new(ch1.clone());
            for _ in 0..n {
                let start = Instant::now();
                // The blocking wrapper tonic documents: block_on per call.
                r1.block_on(unary(&mut grpc, tonic::Request::new(request())))?;
                each(start.elapsed());
            }
            Ok(())
        }),
        throughput: Box::new(move |load| {
            r2.block_on(spawned(load.in_flight, || {
                calls(ch2.clone(), load.calls_each)
            }))
        }),
        multi: Multi {
            setting: |n| {
                format!("Channel::balance_channel, {n} endpoints (keys 0..{n}) to the URL")
            },
            run: Box::new(move |n, load| {
                let channel = match balanced.borrow_mut().entry(n) {
                    Entry::Occupied(entry) => entry.get().0.clone(),
                    Entry::Vacant(entry) => entry.insert(balance(&r3, &url, n)?).0.clone(),
                };
                r3.block_on(spawned(load.in_flight, || {
                    calls(channel.clone(), load.calls_each)
                }))
            }),
        },
        server_stream: Box::new(move |n| {
            let mut grpc = Grpc::new(ch3.clone());
            r4.block_on(async move {
                let start = Instant::now();
                grpc.ready().await?;
                let path = PathAndQuery::from_static(ECHO_SERVER_STREAM_PATH);
                let codec = tonic_prost::ProstCodec::<StreamRequest, EchoResponse>::default();
                let mut stream = grpc
                    .server_streaming(tonic::Request::new(stream_request(n)), path, codec)
                    .await?
                    .into_inner();
                let mut count = 0u32;
                while stream.message().await?.is_some() {
                    count += 1;
                }
                check_count(count, n)?;
                Ok(f64::from(n) / start.elapsed().as_secs_f64())
            })
        }),
        pending: Box::new(move |hold| {
            runtime.block_on(paced(hold, || {
                let mut grpc = Grpc::new(channel.clone());
                let mut request = tonic::Request::new(held_request(hold.sleep_ms));
                request.set_timeout(held_deadline(hold.sleep_ms));
                async move { unary(&mut grpc, request).await }
            }))
        }),
    })
}
