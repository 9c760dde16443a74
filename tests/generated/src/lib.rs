//! Compile tests for generated code: every module below includes what
//! `switchboard-build` generated for one of the protos in `proto/` (or the
//! golden fixtures of `codegen/tests/golden`), under
//! `deny(warnings, missing_docs)`. That the crate builds — with clippy and
//! rustdoc, whose doctests would run any code block a proto comment let
//! through — is the test. `tests/` calls some of it against tonic servers.

#![deny(warnings, missing_docs)]

/// `helloworld.proto`: one unary method.
pub mod helloworld {
    switchboard::include_proto!("helloworld");
}

/// `routeguide.proto`: all four kinds of method.
pub mod routeguide {
    switchboard::include_proto!("routeguide");
}

/// `keywords.proto`: Rust keywords as service, method, message and field
/// names.
pub mod keywords {
    switchboard::include_proto!("keywords");
}

/// `keyword_package.proto`: package `type.match.async`, a keyword in each
/// position. `include_proto!` takes the package as the `.proto` spells it.
pub mod r#type {
    /// Package `type.match`.
    pub mod r#match {
        /// Package `type.match.async`.
        pub mod r#async {
            switchboard::include_proto!("type.match.async");
        }
    }
}

/// `nested/*.proto`: nested packages and types imported across packages.
pub mod nested {
    /// Package `nested.common`.
    pub mod common {
        switchboard::include_proto!("nested.common");
    }
    /// Package `nested.deep`.
    pub mod deep {
        /// Package `nested.deep.v1`.
        pub mod v1 {
            switchboard::include_proto!("nested.deep.v1");
        }
    }
}

/// Package `other`.
pub mod other {
    /// Package `other.pkg`, imported by `nested.deep.v1`.
    pub mod pkg {
        switchboard::include_proto!("other.pkg");
    }
}

/// `nopackage.proto`: a file without a package.
pub mod nopackage {
    switchboard::include_proto!("_");
}

/// `case.proto`: names that differ only in case or underscores.
pub mod case_names {
    switchboard::include_proto!("case_names");
}

/// `wkt.proto`: well-known types as fields and as method types.
pub mod wkt {
    switchboard::include_proto!("wkt");
}

/// `multi.proto`: two services in one file, and one with no methods.
pub mod multi {
    switchboard::include_proto!("multi");
}

/// The golden fixtures, through the generated include file.
pub mod golden {
    include!(concat!(env!("OUT_DIR"), "/golden/mod.rs"));
}
