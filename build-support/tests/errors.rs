//! Bad input gets a typed error whose message names the file and the line
//! (for a missing file: the `compile` call in `build.rs`), never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use switchboard_build::{Error, configure};

const INCLUDES: &[&str] = &["tests/protos"];

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("errors")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn compile(proto: &str) -> Error {
    configure()
        .out_dir(out_dir(proto))
        .emit_rerun_if_changed(false)
        .compile(&[format!("tests/protos/{proto}")], INCLUDES)
        .expect_err("the proto is bad")
}

#[test]
fn a_missing_proto_names_the_file_and_the_compile_call() {
    let line = line!() + 4;
    let err = configure()
        .out_dir(out_dir("missing"))
        .emit_rerun_if_changed(false)
        .compile(&["tests/protos/nope.proto"], INCLUDES)
        .expect_err("no such file");
    let Error::ProtoNotFound {
        proto, called_at, ..
    } = &err
    else {
        panic!("expected ProtoNotFound, got {err}");
    };
    assert_eq!(proto, Path::new("tests/protos/nope.proto"));
    assert!(
        called_at.contains(&format!("tests/errors.rs:{line}:")),
        "{called_at}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("tests/protos/nope.proto: no such proto file"),
        "{text}"
    );
    assert!(text.contains(&format!("tests/errors.rs:{line}:")), "{text}");
}

#[test]
fn compile_protos_reports_its_caller_too() {
    let line = line!() + 1;
    let err = switchboard_build::compile_protos(&["nope.proto"], INCLUDES).expect_err("missing");
    assert!(
        err.to_string()
            .contains(&format!("tests/errors.rs:{line}:")),
        "{err}"
    );
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let err = compile("syntax.proto");
    let Error::Syntax { at, message } = &err else {
        panic!("expected Syntax, got {err}");
    };
    assert_eq!(at.file, Path::new("tests/protos/syntax.proto"));
    assert_eq!((at.line, at.column), (7, 1));
    assert!(message.contains("Expected \";\""), "{message}");
    assert_eq!(
        err.to_string(),
        "tests/protos/syntax.proto:7:1: Expected \";\"."
    );
}

#[test]
fn a_syntax_error_in_an_imported_file_points_into_that_file() {
    let err = compile("imports_syntax.proto");
    assert!(
        err.to_string()
            .starts_with("tests/protos/syntax.proto:7:1: "),
        "{err}"
    );
}

#[test]
fn an_unresolved_import_names_the_import_line() {
    let err = compile("import.proto");
    let Error::UnresolvedImport { at, import } = &err else {
        panic!("expected UnresolvedImport, got {err}");
    };
    assert_eq!(import, "missing/nope.proto");
    assert_eq!(at.line, 5);
    assert!(
        err.to_string()
            .starts_with("tests/protos/import.proto:5:1: unresolved import \"missing/nope.proto\""),
        "{err}"
    );
}

#[test]
fn an_undefined_type_names_its_use() {
    let err = compile("undefined.proto");
    let Error::UnresolvedType { at, name } = &err else {
        panic!("expected UnresolvedType, got {err}");
    };
    assert_eq!(name, "Missing");
    assert_eq!(at.to_string(), "tests/protos/undefined.proto:6:3");
}

#[test]
fn services_generating_the_same_rust_name_are_an_error() {
    let err = compile("services.proto");
    let Error::NameCollision(collision) = &err else {
        panic!("expected NameCollision, got {err}");
    };
    assert_eq!(collision.rust_name, "foo_bar_client");
    assert_eq!(collision.at.to_string(), "tests/protos/services.proto:11:9");
    assert_eq!(
        collision.first_at.to_string(),
        "tests/protos/services.proto:7:9"
    );
    assert_eq!(
        err.to_string(),
        "tests/protos/services.proto:11:9: service `Foo_Bar` generates the Rust name \
         `foo_bar_client` in module `bad`, which service `FooBar` at \
         tests/protos/services.proto:7:9 generates too; rename one of them"
    );
}

#[test]
fn methods_generating_the_same_rust_name_are_an_error() {
    let err = compile("methods.proto");
    let Error::NameCollision(collision) = &err else {
        panic!("expected NameCollision, got {err}");
    };
    assert_eq!(collision.rust_name, "get_foo");
    assert_eq!(collision.at.to_string(), "tests/protos/methods.proto:9:7");
    assert_eq!(collision.scope, "the stubs of `bad.S`");
}

#[test]
fn a_proto_outside_the_includes_is_an_error() {
    let err = configure()
        .out_dir(out_dir("outside"))
        .emit_rerun_if_changed(false)
        .compile(&["tests/protos/good.proto"], &["src"])
        .expect_err("not under src");
    assert!(matches!(err, Error::ProtoOutsideIncludes { .. }), "{err}");
    assert!(
        err.to_string().starts_with("tests/protos/good.proto: "),
        "{err}"
    );
}

#[test]
fn a_bad_extern_path_is_a_codegen_error() {
    let err = configure()
        .out_dir(out_dir("extern"))
        .emit_rerun_if_changed(false)
        .extern_path("not.qualified", "::x")
        .compile(&["tests/protos/good.proto"], INCLUDES)
        .expect_err("extern paths must start with a dot");
    assert!(matches!(err, Error::Codegen { .. }), "{err}");
    assert!(err.to_string().contains("not.qualified"), "{err}");
}
