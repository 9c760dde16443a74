//! completion_queue: 10,000 unary calls (100 in flight at a time) and 100
//! server streams, all driven from one plain thread through a
//! `CompletionQueue`, as gRPC Python's `_spin` loop drives its calls.
//!
//! Run: `cargo run --release -p switchboard-examples --bin completion_queue`
//!
//! Each operation is started with a function that turns its typed outcome
//! into this program's `Event`; `cq.next` returns the events as the
//! operations complete, and while it waits, this thread runs the calls'
//! work (decoding, callbacks). The method descriptors are the generated
//! ones (`greeter_client::SAY_HELLO`, `route_guide_client::LIST_FEATURES`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use switchboard::completion_queue::{Next, ServerStream};
use switchboard::{CallOptions, Channel, CompletionQueue, Deadline, Status};
use switchboard_examples::demo::DemoServer;
use switchboard_examples::helloworld::greeter_client::SAY_HELLO;
use switchboard_examples::helloworld::{HelloReply, HelloRequest};
use switchboard_examples::routeguide::route_guide_client::LIST_FEATURES;
use switchboard_examples::routeguide::{Feature, Point, Rectangle};

const UNARY_CALLS: usize = 10_000;
const IN_FLIGHT: usize = 100;
const STREAMS: usize = 100;

/// What the queue hands back: which operation completed, and its outcome.
enum Event {
    Greeted(Result<HelloReply, Status>),
    Feature(usize, Result<Option<Feature>, Status>),
    StreamEnded(usize, Status),
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = DemoServer::start()?;
    println!("demo servers (tonic) listening on {}", server.url());
    let channel = Channel::builder(server.url()).build()?;
    let options = CallOptions::new().with_deadline_after(Duration::from_secs(30));
    let cq = CompletionQueue::new();
    let began = Instant::now();

    // 100 server streams, each listing the 10 features on one meridian.
    let mut streams: HashMap<usize, ServerStream<Feature, Event>> = HashMap::new();
    for s in 0..STREAMS {
        let longitude = i32::try_from(s)?;
        let rectangle = Rectangle {
            lo: Some(Point {
                latitude: 0,
                longitude,
            }),
            hi: Some(Point {
                latitude: 99,
                longitude,
            }),
        };
        let stream = cq.server_streaming(&channel, &LIST_FEATURES, &options, rectangle)?;
        stream.read(move |result| Event::Feature(s, result));
        streams.insert(s, stream);
    }

    // Unary calls, topped up to IN_FLIGHT as they complete.
    let mut started = 0;
    let start_unary = |started: &mut usize| -> Result<(), Status> {
        let request = HelloRequest {
            name: format!("caller {started}"),
        };
        cq.unary(&channel, &SAY_HELLO, &options, request, Event::Greeted)?;
        *started += 1;
        if *started == UNARY_CALLS {
            // No new calls; `next` drains what is in flight, then says so.
            cq.shutdown();
        }
        Ok(())
    };
    while started < IN_FLIGHT {
        start_unary(&mut started)?;
    }

    let (mut greeted, mut features, mut streams_ok, mut failed) = (0, 0, 0, 0);
    loop {
        match cq.next(Deadline::after(Duration::from_secs(30))) {
            Next::Event(Event::Greeted(result)) => {
                match result {
                    Ok(_) => greeted += 1,
                    Err(status) => {
                        failed += 1;
                        eprintln!("unary call failed: {status}");
                    }
                }
                if started < UNARY_CALLS {
                    start_unary(&mut started)?;
                }
            }
            Next::Event(Event::Feature(s, Ok(Some(_)))) => {
                features += 1;
                if let Some(stream) = streams.get(&s) {
                    stream.read(move |result| Event::Feature(s, result));
                }
            }
            Next::Event(Event::Feature(s, Ok(None) | Err(_))) => {
                if let Some(stream) = streams.get(&s) {
                    stream.finish(move |status| Event::StreamEnded(s, status));
                }
            }
            Next::Event(Event::StreamEnded(s, status)) => {
                // Dropping the handle lets the call leave the queue.
                streams.remove(&s);
                if status.is_ok() {
                    streams_ok += 1;
                } else {
                    failed += 1;
                    eprintln!("stream {s} failed: {status}");
                }
            }
            Next::Timeout => return Err("no event for 30 s".into()),
            Next::Shutdown => break,
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    println!(
        "{greeted} unary calls and {streams_ok} server streams ({features} messages) \
         from one thread in {elapsed:.2} s ({:.0} unary calls/s), {failed} failed",
        greeted as f64 / elapsed
    );
    Ok(())
}
