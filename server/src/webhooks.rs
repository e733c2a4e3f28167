//! `POST /webhooks/gitlab`: GitLab's webhook deliveries.
//!
//! The endpoint only authenticates, records and acknowledges: one write, answered after its
//! commit (shared with the deliveries that arrive meanwhile, `crate::delivery_writer`). The recorded delivery is the worker's work item (its delivery loop hears of it at
//! once, see `convoy_store::Store::delivery_wakeups`); no job is queued for it. GitLab disables a hook that answers slowly or with errors, so every authentic JSON
//! delivery gets a 200 at once, even of an event Convoy ignores (the worker marks it ignored).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use convoy_store::NewDelivery;
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::api::errors::{ErrorBody, INTERNAL_ERROR, error_response, log_internal};
use crate::delivery_writer::{DeliveryWriter, RecordError};
use crate::settings::ServerSettings;

/// The largest delivery accepted. GitLab's push events list commits and can be large.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// Registers the webhook route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks/gitlab")
            .route(web::post().to(gitlab_webhook))
            .default_service(web::to(|request: HttpRequest| async move {
                crate::api::errors::method_not_allowed(&request, &["POST"])
            })),
    );
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("wrong or missing X-Gitlab-Token: use the secret Convoy was configured with")]
    WrongToken,
    #[error("missing X-Gitlab-Event header: send deliveries from a GitLab webhook")]
    MissingEvent,
    #[error(
        "the X-Gitlab-Event header is not readable text (only visible ASCII is allowed): send the event name GitLab uses, such as \"Pipeline Hook\""
    )]
    UnreadableEvent,
    #[error("the delivery body is not JSON: GitLab sends webhook payloads as JSON ({0})")]
    NotJson(String),
    #[error("the delivery body is larger than 5 MB: Convoy does not use deliveries that large")]
    TooLarge,
    /// The connection broke while the body was read.
    #[error("the delivery body could not be read: {0}")]
    Unreadable(actix_web::Error),
    #[error(transparent)]
    NotRecorded(#[from] RecordError),
}

/// The body did not arrive within the server's body timeout (`crate::limits`).
fn timed_out(cause: &actix_web::Error) -> bool {
    cause
        .as_error::<actix_web::error::PayloadError>()
        .and_then(crate::limits::body_timeout_sentence)
        .is_some()
}

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebhookError::WrongToken => StatusCode::UNAUTHORIZED,
            WebhookError::MissingEvent
            | WebhookError::UnreadableEvent
            | WebhookError::NotJson(_) => StatusCode::BAD_REQUEST,
            WebhookError::Unreadable(cause) if timed_out(cause) => StatusCode::REQUEST_TIMEOUT,
            WebhookError::Unreadable(_) => StatusCode::BAD_REQUEST,
            WebhookError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::NotRecorded(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebhookError::NotRecorded(cause) => {
                log_internal(cause);
                error_response(self.status_code(), INTERNAL_ERROR)
            }
            other => error_response(other.status_code(), other.to_string()),
        }
    }
}

/// What a delivery was taken as: `accepted` (recorded for the worker) or `duplicate` (seen
/// before, recorded once).
#[derive(Debug, Serialize, ToSchema)]
pub struct Acknowledgement {
    #[schema(example = "accepted")]
    pub status: &'static str,
}

