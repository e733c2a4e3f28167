//! No step fails forever and no step takes the process down: a panic inside a step becomes the
//! step's failure, and a step that fails the same way [`MAX_SAME_FAILURES`] times in a row stops
//! being retried and fails its component with the reason. GitLab or the database being
//! unreachable is never counted: that is waited out, however long it lasts.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use futures::FutureExt;

use crate::error::StepError;

/// Identical failures of one component's step in a row before Convoy stops retrying it.
pub const MAX_SAME_FAILURES: u32 = 5;

/// The last failure of each component's step and how many times in a row it happened, in this
/// process (a restart starts counting again; a panic no longer restarts anything).
#[derive(Debug, Default)]
pub struct RepeatedFailures(Mutex<HashMap<i64, (String, u32)>>);

impl RepeatedFailures {
    /// Counts a failure of component `id`'s step; returns how many times in a row it failed
    /// with this same `message`.
    pub(crate) fn count(&self, id: i64, message: &str) -> u32 {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = counts.entry(id).or_insert_with(|| (message.to_owned(), 0));
        if entry.0 != message {
            *entry = (message.to_owned(), 0);
        }
        entry.1 += 1;
        entry.1
    }

    /// Forgets component `id`'s failures: its step succeeded.
    pub(crate) fn clear(&self, id: i64) {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts.remove(&id);
    }
}

/// Runs `work`; a panic inside it becomes a [`StepError::Fatal`] that names it, so the
/// component (or release) fails with a reason instead of the step being redone forever.
pub(crate) async fn caught<T>(
    what: &str,
    work: impl Future<Output = Result<T, StepError>>,
) -> Result<T, StepError> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_owned());
            tracing::error!(what, %message, "a step panicked");
            Err(StepError::Fatal(format!(
                "Convoy failed while {what} (an internal error: {message}): retry it; if it fails the same way, report it"
            )))
        }
    }
}

/// The failure that ends the retries of a step that failed `times` times the same way.
pub(crate) fn given_up(message: &str, times: u32) -> String {
    format!(
        "{message} (the same failure {times} times in a row: Convoy stopped retrying; retry once the cause is fixed)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_failure_in_a_row_is_counted() {
        let failures = RepeatedFailures::default();
        assert_eq!(failures.count(1, "a"), 1);
        assert_eq!(failures.count(1, "a"), 2);
        assert_eq!(failures.count(2, "a"), 1, "per component");
        assert_eq!(failures.count(1, "b"), 1, "another failure starts again");
        failures.clear(1);
        assert_eq!(failures.count(1, "b"), 1, "a success starts again");
    }

    #[tokio::test]
    async fn a_panic_becomes_the_steps_failure() {
        let result: Result<(), StepError> =
            caught("preparing CoreKit", async { panic!("index out of bounds") }).await;
        let Err(StepError::Fatal(reason)) = result else {
            panic!("{result:?}");
        };
        assert_eq!(
            reason,
            "Convoy failed while preparing CoreKit (an internal error: index out of bounds): retry it; if it fails the same way, report it"
        );
    }
}
