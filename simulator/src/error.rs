//! GitLab's error answers: a status code and the exact JSON body GitLab sends.

use serde_json::{Value, json};

/// An error answer as GitLab gives it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub body: Value,
}

impl ApiError {
    pub fn new(status: u16, body: Value) -> ApiError {
        ApiError { status, body }
    }

    /// `{"message": "..."}` with any status.
    pub fn message(status: u16, message: impl Into<String>) -> ApiError {
        ApiError::new(status, json!({ "message": message.into() }))
    }

    /// 400 with GitLab's plain message.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::message(400, message)
    }

    /// 400 for a missing required parameter, in Grape's shape.
    pub fn missing(param: &str) -> ApiError {
        ApiError::new(400, json!({ "error": format!("{param} is missing") }))
    }

    /// 404 `{"message":"404 <What> Not Found"}`.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::message(404, format!("404 {what} Not Found"))
    }

    /// A path no endpoint answers: Grape's `{"error":"404 Not Found"}`.
    pub fn no_route() -> ApiError {
        ApiError::new(404, json!({ "error": "404 Not Found" }))
    }

    pub fn unauthorized() -> ApiError {
        ApiError::message(401, "401 Unauthorized")
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::message(405, "405 Method Not Allowed")
    }

    /// The text a person reads, for errors surfaced through the Rust helpers.
    pub fn text(&self) -> String {
        match &self.body {
            Value::Object(map) => map
                .get("message")
                .or_else(|| map.get("error"))
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_else(|| self.body.to_string()),
            other => other.to_string(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text())
    }
}

impl std::error::Error for ApiError {}
