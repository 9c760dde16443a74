//! Generates the corpus in one `switchboard_build::compile_protos` call,
//! as a user's `build.rs` would: googleapis' common protos (see `fetch.rs`
//! for where they come from) and grpc's health and reflection protos (as
//! `switchboard-health` and `switchboard-reflection` vendor them).

#[path = "fetch.rs"]
mod fetch;

use std::path::PathBuf;

fn main() {
    if let Err(error) = generate() {
        // Display, not Debug: the message is for a person.
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

fn generate() -> Result<(), String> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=fetch.rs");
    println!("cargo:rerun-if-env-changed=SWITCHBOARD_GOOGLEAPIS_PROTOS");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let (root, protos) = fetch::googleapis_protos(&out_dir)?;
    let mut protos: Vec<PathBuf> = protos.iter().map(|p| root.join(p)).collect();
    let health = PathBuf::from("../../health/proto");
    let reflection = PathBuf::from("../../reflection/proto");
    protos.push(health.join("grpc/health/v1/health.proto"));
    protos.push(reflection.join("grpc/reflection/v1/reflection.proto"));
    protos.push(reflection.join("grpc/reflection/v1alpha/reflection.proto"));
    switchboard_build::compile_protos(&protos, &[root, health, reflection])
        .map_err(|e| e.to_string())
}
