//! Runs one [`Case`] on a thread of its own with a time limit, timing it.
//!
//! Every call a case makes has a deadline, so a case should always end; the
//! limit is the backstop for a client bug that would hang it anyway (a lost
//! wake-up, a deadline that never fires). A case past its limit is reported
//! as failed and its thread is left behind: it cannot be stopped from
//! outside, and the caller is about to report the failure and exit. A panic
//! in a case is a failure too, with the panic's message.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use switchboard::Channel;

use crate::cases::{Case, CaseResult};

/// The default time limit of one case: several times the longest call
/// deadline of any case.
pub const CASE_TIME_LIMIT: Duration = Duration::from_secs(120);

/// How one case went.
#[derive(Debug)]
pub struct Outcome {
    /// The case's name.
    pub name: &'static str,
    /// `Err` says what failed (a check, a panic, or the time limit).
    pub result: CaseResult,
    /// How long the case ran (up to the limit).
    pub elapsed: Duration,
}

/// Runs `case` against the server behind `channel`, giving up after
/// `limit`.
pub fn run_case(case: &Case, channel: &Channel, limit: Duration) -> Outcome {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let run = case.run;
    let channel = channel.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("interop-{}", case.name))
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(|| run(&channel))).unwrap_or_else(|panic| {
                Err(format!("the case panicked: {}", panic_message(&*panic)))
            });
            let _ = tx.send(result);
        });
    let result = match spawned {
        Err(error) => Err(format!("cannot start a thread for the case: {error}")),
        Ok(_) => match rx.recv_timeout(limit) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "the case did not finish within {} s (a call neither completed nor hit its \
                 deadline)",
                limit.as_secs_f64()
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err("the case's thread ended without a result".to_owned())
            }
        },
    };
    Outcome {
        name: case.name,
        result,
        elapsed: started.elapsed(),
    }
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> Channel {
        // Never connected: the test cases below make no calls.
        Channel::builder("http://127.0.0.1:9").build().unwrap()
    }

    #[test]
    fn results_panics_and_hangs_are_reported() {
        let ok = Case {
            name: "ok",
            run: |_| Ok(()),
            needs_compressed_request: false,
        };
        assert!(
            run_case(&ok, &channel(), Duration::from_secs(10))
                .result
                .is_ok()
        );

        let failing = Case {
            name: "failing",
            run: |_| Err("nope".to_owned()),
            ..ok
        };
        let outcome = run_case(&failing, &channel(), Duration::from_secs(10));
        assert_eq!(outcome.name, "failing");
        assert_eq!(outcome.result, Err("nope".to_owned()));

        let panicking = Case {
            name: "panicking",
            run: |_| panic!("boom"),
            ..ok
        };
        let err = run_case(&panicking, &channel(), Duration::from_secs(10))
            .result
            .unwrap_err();
        assert!(err.contains("panicked: boom"), "{err}");

        let hanging = Case {
            name: "hanging",
            run: |_| {
                std::thread::sleep(Duration::from_secs(5));
                Ok(())
            },
            ..ok
        };
        let err = run_case(&hanging, &channel(), Duration::from_millis(50))
            .result
            .unwrap_err();
        assert!(err.contains("did not finish"), "{err}");
    }
}
