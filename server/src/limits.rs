//! Limits that keep one client from holding or flooding the service:
//!
//! - a request's headers must arrive within `header_timeout` (actix-web's
//!   `client_request_timeout`), and its body within `body_timeout` after that (a body that
//!   trickles in is cut off with 408);
//! - at most `max_connections` open connections per server thread (actix-web's
//!   `max_connections`; further connections wait in the listen backlog);
//! - each client (a person, a token, or an address when anonymous) may ask for at most
//!   `changes_per_minute` changes (POST, PUT, PATCH, DELETE), in bursts of up to a quarter of
//!   that; more get 429 with `Retry-After`. GitLab's webhooks and the probes are not counted:
//!   GitLab is authenticated by its secret, and must never be refused for being busy.

use std::io;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use futures::{Stream, StreamExt};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::api::errors::error_response;
use crate::auth::identity::{Caller, Via};

/// The server's limits (see the module's doc).
#[derive(Debug, Clone)]
pub struct HttpLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub changes_per_minute: NonZeroU32,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            max_connections: 1024,
            changes_per_minute: NonZeroU32::new(120).expect("not zero"),
        }
    }
}

/// Remembered clients before the limiter forgets those that are back to a full allowance.
const REMEMBERED_CLIENTS: usize = 10_000;

/// Who has asked for how many changes lately.
pub struct ChangeLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl ChangeLimiter {
    pub fn new(limits: &HttpLimits) -> Self {
        let per_minute = limits.changes_per_minute;
        let burst = NonZeroU32::new((per_minute.get() / 4).max(1)).expect("not zero");
        ChangeLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
        }
    }

    /// `Err(wait)` when `client` must wait before its next change.
    fn check(&self, client: String) -> Result<(), Duration> {
        if self.limiter.len() > REMEMBERED_CLIENTS {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Middleware: the body deadline for every request, and the change limit for changes. Runs
/// after the guard, which tells who the caller is.
pub async fn limit(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limits = request
        .app_data::<web::Data<HttpLimits>>()
        .cloned()
        .expect("the limits are registered");
    // A websocket's payload is its frames, for as long as it is open: no deadline there.
    if !request.headers().contains_key(header::UPGRADE) {
        let payload = request.take_payload();
        request.set_payload(with_deadline(payload, limits.body_timeout));
    }
    if is_counted_change(&request) {
        let limiter = request
            .app_data::<web::Data<ChangeLimiter>>()
            .cloned()
            .expect("the change limiter is registered");
        if let Err(wait) = limiter.check(client_of(&request)) {
            let seconds = wait.as_secs().max(1);
            let mut answer = error_response(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many changes at once: at most {} a minute per person or token; try again in {seconds} s",
                    limits.changes_per_minute
                ),
            );
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
            return Ok(request.into_response(answer));
        }
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

fn is_counted_change(request: &ServiceRequest) -> bool {
    let change = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    change && !request.path().starts_with("/webhooks/")
}

/// The person, the token, or (anonymous) the address the request came from.
fn client_of(request: &ServiceRequest) -> String {
    let extensions = request.extensions();
    let identity = extensions
        .get::<Caller>()
        .and_then(|caller| caller.0.as_ref());
    match identity {
        Some(identity) => match (&identity.user, &identity.via) {
            (Some(user), _) => format!("user:{}", user.id),
            (None, Via::Token { id, .. }) => format!("token:{id}"),
            (None, _) => "bootstrap".to_string(),
        },
        None => format!(
            "address:{}",
            request
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default()
        ),
    }
}

type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// The body, ending in a timeout error if it has not arrived in full within `timeout`.
fn with_deadline(payload: Payload, timeout: Duration) -> Payload {
    let deadline = tokio::time::Instant::now() + timeout;
    let chunks = futures::stream::unfold(Some(payload), move |payload| async move {
        let mut payload = payload?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => Some((Err(body_timed_out(timeout)), None)),
        }
    });
    Payload::from(Box::pin(chunks) as Chunks)
}

fn body_timed_out(timeout: Duration) -> PayloadError {
    PayloadError::Io(io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "the request body did not arrive within {} s of its headers: send it at once",
            timeout.as_secs()
        ),
    ))
}

/// The sentence when `error` is the body deadline's, for a 408.
pub fn body_timeout_sentence(error: &PayloadError) -> Option<String> {
    match error {
        PayloadError::Io(cause) if cause.kind() == io::ErrorKind::TimedOut => {
            Some(cause.to_string())
        }
        _ => None,
    }
}
