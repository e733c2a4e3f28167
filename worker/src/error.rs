//! How a step fails: either it may work later by itself (retry), or a person must act.

use convoy_forge::ForgeError;
use convoy_store::StoreError;

/// The error of one step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Try again later (forge unavailable, database busy, a race): nothing is recorded.
    #[error("{0}")]
    Transient(String),
    /// A person must act; the sentence says what. Recorded as the failure reason.
    #[error("{0}")]
    Fatal(String),
}

impl From<ForgeError> for StepError {
    fn from(error: ForgeError) -> Self {
        if error.is_transient() {
            StepError::Transient(error.to_string())
        } else {
            StepError::Fatal(error.to_string())
        }
    }
}

impl From<StoreError> for StepError {
    fn from(error: StoreError) -> Self {
        StepError::Transient(error.to_string())
    }
}

impl From<convoy_core::TransitionError> for StepError {
    fn from(error: convoy_core::TransitionError) -> Self {
        // The worker only sends events its own state checks allow; another actor changed the
        // state meanwhile. The next pass looks again.
        StepError::Transient(error.to_string())
    }
}
