//! The real-world corpus: what `switchboard-build` generates for every
//! `.proto` of the pinned `googleapis-common-protos` release and for grpc's
//! health and reflection protos (66 files, see `build.rs`), included package by package with `include_proto!` and the
//! package names as the `.proto` files spell them (`google.type`, whose
//! module is `google::r#type`).
//!
//! That this crate is clean is the test: CI's `cargo clippy --all-targets
//! -D warnings`, `cargo doc` with `-D warnings` and the doctests of
//! `cargo test` all run on it, with rustc's and clippy's default lints and
//! `missing_docs`, as in a user's library crate.

#![warn(missing_docs)]

/// Google's common protos.
pub mod google {
    /// Package `google.api`.
    pub mod api {
        switchboard::include_proto!("google.api");
    }
    /// Package `google.cloud`.
    pub mod cloud {
        switchboard::include_proto!("google.cloud");
        /// Package `google.cloud.location`.
        pub mod location {
            switchboard::include_proto!("google.cloud.location");
        }
    }
    /// Package `google.gapic`.
    pub mod gapic {
        /// Package `google.gapic.metadata`.
        pub mod metadata {
            switchboard::include_proto!("google.gapic.metadata");
        }
    }
    /// Package `google.logging`.
    pub mod logging {
        /// Package `google.logging.type`.
        pub mod r#type {
            switchboard::include_proto!("google.logging.type");
        }
    }
    /// Package `google.longrunning`.
    pub mod longrunning {
        switchboard::include_proto!("google.longrunning");
    }
    /// Package `google.rpc`.
    pub mod rpc {
        switchboard::include_proto!("google.rpc");
        /// Package `google.rpc.context`.
        pub mod context {
            switchboard::include_proto!("google.rpc.context");
        }
    }
    /// Package `google.type`.
    pub mod r#type {
        switchboard::include_proto!("google.type");
    }
}

/// grpc's own services.
pub mod grpc {
    /// Package `grpc.health`.
    pub mod health {
        /// Package `grpc.health.v1`.
        pub mod v1 {
            switchboard::include_proto!("grpc.health.v1");
        }
    }
    /// Package `grpc.reflection`.
    pub mod reflection {
        /// Package `grpc.reflection.v1`.
        pub mod v1 {
            switchboard::include_proto!("grpc.reflection.v1");
        }
        /// Package `grpc.reflection.v1alpha`.
        pub mod v1alpha {
            switchboard::include_proto!("grpc.reflection.v1alpha");
        }
    }
}
