//! Test support: the two peers behind one type, and a raw HTTP/2 gRPC
//! client ([`raw`]) for what tonic's client hides (per-message compressed
//! flags, headers versus trailers).

pub mod raw;

use std::net::SocketAddr;

use switchboard_interop_peer::InteropServer;
use switchboard_interop_peer::pb::Payload;
use switchboard_interop_peer::pb::test_service_client::TestServiceClient;
use switchboard_interop_peer::python::PythonServer;
use tonic::transport::Channel;

/// A running interop peer.
pub enum Peer {
    Tonic(InteropServer),
    Python(PythonServer),
}

impl Peer {
    pub fn tonic() -> Peer {
        Peer::Tonic(InteropServer::start())
    }

    /// Starts the Python peer; a setup failure fails the test with its
    /// message (never a skip).
    pub fn python() -> Peer {
        match PythonServer::start() {
            Ok(server) => Peer::Python(server),
            Err(message) => panic!("{message}"),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        match self {
            Peer::Tonic(server) => server.addr(),
            Peer::Python(server) => server.addr(),
        }
    }

    pub async fn client(&self) -> TestServiceClient<Channel> {
        TestServiceClient::new(self.channel().await)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr()))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }
}

/// A payload of `len` zeros.
pub fn zeros(len: usize) -> Option<Payload> {
    Some(Payload {
        r#type: 0,
        body: vec![0; len],
    })
}

/// The body length of an optional payload, asserting it is all zeros.
pub fn zero_body_len(payload: Option<&Payload>) -> usize {
    let body = &payload.expect("a payload").body;
    assert!(
        body.iter().all(|b| *b == 0),
        "payload body is not all zeros"
    );
    body.len()
}
