//! routeguide: all four kinds of method, on the blocking and the async
//! stub, against an embedded demo RouteGuide server (tonic: switchboard is
//! a client only, for now).
//!
//! Run: `cargo run --release -p switchboard-examples --bin routeguide`

use std::time::Duration;

use futures::StreamExt;
use switchboard::Channel;
use switchboard::prelude::*;
use switchboard_examples::demo::DemoServer;
use switchboard_examples::routeguide::route_guide_client::{
    RouteGuideAsyncStub, RouteGuideBlockingStub,
};
use switchboard_examples::routeguide::{Point, Rectangle, RouteNote};

fn point(latitude: i32, longitude: i32) -> Point {
    Point {
        latitude,
        longitude,
    }
}

fn route() -> Vec<Point> {
    vec![point(0, 0), point(3, 4), point(10, 4), point(20, 8)]
}

fn note(message: &str) -> RouteNote {
    RouteNote {
        location: Some(point(1, 1)),
        message: message.into(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = DemoServer::start()?;
    println!(
        "demo RouteGuide server (tonic) listening on {}",
        server.url()
    );
    let channel = Channel::builder(server.url()).build()?;
    let area = Rectangle {
        lo: Some(point(0, 7)),
        hi: Some(point(30, 7)),
    };

    println!("-- blocking stub");
    let stub =
        RouteGuideBlockingStub::new(channel.clone()).with_deadline_after(Duration::from_secs(5));

    // Unary.
    let feature = stub.get_feature(point(10, 3))?;
    println!("get_feature:   {:?}", feature.name);

    // Server streaming: a blocking iterator; dropping it early cancels the call.
    for feature in stub.list_features(area) {
        println!("list_features: {:?}", feature?.name);
    }

    // Client streaming: any iterator of requests.
    let summary = stub.record_route(route())?;
    println!(
        "record_route:  {} points, {} features, distance {}",
        summary.point_count, summary.feature_count, summary.distance
    );

    // Bidi streaming: a handle to send, receive and half-close.
    let chat = stub.route_chat();
    for message in ["first", "second"] {
        chat.send(note(message))?;
        if let Some(reply) = chat.recv() {
            println!("route_chat:    {}", reply?.message);
        }
    }
    chat.half_close();

    println!("-- async stub");
    let stub = RouteGuideAsyncStub::new(channel).with_deadline_after(Duration::from_secs(5));
    futures::executor::block_on(async {
        // Unary: a future that can be awaited on any executor.
        let feature = stub.get_feature(point(20, 3)).await?;
        println!("get_feature:   {:?}", feature.name);

        // Server streaming: a futures::Stream of responses.
        let mut features = stub.list_features(area);
        while let Some(feature) = features.next().await {
            println!("list_features: {:?}", feature?.name);
        }

        // Client streaming: any Stream of requests.
        let summary = stub.record_route(futures::stream::iter(route())).await?;
        println!(
            "record_route:  {} points, {} features, distance {}",
            summary.point_count, summary.feature_count, summary.distance
        );

        // Bidi streaming: a Stream of requests in, a Stream of responses out.
        let notes = futures::stream::iter(["third", "fourth"].map(note));
        let mut replies = stub.route_chat(notes);
        while let Some(reply) = replies.next().await {
            println!("route_chat:    {}", reply?.message);
        }
        Ok::<(), switchboard::Status>(())
    })?;
    Ok(())
}
