//! Generates the code the examples use:
//!
//! - the switchboard stubs and messages for `proto/*.proto` — the one line
//!   a switchboard user's `build.rs` needs;
//! - tonic servers for the same protos, into `OUT_DIR/tonic`, for the
//!   embedded demo servers (switchboard has no server of its own yet).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    switchboard_build::compile_protos(
        &["proto/helloworld.proto", "proto/routeguide.proto"],
        &["proto"],
    )?;

    let tonic_out = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("tonic");
    std::fs::create_dir_all(&tonic_out)?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
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
