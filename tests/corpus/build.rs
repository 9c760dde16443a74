//! Generates the corpus (see `fetch.rs` for where the protos come from) in
//! one `switchboard_build::compile_protos` call, as a user's `build.rs`
//! would.

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
    let protos: Vec<PathBuf> = protos.iter().map(|p| root.join(p)).collect();
    switchboard_build::compile_protos(&protos, &[root]).map_err(|e| e.to_string())
}
