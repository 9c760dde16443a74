//! The `build.rs` API. Filled in by the codegen issue.
