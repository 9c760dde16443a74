//! The clients under test, each able to run every scenario.
//!
//! - switchboard: the blocking helper; the async helpers on a tokio runtime;
//!   the async helpers under `futures::executor::block_on` (no runtime).
//! - tonic: its client used as its docs recommend: `Grpc` on a tokio
//!   multi-thread runtime, and for blocking use the documented `block_on`
//!   wrapper around that runtime.

use std::error::Error;
use std::time::{Duration, Instant};

use futures::StreamExt;
use switchboard::stub::{
    async_server_streaming_call, blocking_server_streaming_call, blocking_unary_call,
    future_unary_call,
};
use switchboard::{CallOptions, MethodDescriptor, MethodKind, ProstCodec};
use switchboard_tests::echo::{EchoRequest, EchoResponse, StreamRequest};
use switchboard_tests::{ECHO_SERVER_STREAM_PATH, ECHO_UNARY_PATH};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const UNARY: MethodDescriptor<EchoRequest, EchoResponse> =
    MethodDescriptor::new(ECHO_UNARY_PATH, MethodKind::Unary, ProstCodec);
const SERVER_STREAM: MethodDescriptor<StreamRequest, EchoResponse> = MethodDescriptor::new(
    ECHO_SERVER_STREAM_PATH,
    MethodKind::ServerStreaming,
    ProstCodec,
);

/// One client: a name and a function per scenario.
pub struct Client {
    /// Shown in the tables.
    pub name: &'static str,
    /// Makes `n` sequential unary calls after a warm-up; their latencies.
    pub unary_latency: Box<dyn Fn(usize) -> Result<Vec<Duration>>>,
    /// Reads one server stream of `n` 100-byte messages; messages per second.
    pub server_stream: Box<dyn Fn(u32) -> Result<f64>>,
}

fn request() -> EchoRequest {
    EchoRequest {
        payload: vec![7; 100],
        ..Default::default()
    }
}

fn stream_request(count: u32) -> StreamRequest {
    StreamRequest {
        count,
        size: 100,
        ..Default::default()
    }
}

fn warmup(n: usize) -> usize {
    (n / 10).max(200)
}

/// Every client, connected to `url`.
pub fn all(url: &str) -> Result<Vec<Client>> {
    Ok(vec![
        switchboard_blocking(url)?,
        switchboard_tokio(url)?,
        switchboard_block_on(url)?,
        tonic_client(url)?,
    ])
}

fn switchboard_blocking(url: &str) -> Result<Client> {
    let channel = switchboard::Channel::builder(url).build()?;
    let stream_channel = channel.clone();
    Ok(Client {
        name: "switchboard blocking",
        unary_latency: Box::new(move |n| {
            let options = CallOptions::new();
            let mut samples = Vec::with_capacity(n);
            for i in 0..warmup(n) + n {
                let start = Instant::now();
                blocking_unary_call(&channel, &UNARY, &options, request())?;
                if i >= warmup(n) {
                    samples.push(start.elapsed());
                }
            }
            Ok(samples)
        }),
        server_stream: Box::new(move |n| {
            let start = Instant::now();
            let mut count = 0u32;
            for item in blocking_server_streaming_call(
                &stream_channel,
                &SERVER_STREAM,
                &CallOptions::new(),
                stream_request(n),
            ) {
                item?;
                count += 1;
            }
            assert_eq!(count, n);
            Ok(f64::from(n) / start.elapsed().as_secs_f64())
        }),
    })
}

async fn switchboard_async_latency(
    channel: &switchboard::Channel,
    n: usize,
) -> Result<Vec<Duration>> {
    let options = CallOptions::new();
    let mut samples = Vec::with_capacity(n);
    for i in 0..warmup(n) + n {
        let start = Instant::now();
        future_unary_call(channel, &UNARY, &options, request()).await?;
        if i >= warmup(n) {
            samples.push(start.elapsed());
        }
    }
    Ok(samples)
}

async fn switchboard_async_stream(channel: &switchboard::Channel, n: u32) -> Result<f64> {
    let start = Instant::now();
    let mut stream = async_server_streaming_call(
        channel,
        &SERVER_STREAM,
        &CallOptions::new(),
        stream_request(n),
    );
    let mut count = 0u32;
    while let Some(item) = stream.next().await {
        item?;
        count += 1;
    }
    assert_eq!(count, n);
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

fn switchboard_tokio(url: &str) -> Result<Client> {
    let channel = switchboard::Channel::builder(url).build()?;
    let runtime = std::sync::Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    );
    let (c1, r1) = (channel.clone(), runtime.clone());
    Ok(Client {
        name: "switchboard async (tokio)",
        unary_latency: Box::new(move |n| r1.block_on(switchboard_async_latency(&c1, n))),
        server_stream: Box::new(move |n| runtime.block_on(switchboard_async_stream(&channel, n))),
    })
}

fn switchboard_block_on(url: &str) -> Result<Client> {
    let channel = switchboard::Channel::builder(url).build()?;
    let c1 = channel.clone();
    Ok(Client {
        name: "switchboard async (block_on, no runtime)",
        unary_latency: Box::new(move |n| {
            futures::executor::block_on(switchboard_async_latency(&c1, n))
        }),
        server_stream: Box::new(move |n| {
            futures::executor::block_on(switchboard_async_stream(&channel, n))
        }),
    })
}

fn tonic_client(url: &str) -> Result<Client> {
    let runtime = std::sync::Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    );
    let channel =
        runtime.block_on(tonic::transport::Channel::from_shared(url.to_string())?.connect())?;
    let (ch1, r1) = (channel.clone(), runtime.clone());
    Ok(Client {
        name: "tonic",
        unary_latency: Box::new(move |n| {
            let mut grpc = tonic::client::Grpc::new(ch1.clone());
            let mut samples = Vec::with_capacity(n);
            for i in 0..warmup(n) + n {
                let start = Instant::now();
                // The blocking wrapper tonic documents: block_on per call.
                r1.block_on(async {
                    grpc.ready().await?;
                    let path = http::uri::PathAndQuery::from_static(ECHO_UNARY_PATH);
                    let codec = tonic_prost::ProstCodec::<EchoRequest, EchoResponse>::default();
                    grpc.unary(tonic::Request::new(request()), path, codec)
                        .await?;
                    Ok::<_, Box<dyn Error>>(())
                })?;
                if i >= warmup(n) {
                    samples.push(start.elapsed());
                }
            }
            Ok(samples)
        }),
        server_stream: Box::new(move |n| {
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            runtime.block_on(async move {
                let start = Instant::now();
                grpc.ready().await?;
                let path = http::uri::PathAndQuery::from_static(ECHO_SERVER_STREAM_PATH);
                let codec = tonic_prost::ProstCodec::<StreamRequest, EchoResponse>::default();
                let mut stream = grpc
                    .server_streaming(tonic::Request::new(stream_request(n)), path, codec)
                    .await?
                    .into_inner();
                let mut count = 0u32;
                while let Some(item) = stream.message().await? {
                    let _ = item;
                    count += 1;
                }
                assert_eq!(count, n);
                Ok(f64::from(n) / start.elapsed().as_secs_f64())
            })
        }),
    })
}
