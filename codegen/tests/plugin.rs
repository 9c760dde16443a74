//! `protoc-gen-switchboard` under the vendored protoc: its output equals the
//! golden files byte for byte (the files `switchboard-build` writes for the
//! same protos, which `switchboard-generated-tests` compiles), its
//! parameters work, and bad input is reported through protoc, not by a
//! crash.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use prost::Message;
use prost_types::compiler::CodeGeneratorResponse;
use support::{first_difference, golden_dir, golden_protos, protoc, scratch};

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-switchboard");

/// Runs protoc with the plugin over `protos` (under `include`).
fn run_plugin(include: &Path, protos: &[&str], opt: &str, out: &Path) -> Output {
    let mut cmd = protoc();
    cmd.arg(format!("--plugin=protoc-gen-switchboard={PLUGIN}"))
        .arg(format!("--switchboard_out={}", out.display()))
        .arg("-I")
        .arg(include)
        .args(protos);
    if !opt.is_empty() {
        cmd.arg(format!("--switchboard_opt={opt}"));
    }
    cmd.output().expect("run protoc")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn plugin_output_equals_the_golden_files() {
    for (stem, _) in golden_protos() {
        let out = scratch(&format!("plugin-{stem}"));
        let output = run_plugin(&golden_dir(), &[&format!("{stem}.proto")], "", &out);
        assert!(
            output.status.success(),
            "protoc: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let actual = read(out.join(format!("{stem}.rs")));
        let expected = read(golden_dir().join(format!("{stem}.rs")));
        assert!(
            actual == expected,
            "{stem}.rs from the plugin differs from the golden file: {}",
            first_difference(&actual, &expected)
        );
    }
}

#[test]
fn plugin_parameters() {
    let out = scratch("plugin-params");
    let output = run_plugin(
        &golden_dir(),
        &["helloworld.proto", "routeguide.proto"],
        "client=false,include_file=mod.rs,bytes=.,btree_map=.",
        &out,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let hello = read(out.join("helloworld.rs"));
    assert!(hello.contains("pub struct HelloRequest"), "{hello}");
    assert!(!hello.contains("greeter_client"), "client=false: {hello}");
    let include = read(out.join("mod.rs"));
    assert!(include.contains("pub mod helloworld {"), "{include}");
    assert!(
        include.contains("include!(\"routeguide.rs\");"),
        "{include}"
    );
}

#[test]
fn plugin_extern_path() {
    let out = scratch("plugin-extern");
    let output = run_plugin(
        &golden_dir(),
        &["helloworld.proto"],
        "extern_path=.helloworld.HelloReply=::shared::Reply",
        &out,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let code = read(out.join("helloworld.rs"));
    assert!(!code.contains("pub struct HelloReply"), "{code}");
    assert!(code.contains("::shared::Reply"), "{code}");
}

#[test]
fn an_unknown_parameter_fails_protoc_with_our_message() {
    let out = scratch("plugin-bad-param");
    let output = run_plugin(&golden_dir(), &["helloworld.proto"], "server=true", &out);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("protoc-gen-switchboard: unknown parameter `server`"),
        "{stderr}"
    );
}

#[test]
fn a_name_collision_fails_protoc_naming_file_and_line() {
    let dir = scratch("plugin-collision");
    std::fs::write(
        dir.join("clash.proto"),
        "syntax = \"proto3\";\npackage clash;\nmessage M {}\n\
         service S {\n  rpc GetFoo(M) returns (M);\n  rpc get_foo(M) returns (M);\n}\n",
    )
    .unwrap();
    let out = scratch("plugin-collision-out");
    let output = run_plugin(&dir, &["clash.proto"], "", &out);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("clash.proto:6:7: method `get_foo` generates the Rust name `get_foo`"),
        "{stderr}"
    );
}

#[test]
fn garbage_on_stdin_gets_an_error_response_not_a_crash() {
    let mut child = Command::new(PLUGIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the plugin");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\x0a\xff\xff\xff\xff not a request")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit status {:?}", output.status);
    let response = CodeGeneratorResponse::decode(output.stdout.as_slice()).expect("a response");
    assert!(
        response
            .error()
            .starts_with("protoc-gen-switchboard: cannot decode"),
        "{response:?}"
    );
}

/// `tests/generated/proto`, the tricky protos `switchboard-build` compiles.
fn generated_protos() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/generated/proto")
}

#[test]
fn well_known_types_from_imported_files_work_as_fields() {
    // Fields of types from imported files (google/protobuf/*.proto): the
    // plugin must read the imports, not only the files to generate.
    let out = scratch("plugin-wkt");
    let output = run_plugin(&generated_protos(), &["wkt.proto"], "", &out);
    assert!(
        output.status.success(),
        "protoc: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let wkt = read(out.join("wkt.rs"));
    assert!(
        wkt.contains("pub took: ::core::option::Option<::prost_types::Duration>"),
        "{wkt}"
    );
}

#[test]
fn only_the_requested_packages_are_written() {
    // deep.proto imports two other packages; protoc asks for deep.proto
    // only, so only its package's file comes back (and the include file
    // names only it).
    let out = scratch("plugin-imports");
    let output = run_plugin(
        &generated_protos(),
        &["nested/deep.proto"],
        "include_file=mod.rs",
        &out,
    );
    assert!(
        output.status.success(),
        "protoc: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["mod.rs", "nested.deep.v1.rs"]);
    let include = read(out.join("mod.rs"));
    assert!(!include.contains("other"), "{include}");
    let deep = read(out.join("nested.deep.v1.rs"));
    assert!(deep.contains("super::super::common::Page"), "{deep}");
}
