//! The switchboard completion-queue client (issue 14): every call driven
//! from the calling thread through one `CompletionQueue`, as gRPC Python's
//! `_spin` loop does; while it waits in `next`, that thread also drives the
//! channel's I/O (the shared default runtime).
//!
//! - latency: one `cq.unary` at a time, then `cq.next`;
//! - throughput (and multi-connection): `load.in_flight` unary calls kept
//!   in flight from ONE thread, each completion starting the slot's next
//!   call;
//! - server stream: one `read` at a time through the queue (a round trip
//!   through the queue per message: the queue is not the way to stream);
//! - held calls (RSS): started in paced batches, then all taken from the
//!   queue.

use std::time::{Duration, Instant};

use switchboard::completion_queue::Next;
use switchboard::{CallOptions, Channel, CompletionQueue, Deadline, Status};
use switchboard_tests::echo::EchoResponse;

use super::switchboard::{MultiChannels, SERVER_STREAM, UNARY};
use super::{
    Batch, Client, Load, Mark, Multi, Result, SWITCHBOARD_CQ, batch, held_deadline, held_request,
    request, stream_request,
};

/// How long `next` may wait for one completion before the run fails.
const WAIT: Duration = Duration::from_secs(30);

/// The completion-queue client, connected to `url`.
pub fn completion_queue_client(url: &str) -> Result<Client> {
    let channel = Channel::builder(url).build()?;
    let multi = MultiChannels::new(url);
    let (c1, c2, c3, c4) = (channel.clone(), channel.clone(), channel.clone(), channel);
    Ok(Client {
        name: SWITCHBOARD_CQ,
        unary: Box::new(move |n, each| {
            let cq = CompletionQueue::<std::result::Result<EchoResponse, Status>>::new();
            let options = CallOptions::new();
            for _ in 0..n {
                let start = Instant::now();
                let _call = cq.unary(&c1, &UNARY, &options, request(), |r| r)?;
                match cq.next(Deadline::after(WAIT)) {
                    Next::Event(result) => drop(result?),
                    other => return Err(unexpected(&other).into()),
                }
                each(start.elapsed());
            }
            Ok(())
        }),
        throughput: Box::new(move |load| spin(&c2, load)),
        multi: Multi {
            setting: |n| format!("one CompletionQueue over multi_connection_channel(url, {n})"),
            run: Box::new(move |n, load| spin(&multi.get(n)?, load)),
        },
        server_stream: Box::new(move |n| {
            let cq = CompletionQueue::<std::result::Result<Option<EchoResponse>, Status>>::new();
            let start = Instant::now();
            let stream =
                cq.server_streaming(&c3, &SERVER_STREAM, &CallOptions::new(), stream_request(n))?;
            stream.read(|r| r);
            let mut count = 0u32;
            loop {
                match cq.next(Deadline::after(WAIT)) {
                    Next::Event(Ok(Some(_))) => {
                        count += 1;
                        stream.read(|r| r);
                    }
                    Next::Event(Ok(None)) => break,
                    Next::Event(Err(status)) => return Err(status.into()),
                    other => return Err(unexpected(&other).into()),
                }
            }
            super::switchboard::check_count(count, n)?;
            Ok(f64::from(n) / start.elapsed().as_secs_f64())
        }),
        pending: Box::new(move |hold| {
            let cq = CompletionQueue::<std::result::Result<EchoResponse, Status>>::new();
            let options = CallOptions::new().with_deadline_after(held_deadline(hold.sleep_ms));
            let mut batches = hold.batches().peekable();
            while let Some(n) = batches.next() {
                for _ in 0..n {
                    let _call =
                        cq.unary(&c4, &UNARY, &options, held_request(hold.sleep_ms), |r| r)?;
                }
                if batches.peek().is_some() {
                    std::thread::sleep(hold.gap);
                }
            }
            for _ in 0..hold.calls {
                match cq.next(Deadline::after(held_deadline(hold.sleep_ms))) {
                    Next::Event(result) => drop(result?),
                    other => return Err(unexpected(&other).into()),
                }
            }
            Ok(())
        }),
    })
}

/// What a `next` that should have given an event gave instead.
fn unexpected<E>(next: &Next<E>) -> &'static str {
    match next {
        Next::Event(_) => "an event",
        Next::Timeout => "the completion queue timed out",
        Next::Shutdown => "the completion queue shut down",
    }
}

/// `load.in_flight` unary calls kept in flight from this one thread.
fn spin(channel: &Channel, load: Load) -> Result<Batch> {
    type Event = (usize, std::result::Result<EchoResponse, Status>);
    let cq = CompletionQueue::<Event>::new();
    let options = CallOptions::new();
    let slots = load.in_flight;
    let mut started = vec![Instant::now(); slots];
    let mut latencies: Vec<Vec<Duration>> = (0..slots)
        .map(|_| Vec::with_capacity(load.calls_each))
        .collect();
    let start = Mark::now();
    for (slot, at) in started.iter_mut().enumerate() {
        *at = Instant::now();
        let _call = cq.unary(channel, &UNARY, &options, request(), move |r| (slot, r))?;
    }
    let mut remaining = slots * load.calls_each;
    while remaining > 0 {
        match cq.next(Deadline::after(WAIT)) {
            Next::Event((slot, result)) => {
                result?;
                latencies[slot].push(started[slot].elapsed());
                remaining -= 1;
                if latencies[slot].len() < load.calls_each {
                    started[slot] = Instant::now();
                    let _call =
                        cq.unary(channel, &UNARY, &options, request(), move |r| (slot, r))?;
                }
            }
            other => return Err(unexpected(&other).into()),
        }
    }
    batch(start, latencies.into_iter().map(Ok).collect())
}
