//! Helpers shared by the codegen integration tests: the vendored protoc,
//! the golden fixtures, scratch directories.

#![allow(dead_code, reason = "each test binary uses a subset of the helpers")]

use std::path::{Path, PathBuf};
use std::process::Command;

use prost::Message;
use prost_types::{FileDescriptorProto, FileDescriptorSet};

/// `codegen/tests/golden`.
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The golden fixtures: `(stem, proto path)`, sorted.
pub fn golden_protos() -> Vec<(String, PathBuf)> {
    let mut protos: Vec<(String, PathBuf)> = std::fs::read_dir(golden_dir())
        .expect("read tests/golden")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "proto"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, path)
        })
        .collect();
    protos.sort();
    assert!(!protos.is_empty(), "no golden fixtures");
    protos
}

/// The vendored protoc.
pub fn protoc() -> Command {
    let mut cmd = Command::new(protoc_bin_vendored::protoc_bin_path().expect("vendored protoc"));
    cmd.arg("-I")
        .arg(protoc_bin_vendored::include_path().expect("vendored includes"));
    cmd
}

/// A fresh, empty scratch directory under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The descriptors (with imports and source info) of `proto`, found under
/// `include`.
pub fn descriptors(include: &Path, proto: &str) -> Vec<FileDescriptorProto> {
    let out = scratch(&format!("fds-{}", proto.replace('/', "_")));
    let set = out.join("set.bin");
    let status = protoc()
        .arg("-I")
        .arg(include)
        .args(["--include_imports", "--include_source_info", "-o"])
        .arg(&set)
        .arg(proto)
        .status()
        .expect("run protoc");
    assert!(status.success(), "protoc failed on {proto}");
    let bytes = std::fs::read(&set).expect("read descriptor set");
    FileDescriptorSet::decode(bytes.as_slice())
        .expect("decode descriptor set")
        .file
}

/// The first line where `actual` and `expected` differ, for a readable
/// assertion message.
pub fn first_difference(actual: &str, expected: &str) -> String {
    for (i, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        if a != e {
            return format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1);
        }
    }
    format!(
        "lengths differ: expected {} lines, got {}",
        expected.lines().count(),
        actual.lines().count()
    )
}
