//! Turning what GitLab answered into [`ForgeError`]s that carry GitLab's own words.

use gitlab::api::ApiError;
use serde_json::Value;

use super::client::ClientError;
use crate::ForgeError;

/// What a call needs the token to allow, to give the right advice on a 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reading project metadata, merge requests, pipelines, tags.
    Read,
    /// Reading files and the repository tree.
    ReadRepository,
    /// Commits, merge requests, pipelines, tags.
    Write,
    /// Project hooks.
    Hooks,
}

impl Access {
    pub(crate) fn advice(self) -> &'static str {
        match self {
            Access::Read => {
                "Give Convoy's token the `read_api` scope (or `api`) and at least Reporter access to the project"
            }
            Access::ReadRepository => {
                "Give Convoy's token the `read_repository` and `read_api` scopes (or `api`) and at least Reporter access to the project"
            }
            Access::Write => {
                "Give Convoy's token the `api` scope and at least Developer access to the project"
            }
            Access::Hooks => {
                "Give Convoy's token the `api` scope and Maintainer access to the project (project hooks need Maintainer)"
            }
        }
    }
}

/// A failed call, before it is named in domain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// GitLab answered with an error status and this message.
    Status { status: u16, message: String },
    /// Retries were exhausted.
    Unavailable(String),
    /// Anything else: the request could not be built, or the answer could not be read.
    Other(String),
}

impl Failure {
    pub(crate) fn from_api(error: ApiError<ClientError>) -> Failure {
        match error {
            ApiError::Client {
                source: ClientError::Unavailable(message),
            } => Failure::Unavailable(message),
            ApiError::Client {
                source: redirect @ ClientError::Redirected { status, .. },
            } => Failure::Status {
                status,
                message: redirect.to_string(),
            },
            ApiError::GitlabWithStatus { status, msg } => Failure::Status {
                status: status.as_u16(),
                message: msg,
            },
            ApiError::GitlabObjectWithStatus { status, obj } => Failure::Status {
                status: status.as_u16(),
                message: flatten_message(&obj),
            },
            ApiError::GitlabUnrecognizedWithStatus { status, obj } => Failure::Status {
                status: status.as_u16(),
                message: obj.to_string(),
            },
            ApiError::GitlabService { status, data } if !status.is_success() => Failure::Status {
                status: status.as_u16(),
                message: message_from_body(&data),
            },
            ApiError::GitlabService { status, data } => Failure::Other(format!(
                "GitLab answered {status} with a body that is not JSON: {}",
                excerpt(&String::from_utf8_lossy(&data))
            )),
            ApiError::GitlabRateLimited { retry_after, .. } => Failure::Unavailable(format!(
                "GitLab is rate limiting Convoy (retry after {retry_after:?})"
            )),
            ApiError::DataType { source, typename } => Failure::Other(format!(
                "GitLab's answer could not be read as {typename}: {source}"
            )),
            other => Failure::Other(other.to_string()),
        }
    }

    /// The status GitLab answered with, if it answered.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Failure::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            Failure::Status { message, .. }
            | Failure::Unavailable(message)
            | Failure::Other(message) => message,
        }
    }

    /// The generic mapping; `what` names the object for [`ForgeError::NotFound`].
    pub(crate) fn into_forge_error(self, what: &str, access: Access) -> ForgeError {
        match self {
            Failure::Unavailable(message) => ForgeError::Unavailable(message),
            // No HTTP status: the request could not be made or the answer was unreadable.
            Failure::Other(message) => ForgeError::Rejected { status: 0, message },
            Failure::Status { status, message } => match status {
                401 => ForgeError::Unauthorized(message),
                403 => ForgeError::Forbidden {
                    message,
                    advice: access.advice().to_owned(),
                },
                404 => ForgeError::NotFound(format!("{what}: {message}")),
                429 | 500..=599 => ForgeError::Unavailable(message),
                _ => ForgeError::Rejected { status, message },
            },
        }
    }
}

/// GitLab's message from an error body: `{"message": …}` (a string or an object) or
/// `{"error": …}`; otherwise the body itself, shortened.
pub(crate) fn message_from_body(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => match value.get("message").or_else(|| value.get("error")) {
            Some(Value::String(text)) => text.clone(),
            Some(other) => flatten_message(other),
            None => excerpt(&value.to_string()),
        },
        Err(_) => excerpt(&String::from_utf8_lossy(body)),
    }
}

/// GitLab's validation errors are objects like `{"source_branch": ["is invalid"]}`: make a
/// sentence of them (`source_branch is invalid`).
pub(crate) fn flatten_message(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items
            .iter()
            .map(flatten_message)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| format!("{key} {}", flatten_message(value)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn excerpt(text: &str) -> String {
    const LIMIT: usize = 200;
    let text = text.trim();
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_message_is_read_as_is() {
        assert_eq!(
            message_from_body(br#"{"message":"Tag v1.0.0 already exists"}"#),
            "Tag v1.0.0 already exists"
        );
    }

    #[test]
    fn an_object_message_becomes_a_sentence() {
        let body = br#"{"message":{"source_branch":["is invalid","is too long"],"title":["can't be blank"]}}"#;
        assert_eq!(
            message_from_body(body),
            "source_branch is invalid, is too long; title can't be blank"
        );
    }

    #[test]
    fn an_error_field_is_read_when_there_is_no_message() {
        assert_eq!(
            message_from_body(br#"{"error":"insufficient_scope"}"#),
            "insufficient_scope"
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_shortened() {
        let body = "x".repeat(300);
        assert_eq!(
            message_from_body(body.as_bytes()),
            format!("{}…", "x".repeat(200))
        );
    }

    #[test]
    fn a_403_carries_advice_naming_the_scope() {
        let failure = Failure::Status {
            status: 403,
            message: "403 Forbidden".into(),
        };
        assert_eq!(
            failure.into_forge_error("project a/b", Access::Write),
            ForgeError::Forbidden {
                message: "403 Forbidden".into(),
                advice: "Give Convoy's token the `api` scope and at least Developer access to the project".into(),
            }
        );
    }

    #[test]
    fn a_404_names_what_was_not_found() {
        let failure = Failure::Status {
            status: 404,
            message: "404 Project Not Found".into(),
        };
        assert_eq!(
            failure.into_forge_error("project a/b", Access::Read),
            ForgeError::NotFound("project a/b: 404 Project Not Found".into())
        );
    }

    #[test]
    fn other_4xx_are_rejected_with_status_and_message() {
        let failure = Failure::Status {
            status: 400,
            message: "ref is missing".into(),
        };
        assert_eq!(
            failure.into_forge_error("pipeline", Access::Write),
            ForgeError::Rejected {
                status: 400,
                message: "ref is missing".into()
            }
        );
    }
}