/// Records one delivery for the worker; a delivery seen before is acknowledged again.
#[utoipa::path(
    post,
    path = "/webhooks/gitlab",
    summary = "Receive a GitLab webhook delivery",
    tag = "webhooks",
    params(
        ("X-Gitlab-Event" = String, Header, pattern = "^[ -~]*[!-~][ -~]*$", description = "GitLab's event name, e.g. `Pipeline Hook` (visible ASCII)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Shared by GitLab's retries of one delivery"),
        ("X-Gitlab-Event-UUID" = Option<String>, Header, description = "The delivery's event UUID"),
    ),
    request_body(
        content = serde_json::Value,
        content_type = "application/json",
        description = "GitLab's webhook payload (merge request, pipeline, push, tag push, …), at most 5 MB",
    ),
    responses(
        (status = 200, description = "Recorded (or seen before)", body = Acknowledgement),
        (status = 400, description = "No `X-Gitlab-Event`, or the body is not JSON", body = ErrorBody),
        (status = 401, description = "Wrong or missing `X-Gitlab-Token`", body = ErrorBody),
        (status = 413, description = "The body is larger than 5 MB", body = ErrorBody),
        (status = 421, description = "The Host header is not this Convoy's", body = ErrorBody),
        (status = 500, description = "Convoy failed inside; GitLab retries", body = ErrorBody),
    ),
    security(("gitlab_token" = []))
)]
pub async fn gitlab_webhook(
    request: HttpRequest,
    payload: web::Payload,
    deliveries: web::Data<DeliveryWriter>,
    settings: web::Data<ServerSettings>,
) -> Result<HttpResponse, WebhookError> {
    let token = header(&request, "X-Gitlab-Token").unwrap_or("");
    let expected = settings.webhook_secret.expose_secret();
    let authentic: bool = token.as_bytes().ct_eq(expected.as_bytes()).into();
    if !authentic || token.is_empty() {
        tracing::warn!("webhook refused: wrong or missing X-Gitlab-Token");
        return Err(WebhookError::WrongToken);
    }
    let event_name = event_name(&request)?;
    // Read only once the sender is known to be GitLab, and never more than the limit.
    let body = payload
        .to_bytes_limited(MAX_BODY_BYTES)
        .await
        .map_err(|_| WebhookError::TooLarge)?
        .map_err(WebhookError::Unreadable)?;
    let payload: serde_json::Value =
        serde_json::from_slice(&body).map_err(|err| WebhookError::NotJson(err.to_string()))?;
    let project_path = payload
        .pointer("/project/path_with_namespace")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let idempotency_key = idempotency_key(&request, &event_name, &body);

    let delivery = NewDelivery {
        idempotency_key,
        event_name: event_name.clone(),
        project_path,
        payload: String::from_utf8_lossy(&body).into_owned(),
    };
    let key = delivery.idempotency_key.clone();
    let status = match deliveries.record(delivery).await? {
        Some(delivery_id) => {
            tracing::info!(delivery_id, event = %event_name, "webhook delivery recorded");
            "accepted"
        }
        None => {
            tracing::info!(event = %event_name, %key, "duplicate webhook delivery");
            "duplicate"
        }
    };
    crate::metrics::record_webhook(status == "duplicate");
    Ok(HttpResponse::Ok().json(Acknowledgement { status }))
}

/// The `X-Gitlab-Event` header: absent or blank, and present but not text, are told apart.
fn event_name(request: &HttpRequest) -> Result<String, WebhookError> {
    let Some(value) = request.headers().get("X-Gitlab-Event") else {
        return Err(WebhookError::MissingEvent);
    };
    let name = value
        .to_str()
        .map_err(|_| WebhookError::UnreadableEvent)?
        .trim();
    if name.is_empty() {
        return Err(WebhookError::MissingEvent);
    }
    Ok(name.to_string())
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// `Idempotency-Key` when GitLab sent one (retries of one delivery share it), else the event
/// UUID with the event name, else a hash of the event name and the body.
fn idempotency_key(request: &HttpRequest, event_name: &str, body: &[u8]) -> String {
    if let Some(key) = header(request, "Idempotency-Key").map(str::trim)
        && !key.is_empty()
    {
        return key.to_string();
    }
    if let Some(uuid) = header(request, "X-Gitlab-Event-UUID").map(str::trim)
        && !uuid.is_empty()
    {
        return format!("{uuid}:{event_name}");
    }
    let mut hasher = Sha256::new();
    hasher.update(event_name.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_idempotency_key_header_wins_over_the_event_uuid() {
        let request = TestRequest::default()
            .insert_header(("Idempotency-Key", "abc"))
            .insert_header(("X-Gitlab-Event-UUID", "uuid-1"))
            .to_http_request();
        assert_eq!(idempotency_key(&request, "Pipeline Hook", b"{}"), "abc");
    }

    #[test]
    fn the_event_uuid_is_used_with_the_event_name() {
        let request = TestRequest::default()
            .insert_header(("X-Gitlab-Event-UUID", "uuid-1"))
            .to_http_request();
        assert_eq!(
            idempotency_key(&request, "Pipeline Hook", b"{}"),
            "uuid-1:Pipeline Hook"
        );
    }

    #[test]
    fn without_headers_the_same_body_gives_the_same_key() {
        let request = TestRequest::default().to_http_request();
        let first = idempotency_key(&request, "Push Hook", b"{\"a\":1}");
        let again = idempotency_key(&request, "Push Hook", b"{\"a\":1}");
        let other = idempotency_key(&request, "Push Hook", b"{\"a\":2}");
        assert_eq!(first, again);
        assert_ne!(first, other);
        assert!(first.starts_with("sha256:"), "{first}");
    }
}
