//! The builder's settings change what `compile` writes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use prost::Message;
use switchboard_build::configure;

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("builder")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const GOOD: &[&str] = &["tests/protos/good.proto"];
const INCLUDES: &[&str] = &["tests/protos"];

#[test]
fn defaults_write_messages_and_stubs_per_package() {
    let dir = out_dir("defaults");
    configure()
        .out_dir(&dir)
        .emit_rerun_if_changed(false)
        .compile(GOOD, INCLUDES)
        .unwrap();
    let code = read(&dir, "good.rs");
    assert!(code.contains("pub struct Blob"), "{code}");
    assert!(code.contains("pub mod store_client"), "{code}");
    assert!(code.contains("::prost_types::Timestamp"), "{code}");
    assert!(code.contains("::std::collections::HashMap"), "{code}");
    assert!(code.contains("::prost::alloc::vec::Vec<u8>"), "{code}");
}

#[test]
fn prost_settings_pass_through() {
    let dir = out_dir("prost");
    configure()
        .out_dir(&dir)
        .emit_rerun_if_changed(false)
        .bytes(["."])
        .btree_map([".good.Blob"])
        .type_attribute(".good.Blob", "#[derive(Eq)]")
        .message_attribute(".good.Blob", "#[allow(dead_code)]")
        .field_attribute(".good.Blob.data", "#[allow(unused)]")
        .extern_path(".google.protobuf.Timestamp", "::my_time::Timestamp")
        .compile(GOOD, INCLUDES)
        .unwrap();
    let code = read(&dir, "good.rs");
    assert!(code.contains("::prost::bytes::Bytes"), "{code}");
    assert!(code.contains("BTreeMap"), "{code}");
    assert!(code.contains("#[derive(Eq)]"), "{code}");
    assert!(code.contains("#[allow(dead_code)]"), "{code}");
    assert!(code.contains("#[allow(unused)]"), "{code}");
    assert!(code.contains("::my_time::Timestamp"), "{code}");
}

#[test]
fn build_client_false_writes_messages_only() {
    let dir = out_dir("no_client");
    configure()
        .out_dir(&dir)
        .emit_rerun_if_changed(false)
        .build_client(false)
        .compile(GOOD, INCLUDES)
        .unwrap();
    let code = read(&dir, "good.rs");
    assert!(code.contains("pub struct Blob"), "{code}");
    assert!(!code.contains("store_client"), "{code}");
}

#[test]
fn compile_well_known_types_generates_google_protobuf() {
    let dir = out_dir("wkt");
    configure()
        .out_dir(&dir)
        .emit_rerun_if_changed(false)
        .compile_well_known_types(true)
        .compile(GOOD, INCLUDES)
        .unwrap();
    assert!(read(&dir, "google.protobuf.rs").contains("pub struct Timestamp"));
    assert!(read(&dir, "good.rs").contains("super::google::protobuf::Timestamp"));
}

#[test]
fn include_file_nests_the_packages() {
    let dir = out_dir("include");
    configure()
        .out_dir(&dir)
        .emit_rerun_if_changed(false)
        .include_file("all.rs")
        .compile(GOOD, INCLUDES)
        .unwrap();
    let include = read(&dir, "all.rs");
    assert!(include.contains("pub mod good {"), "{include}");
    assert!(include.contains("include!(\"good.rs\");"), "{include}");
}

#[test]
fn descriptor_sets_can_be_written_then_reused_without_protoc() {
    let dir = out_dir("fds");
    std::fs::create_dir_all(&dir).unwrap();
    let set = dir.join("set.bin");
    configure()
        .out_dir(&dir)
        .emit_rerun_if_changed(false)
        .file_descriptor_set_path(&set)
        .compile(GOOD, INCLUDES)
        .unwrap();
    let first = read(&dir, "good.rs");

    // skip_protoc_run: read the set instead of running protoc.
    let again = out_dir("fds_again");
    configure()
        .out_dir(&again)
        .emit_rerun_if_changed(false)
        .file_descriptor_set_path(&set)
        .skip_protoc_run()
        .compile(&["ignored.proto"], &["ignored"])
        .unwrap();
    assert_eq!(read(&again, "good.rs"), first);

    // compile_fds: bring your own set.
    let fds =
        prost_types::FileDescriptorSet::decode(std::fs::read(&set).unwrap().as_slice()).unwrap();
    let own = out_dir("fds_own");
    configure().out_dir(&own).compile_fds(fds).unwrap();
    assert_eq!(read(&own, "good.rs"), first);
}

#[test]
fn protoc_args_reach_protoc() {
    let err = configure()
        .out_dir(out_dir("args"))
        .emit_rerun_if_changed(false)
        .protoc_arg("--no-such-flag")
        .compile(GOOD, INCLUDES)
        .expect_err("protoc rejects the flag");
    assert!(err.to_string().contains("--no-such-flag"), "{err}");
}

#[test]
fn unchanged_output_is_not_rewritten() {
    let dir = out_dir("unchanged");
    let build = || {
        configure()
            .out_dir(&dir)
            .emit_rerun_if_changed(false)
            .compile(GOOD, INCLUDES)
            .unwrap()
    };
    build();
    let before = std::fs::metadata(dir.join("good.rs"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    build();
    let after = std::fs::metadata(dir.join("good.rs"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}
