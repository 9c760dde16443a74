//! `protoc-gen-switchboard`: the protoc plugin (layer: binary; stdin and
//! stdout only).
//!
//! ```sh
//! protoc --plugin=protoc-gen-switchboard=path/to/protoc-gen-switchboard \
//!     --switchboard_out=src/gen --switchboard_opt=include_file=mod.rs \
//!     -I proto proto/helloworld.proto
//! ```
//!
//! Reads a `CodeGeneratorRequest` from stdin and writes a
//! `CodeGeneratorResponse` to stdout: one `.rs` file per proto package,
//! messages and stubs. Parameters are listed in
//! `switchboard_codegen::plugin`. Bad input becomes the response's `error`,
//! which protoc prints; the exit status is non-zero only if stdin or stdout
//! fail.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("protoc-gen-switchboard: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    let output = switchboard_codegen::plugin::run(&input);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(&output).and_then(|()| stdout.flush()) {
        eprintln!("protoc-gen-switchboard: cannot write stdout: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
