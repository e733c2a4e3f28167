//! Forge errors, typed so the worker knows whether to retry, fail with advice, or stop.

/// What went wrong talking to the forge. Messages carry the forge's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForgeError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("tag {tag} exists: change the version and retry")]
    TagExists { tag: String },
    #[error("{path} changed since Convoy read it: {message}")]
    FileChanged { path: String, message: String },
    #[error("merge request cannot be merged ({status}): {message}")]
    CannotMerge { status: u16, message: String },
    #[error("the forge token was rejected (401): {0}. Check the token Convoy is configured with")]
    Unauthorized(String),
    #[error("the forge token may not do this (403): {message}. {advice}")]
    Forbidden { message: String, advice: String },
    #[error("the forge refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the forge is unavailable after retries: {0}")]
    Unavailable(String),
}

impl ForgeError {
    /// True when the same call may succeed later without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, ForgeError::Unavailable(_))
    }
}
