//! The span every request is logged in. `tracing_actix_web`'s default span records the whole
//! request target, query string included, so `/auth/callback?code=…&state=…` would put an OAuth
//! authorization code and its state into the logs. This one records the same fields, with the
//! value of every query parameter that may carry a secret replaced by `[redacted]`.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

/// What stands in a logged query for a secret's value.
pub const REDACTED: &str = "[redacted]";

/// Query parameters whose name contains one of these carry secrets: OAuth's `code` and `state`
/// (RFC 6749 §4.1.2), and any token, secret, password or key a client might put in a URL.
const SECRET_NAMES: &[&str] = &[
    "code", "state", "token", "secret", "password", "key", "session",
];

/// The root span of every request, with a redacted `http.target`.
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        let user_agent = request
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.user_agent = %user_agent,
            http.target = %redacted_target(request.path(), request.query_string()),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// `path?query` with the values of secret-bearing parameters replaced: `/auth/callback?code=abc`
/// gives `/auth/callback?code=[redacted]`. Other parameters (`after=12`) are kept as sent.
pub fn redacted_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let lower = name.to_ascii_lowercase();
            if !value.is_empty() && SECRET_NAMES.iter().any(|secret| lower.contains(secret)) {
                format!("{name}={REDACTED}")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{path}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oauth_code_and_state_are_redacted_and_other_parameters_kept() {
        assert_eq!(
            redacted_target("/auth/callback", "code=abc123&state=xyz"),
            "/auth/callback?code=[redacted]&state=[redacted]"
        );
        assert_eq!(
            redacted_target("/releases/1/live", "after=12"),
            "/releases/1/live?after=12"
        );
        assert_eq!(
            redacted_target("/x", "private_token=glpat-1&page=2&flag"),
            "/x?private_token=[redacted]&page=2&flag"
        );
        assert_eq!(redacted_target("/", ""), "/");
    }
}
