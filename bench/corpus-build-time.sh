#!/usr/bin/env bash
# Clean build time of the real-world corpus (every .proto of
# googleapis-common-protos, as tests/corpus fetches it) under
# switchboard-build and under tonic-prost-build, measured the same way:
#
# - two throwaway crates in target/corpus-build-time/{switchboard,tonic},
#   each its own workspace with its own target directory and this
#   repository's Cargo.lock (same dependency versions);
# - both generate client stubs only (tonic: build_server(false)) plus the
#   prost messages, with the vendored protoc, into one include file;
# - "clean": `cargo build` (dev profile) from an empty target directory,
#   dependencies included; "crate only": the same crate again after
#   `cargo clean -p` of it, so only its build script (codegen) and the
#   generated code's compile run.
#
# Usage: bash bench/corpus-build-time.sh  (needs the corpus: it builds
# tests/corpus first, which fetches it). Prints seconds per step.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build -q -p switchboard-corpus
protos="$root/target/googleapis-common-protos-1.76.0"
work="$root/target/corpus-build-time"
rm -rf "$work"
mkdir -p "$work/switchboard/src" "$work/tonic/src"

write_crate() { # dir, deps, build-deps, build.rs body
  local dir="$1"
  cat > "$dir/Cargo.toml" <<TOML
[package]
name = "corpus-$(basename "$dir")"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
$2

[build-dependencies]
$3

[profile.dev.package."*"]
opt-level = 1
TOML
  printf '%s\n' "$4" > "$dir/build.rs"
  cat > "$dir/src/lib.rs" <<'RS'
//! The corpus.
#![allow(missing_docs)]
include!(concat!(env!("OUT_DIR"), "/mod.rs"));
RS
  cp "$root/Cargo.lock" "$dir/Cargo.lock"
}

protos_list='fn protos() -> Vec<std::path::PathBuf> {
    let root = std::path::PathBuf::from("'"$protos"'");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else if p.extension().is_some_and(|x| x == "proto") { out.push(p) }
        }
    }
    out.sort();
    out
}'

write_crate "$work/switchboard" \
  "switchboard = { path = \"$root/runtime\" }
prost = \"0.14\"
prost-types = \"0.14\"" \
  "switchboard-build = { path = \"$root/build-support\" }" \
  "$protos_list
fn main() {
    switchboard_build::configure()
        .include_file(\"mod.rs\")
        .compile(&protos(), &[\"$protos\"])
        .unwrap();
}"

write_crate "$work/tonic" \
  "tonic = \"0.14\"
tonic-prost = \"0.14\"
prost = \"0.14\"
prost-types = \"0.14\"" \
  "tonic-prost-build = \"0.14\"
protoc-bin-vendored = \"3\"" \
  "$protos_list
fn main() {
    // SAFETY: this build script has one thread.
    unsafe { std::env::set_var(\"PROTOC\", protoc_bin_vendored::protoc_bin_path().unwrap()) };
    tonic_prost_build::configure()
        .build_server(false)
        .include_file(\"mod.rs\")
        .compile_protos(&protos(), &[std::path::PathBuf::from(\"$protos\")])
        .unwrap();
}"

time_cmd() { # label, dir, command...
  local label="$1" dir="$2"; shift 2
  local start end
  start=$(date +%s.%N)
  (cd "$dir" && "$@" >/dev/null 2>"$dir/build.log") || { cat "$dir/build.log"; exit 1; }
  end=$(date +%s.%N)
  printf '%-12s %-11s %6.1f s\n' "$(basename "$dir")" "$label" \
    "$(python3 -c "print($end - $start)")"
}

for name in switchboard tonic; do
  dir="$work/$name"
  time_cmd clean "$dir" cargo build
  (cd "$dir" && cargo clean -q -p "corpus-$name")
  time_cmd crate-only "$dir" cargo build
done
