//! Service descriptors to Rust stub source. Filled in by the codegen issue.
