//! Running user code (codecs, listeners, interceptors) so that its panic
//! fails one call instead of unwinding through the runtime (layer: data;
//! rule 6 of ARCHITECTURE.md).

/// Runs `f`, turning a panic into an error message that names `what`.
pub(crate) fn catch_user_panic<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_string());
        format!("{what} panicked: {detail}")
    })
}
