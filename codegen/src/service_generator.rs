//! The bridge to prost-build (layer: generator).
//!
//! [`SwitchboardServiceGenerator`] is the [`prost_build::ServiceGenerator`]
//! that `switchboard-build` and `protoc-gen-switchboard` plug into
//! `prost_build::Config`: prost-build writes the messages of a package, and
//! calls it once per service to append that service's client module. It
//! appends unformatted tokens; [`crate::generate`] formats the whole file.
//! It never panics (the trait cannot return an error): problems become
//! `compile_error!` items in the output.

use crate::client::client_module;
use crate::model::Service;

/// Appends a `<service>_client` module per service to prost-build's output.
#[derive(Clone, Debug)]
pub struct SwitchboardServiceGenerator {
    build_client: bool,
}

impl SwitchboardServiceGenerator {
    /// A generator that writes client stubs if `build_client` is true, and
    /// nothing otherwise (there is no server side yet).
    pub fn new(build_client: bool) -> Self {
        SwitchboardServiceGenerator { build_client }
    }
}

impl Default for SwitchboardServiceGenerator {
    fn default() -> Self {
        Self::new(true)
    }
}

impl prost_build::ServiceGenerator for SwitchboardServiceGenerator {
    fn generate(&mut self, service: prost_build::Service, buf: &mut String) {
        if !self.build_client {
            return;
        }
        let tokens = client_module(&Service::from(service));
        buf.push_str(&tokens.to_string());
        buf.push('\n');
    }
}
