//! Client interceptors (layer: options; run by the `stub` layer).
//!
//! An [`Interceptor`] sees every call a stub makes just before it starts, on
//! the caller's thread: it can read the method and deadline, edit the
//! outgoing metadata (add auth tokens, trace ids), or refuse the call with a
//! [`Status`], which becomes the call's result without touching the network.
//! Interceptors run in the order they were added. A panicking interceptor
//! fails its call with `INTERNAL` instead of unwinding into the caller
//! (rule 6).

use std::fmt;
use std::sync::Arc;

use crate::deadline::Deadline;
use crate::metadata::Metadata;
use crate::status::Status;
use crate::user_code::catch_user_panic;

/// What an interceptor may see and change about a call that is starting.
#[derive(Debug)]
pub struct CallContext<'a> {
    method: &'a str,
    metadata: &'a mut Metadata,
    deadline: Option<Deadline>,
}

impl CallContext<'_> {
    /// The method's full path, `/package.Service/Method`.
    pub fn method(&self) -> &str {
        self.method
    }
    /// The request metadata that will be sent.
    pub fn metadata(&self) -> &Metadata {
        self.metadata
    }
    /// The request metadata, to edit.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        self.metadata
    }
    /// The call's deadline, if it has one.
    pub fn deadline(&self) -> Option<Deadline> {
        self.deadline
    }
}

/// Runs before each call a stub makes. Closures
/// `Fn(&mut CallContext) -> Result<(), Status>` are interceptors.
///
/// ```
/// use switchboard::{CallOptions, Status};
/// use switchboard::interceptor::CallContext;
///
/// let options = CallOptions::new().with_interceptor(|call: &mut CallContext<'_>| {
///     call.metadata_mut()
///         .insert("authorization", "Bearer t0ken")
///         .map_err(|e| Status::internal(e.to_string()))
/// });
/// # let _ = options;
/// ```
pub trait Interceptor: Send + Sync + 'static {
    /// Inspects or edits the call; an error refuses it with that status.
    fn intercept(&self, call: &mut CallContext<'_>) -> Result<(), Status>;
}

impl<F> Interceptor for F
where
    F: Fn(&mut CallContext<'_>) -> Result<(), Status> + Send + Sync + 'static,
{
    fn intercept(&self, call: &mut CallContext<'_>) -> Result<(), Status> {
        self(call)
    }
}

/// An ordered list of interceptors, cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Interceptors(Vec<Arc<dyn Interceptor>>);

impl Interceptors {
    pub(crate) fn push(&mut self, interceptor: Arc<dyn Interceptor>) {
        self.0.push(interceptor);
    }

    /// Runs every interceptor over a copy of `metadata`; returns the
    /// metadata to send, or the status that refuses the call.
    pub(crate) fn run(
        &self,
        method: &str,
        metadata: &Metadata,
        deadline: Option<Deadline>,
    ) -> Result<Metadata, Status> {
        let mut metadata = metadata.clone();
        for interceptor in &self.0 {
            let mut call = CallContext {
                method,
                metadata: &mut metadata,
                deadline,
            };
            catch_user_panic("interceptor", || interceptor.intercept(&mut call))
                .map_err(Status::internal)??;
        }
        Ok(metadata)
    }
}

impl fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} interceptor(s)]", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;

    #[test]
    fn run_in_order_edit_metadata_and_refuse() {
        let mut list = Interceptors::default();
        list.push(Arc::new(|c: &mut CallContext<'_>| {
            c.metadata_mut()
                .insert("x-first", "1")
                .map_err(|e| Status::internal(e.to_string()))
        }));
        list.push(Arc::new(|c: &mut CallContext<'_>| {
            assert_eq!(c.metadata().get("x-first"), Some("1"));
            if c.method().ends_with("/Forbidden") {
                return Err(Status::permission_denied("no"));
            }
            Ok(())
        }));
        let md = list.run("/p.S/Ok", &Metadata::new(), None).unwrap();
        assert_eq!(md.get("x-first"), Some("1"));
        let err = list
            .run("/p.S/Forbidden", &Metadata::new(), None)
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }

    #[test]
    fn a_panicking_interceptor_becomes_internal() {
        let mut list = Interceptors::default();
        list.push(Arc::new(|_: &mut CallContext<'_>| -> Result<(), Status> {
            panic!("oops")
        }));
        let err = list.run("/p.S/M", &Metadata::new(), None).unwrap_err();
        assert_eq!(err.code(), Code::Internal);
        assert!(err.message().contains("oops"), "{err}");
    }
}
