//! A package with a Rust keyword in each position (`type.match.async`):
//! `include_proto!` took it as written (see `src/lib.rs`), its modules are
//! raw identifiers, and the wire path keeps the package as the `.proto`
//! spells it.

use switchboard_generated_tests::r#type::r#match::r#async::{Echo, pinger_client};

#[test]
fn the_method_path_names_the_package_as_written() {
    assert_eq!(
        pinger_client::PING.full_path(),
        "/type.match.async.Pinger/Ping"
    );
}

#[test]
fn messages_refer_across_packages() {
    let ping = Echo {
        text: "hi".into(),
        other: Some(switchboard_generated_tests::keywords::Type {
            r#match: 7,
            ..Default::default()
        }),
    };
    let bytes = prost::Message::encode_to_vec(&ping);
    let back: Echo = prost::Message::decode(bytes.as_slice()).unwrap_or_default();
    assert_eq!(back, ping);
}
