//! Generates everything the tests include:
//!
//! - the tricky protos of `proto/` with `switchboard-build`'s defaults
//!   (`OUT_DIR/*.rs`), compiled under `deny(warnings, missing_docs)` by
//!   `src/lib.rs`;
//! - the golden fixtures of `codegen/tests/golden` (`OUT_DIR/golden/`, with
//!   an include file), which `tests/golden_match.rs` compares with the
//!   checked-in golden files;
//! - tonic servers for `helloworld` and `routeguide` (`OUT_DIR/tonic/`),
//!   the independent peer of the end-to-end tests.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    switchboard_build::compile_protos(
        &[
            "proto/helloworld.proto",
            "proto/routeguide.proto",
            "proto/keywords.proto",
            "proto/keyword_package.proto",
            "proto/nested/deep.proto",
            "proto/nopackage.proto",
            "proto/case.proto",
            "proto/wkt.proto",
            "proto/multi.proto",
        ],
        &["proto"],
    )?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    switchboard_build::configure()
        .out_dir(out_dir.join("golden"))
        .include_file("mod.rs")
        .compile(
            &["helloworld.proto", "routeguide.proto", "comments.proto"],
            &["../../codegen/tests/golden"],
        )?;

    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    let tonic_out = out_dir.join("tonic");
    std::fs::create_dir_all(&tonic_out)?;
    tonic_prost_build::configure()
        .build_client(false)
        .out_dir(tonic_out)
        .compile_with_config(
            config,
            &["proto/helloworld.proto", "proto/routeguide.proto"],
            &["proto"],
        )?;
    Ok(())
}
