//! How a step fails: either it may work later by itself (retry), or a person must act.

use convoy_forge::ForgeError;
use convoy_store::StoreError;

/// The error of one step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Try again later (a race, something changed meanwhile): nothing is recorded. Counted:
    /// the same one too many times in a row fails the component (see `failures`).
    #[error("{0}")]
    Transient(String),
    /// GitLab or the database cannot be reached now: try again later, however long it takes.
    #[error("{0}")]
    Unavailable(String),
    /// A person must act; the sentence says what. Recorded as the failure reason.
    #[error("{0}")]
    Fatal(String),
    /// The component left the state the step was started for (a person canceled, retried or
    /// marked it meanwhile): the step stops before its next GitLab write, nothing is recorded.
    #[error("{0}")]
    Superseded(String),
}

impl From<ForgeError> for StepError {
    fn from(error: ForgeError) -> Self {
        if error.is_transient() {
            StepError::Unavailable(error.to_string())
        } else {
            StepError::Fatal(error.to_string())
        }
    }
}

impl From<StoreError> for StepError {
    fn from(error: StoreError) -> Self {
        StepError::Unavailable(error.to_string())
    }
}

impl From<convoy_core::TransitionError> for StepError {
    fn from(error: convoy_core::TransitionError) -> Self {
        // The worker only sends events its own state checks allow; another actor changed the
        // state meanwhile. The next pass looks again.
        StepError::Transient(error.to_string())
    }
}
