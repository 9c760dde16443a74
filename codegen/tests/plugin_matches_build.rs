//! The two ways to run the generator agree on real-world protos: for every
//! `.proto` of googleapis' `googleapis-common-protos` (the corpus of
//! `tests/corpus`, fetched from PyPI on first use), `protoc-gen-switchboard`
//! under protoc (as `buf generate` runs it, see `codegen/buf.gen.yaml`)
//! writes the same files, byte for byte, as `switchboard-build` does from a
//! `build.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod support;

#[path = "../../tests/corpus/fetch.rs"]
mod fetch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use support::{first_difference, protoc, scratch};

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-switchboard");

/// Every file in `dir` (not recursive): name → contents.
fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

#[test]
fn plugin_output_equals_build_rs_output_on_googleapis() {
    let (root, protos) = fetch::googleapis_protos(Path::new(env!("CARGO_TARGET_TMPDIR")))
        .unwrap_or_else(|e| panic!("the googleapis corpus is not available: {e}"));

    let from_build = scratch("googleapis-build");
    let absolute: Vec<PathBuf> = protos.iter().map(|p| root.join(p)).collect();
    switchboard_build::configure()
        .out_dir(&from_build)
        .emit_rerun_if_changed(false)
        .include_file("mod.rs")
        .compile(&absolute, &[&root])
        .unwrap_or_else(|e| panic!("switchboard-build: {e}"));

    let from_plugin = scratch("googleapis-plugin");
    let output = protoc()
        .arg(format!("--plugin=protoc-gen-switchboard={PLUGIN}"))
        .arg(format!("--switchboard_out={}", from_plugin.display()))
        .arg("--switchboard_opt=include_file=mod.rs")
        .arg("-I")
        .arg(&root)
        .args(&protos)
        .output()
        .expect("run protoc");
    assert!(
        output.status.success(),
        "protoc with the plugin failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let built = files(&from_build);
    let plugged = files(&from_plugin);
    assert_eq!(
        built.keys().collect::<Vec<_>>(),
        plugged.keys().collect::<Vec<_>>(),
        "the two paths wrote different files"
    );
    // Nine packages and the include file.
    assert_eq!(built.len(), 10, "{:?}", built.keys());
    assert!(built.contains_key("google.type.rs"), "{:?}", built.keys());
    for (name, expected) in &built {
        let actual = &plugged[name];
        assert!(
            actual == expected,
            "{name}: the plugin's output differs from switchboard-build's: {}",
            first_difference(actual, expected)
        );
    }
}
