//! What every API error has in common: the `{"error": "…"}` body, and the answers to requests that do not even reach a handler (bad JSON, bad path, bad query).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, error};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// An error answer with `message` as the sentence a person reads.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: message.into(),
    })
}

/// The sentence shown when something broke inside Convoy; the cause goes to the log only.
pub const INTERNAL_ERROR: &str =
    "Convoy could not complete the request because of an internal error: try again in a moment";

/// Logs an internal error with its whole chain of causes.
pub fn log_internal(error: &(dyn std::error::Error + 'static)) {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "request failed");
}

/// Answers a body that is not the JSON an endpoint expects.
pub fn json_error(err: error::JsonPayloadError, _request: &HttpRequest) -> actix_web::Error {
    if let error::JsonPayloadError::Payload(cause) = &err
        && let Some(sentence) = crate::limits::body_timeout_sentence(cause)
    {
        let answer = error_response(StatusCode::REQUEST_TIMEOUT, sentence);
        return error::InternalError::from_response(err, answer).into();
    }
    let message = match &err {
        error::JsonPayloadError::ContentType => {
            "the request body must be JSON: send it with `Content-Type: application/json`"
                .to_string()
        }
        error::JsonPayloadError::Overflow { .. }
        | error::JsonPayloadError::OverflowKnownLength { .. } => {
            "the request body is too large: send less than 1 MB".to_string()
        }
        error::JsonPayloadError::Deserialize(cause) => {
            format!("the request body is not what this endpoint expects: {cause}")
        }
        other => format!("the request body could not be read: {other}"),
    };
    let status = match err {
        error::JsonPayloadError::Overflow { .. }
        | error::JsonPayloadError::OverflowKnownLength { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        error::JsonPayloadError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::BAD_REQUEST,
    };
    error::InternalError::from_response(err, error_response(status, message)).into()
}

/// Answers a path that does not name a release (`/api/v1/releases/abc`).
pub fn path_error(err: error::PathError, _request: &HttpRequest) -> actix_web::Error {
    let response = error_response(
        StatusCode::NOT_FOUND,
        "no such release: release ids are whole numbers, as listed by GET /api/v1/releases",
    );
    error::InternalError::from_response(err, response).into()
}

/// Answers query parameters of the wrong type (`?page=two`).
pub fn query_error(err: error::QueryPayloadError, _request: &HttpRequest) -> actix_web::Error {
    let message = format!("the query parameters are not valid: {err}");
    error::InternalError::from_response(err, error_response(StatusCode::BAD_REQUEST, message))
        .into()
}

/// Answers any `/api/v1` address that names no endpoint: 405 with `Allow` when the path is an
/// endpoint's and only the method is wrong (RFC 9110, 15.5.6), else 404.
pub async fn unknown_endpoint(request: HttpRequest) -> HttpResponse {
    let allowed = super::allowed_methods(request.path());
    if !allowed.is_empty() {
        return method_not_allowed(&request, &allowed);
    }
    error_response(
        StatusCode::NOT_FOUND,
        format!(
            "there is no {} {} endpoint: the API's routes start with /api/v1/releases",
            request.method(),
            request.path()
        ),
    )
}

/// 405 for a method `path` does not answer, naming the methods it does in `Allow`.
pub fn method_not_allowed(request: &HttpRequest, allowed: &[&str]) -> HttpResponse {
    let allow = allowed.join(", ");
    let mut response = error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} {} is not an endpoint: this address answers {allow}",
            request.method(),
            request.path()
        ),
    );
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
}

/// Why an action on an existing release (deploy, retry, cancel, edit a version, …) failed.
///
/// All these handlers fail in the same ways, so they share this enum; creating and reading
/// releases have their own.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("release {0} does not exist: list releases with GET /api/v1/releases")]
    ReleaseNotFound(i64),
    #[error("release {release} has no component named {name}: check the name on the release page")]
    ComponentNotFound { release: i64, name: String },
    /// The state machine does not allow the action now; its text says why.
    #[error(transparent)]
    NotAllowed(#[from] convoy_core::TransitionError),
    /// The action is allowed but would change nothing (no component to deploy, …).
    #[error("{0}")]
    NothingToDo(String),
    /// The release's `actions` do not offer it now (the state machine alone would allow it).
    #[error("{0}")]
    NotOffered(String),
    #[error("the release changed meanwhile: reload and try again")]
    ChangedMeanwhile,
    #[error("{0}")]
    InvalidInput(String),
    /// A field broke a rule of `convoy_core::validate` (length, format); the text names it.
    #[error(transparent)]
    Input(#[from] convoy_core::validate::InputError),
    #[error(transparent)]
    InvalidVersion(#[from] convoy_core::version::VersionError),
    #[error(transparent)]
    Store(#[from] convoy_store::StoreError),
}

impl error::ResponseError for ActionError {
    fn status_code(&self) -> StatusCode {
        match self {
            ActionError::Auth(auth) => auth.status_code(),
            ActionError::ReleaseNotFound(_) | ActionError::ComponentNotFound { .. } => {
                StatusCode::NOT_FOUND
            }
            ActionError::NotAllowed(_)
            | ActionError::NothingToDo(_)
            | ActionError::NotOffered(_)
            | ActionError::ChangedMeanwhile => StatusCode::CONFLICT,
            ActionError::InvalidInput(_) | ActionError::Input(_) => StatusCode::BAD_REQUEST,
            ActionError::InvalidVersion(_) => StatusCode::UNPROCESSABLE_ENTITY,
            // Reopening a release while another of its app and ref is active.
            ActionError::Store(convoy_store::StoreError::ActiveRelease { .. }) => {
                StatusCode::CONFLICT
            }
            ActionError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ActionError::Store(active @ convoy_store::StoreError::ActiveRelease { .. }) => {
                error_response(self.status_code(), active.to_string())
            }
            ActionError::Store(cause) => {
                log_internal(cause);
                error_response(self.status_code(), INTERNAL_ERROR)
            }
            other => error_response(other.status_code(), other.to_string()),
        }
    }
}
