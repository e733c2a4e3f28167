//! A small HTTP client for the `gitlab` crate's endpoint builders: reqwest with a timeout, the
//! token in the `PRIVATE-TOKEN` header, retries with exponential backoff on 5xx and connection
//! errors or timeouts, and GitLab's rate limits honoured by every request at once
//! ([`super::budget`]: a 429's `Retry-After` pauses them all).
//!
//! Redirects are never followed: a redirect to another origin would carry the token (and, in
//! a hook registration, the webhook secret) there. A 3xx answer becomes
//! [`ClientError::Redirected`], which tells the operator which address to configure instead.
//!
//! We do not use `gitlab::AsyncGitlab`: building it calls `GET /api/v4/user` at startup and it
//! has neither a timeout nor retries.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use gitlab::api::{ApiError, AsyncClient, RestClient};
use http::{HeaderValue, StatusCode};
use url::Url;

use super::budget::{Budget, Verdict};
use super::metrics;

/// The longest we wait between two attempts, whatever `Retry-After` or the backoff say.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// How the GitLab adapter talks to GitLab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitLabOptions {
    /// Time limit for one HTTP request (connect, send and read the whole answer).
    pub timeout: Duration,
    /// How many times a failed request is tried again (0 = try once).
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each further retry (capped at 60 s).
    pub base_backoff: Duration,
    /// At most this many requests per second (none: as fast as GitLab answers). GitLab.com
    /// allows 2,000 authenticated requests per minute, about 33 a second.
    pub requests_per_second: Option<NonZeroU32>,
    /// At most this many requests at once; fewer while GitLab answers 429 or 5xx.
    pub max_in_flight: usize,
}

impl Default for GitLabOptions {
    fn default() -> Self {
        GitLabOptions {
            timeout: Duration::from_secs(30),
            max_retries: 4,
            base_backoff: Duration::from_millis(500),
            requests_per_second: None,
            max_in_flight: 32,
        }
    }
}

/// The constructor's arguments were unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid GitLab configuration: {0}")]
pub struct ConfigError(pub String);

/// Why the client gave up on a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Every attempt failed with a transient error (5xx, 429, connection error, timeout).
    #[error("{0}")]
    Unavailable(String),
    /// The request could not even be built.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// GitLab answered with a redirect, which Convoy does not follow (the token would go along).
    #[error("GitLab answered {status} to {location}: set CONVOY_GITLAB_URL to that address")]
    Redirected { status: u16, location: String },
}

/// The API token. Its `Debug` output never shows the value.
#[derive(Clone)]
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    http: reqwest::Client,
    api_base: Url,
    token: Token,
    options: GitLabOptions,
    budget: Arc<Budget>,
}

/// What one attempt gave.
enum Attempt {
    /// A final answer: success or an error status that retrying will not change.
    Done(http::Response<Bytes>),
    /// A 3xx answer: not followed, and not worth retrying.
    Redirected(ClientError),
    /// A transient failure (5xx, 429, no answer): try again.
    Transient(String),
}

impl HttpClient {
    pub(crate) fn new(
        base_url: &str,
        token: String,
        options: GitLabOptions,
    ) -> Result<Self, ConfigError> {
        let base =
            Url::parse(base_url).map_err(|e| ConfigError(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ConfigError(format!(
                "base URL {base_url:?} must start with http:// or https://"
            )));
        }
        let api_base = Url::parse(&format!("{}/api/v4/", base.as_str().trim_end_matches('/')))
            .map_err(|e| ConfigError(format!("base URL {base_url:?}: {e}")))?;
        if HeaderValue::from_str(&token).is_err() || token.is_empty() {
            return Err(ConfigError(
                "the token is empty or has characters a header cannot carry".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            // Following a redirect would send the token to whatever origin it names.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError(format!("HTTP client: {e}")))?;
        Ok(HttpClient {
            http,
            api_base,
            token: Token(token),
            budget: Budget::new(options.requests_per_second, options.max_in_flight),
            options,
        })
    }

    /// One attempt, within the budget, and what its answer says about GitLab's load.
    async fn attempt(
        &self,
        parts: &http::request::Parts,
        url: &str,
        body: &[u8],
    ) -> (Attempt, Verdict) {
        let slot = self.budget.start().await;
        let (attempt, verdict) = self.send(parts, url, body).await;
        slot.finish(verdict);
        (attempt, verdict)
    }

    async fn send(
        &self,
        parts: &http::request::Parts,
        url: &str,
        body: &[u8],
    ) -> (Attempt, Verdict) {
        let started = std::time::Instant::now();
        let observe = |outcome: &str| {
            metrics::record_attempt(&parts.method, parts.uri.path(), outcome, started.elapsed())
        };
        let mut token = HeaderValue::from_str(&self.token.0).expect("checked in new");
        token.set_sensitive(true);
        let request = self
            .http
            .request(parts.method.clone(), url)
            .headers(parts.headers.clone())
            .header("PRIVATE-TOKEN", token)
            .body(body.to_vec());
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                observe("error");
                return (Attempt::Transient(describe(&e)), Verdict::Overloaded);
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let verdict = super::budget::verdict(status, &headers);
        if status.is_redirection() {
            return (
                Attempt::Redirected(redirected(status, &headers, url)),
                verdict,
            );
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => {
                observe("error");
                return (Attempt::Transient(describe(&e)), Verdict::Overloaded);
            }
        };
        observe(metrics::outcome_of(status));
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            let reason = format!(
                "GitLab answered {status}: {}",
                super::errors::message_from_body(&body)
            );
            return (Attempt::Transient(reason), verdict);
        }
        let mut out = http::Response::new(body);
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        (Attempt::Done(out), verdict)
    }

    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry);
        self.options
            .base_backoff
            .saturating_mul(factor)
            .min(MAX_DELAY)
    }
}

/// The redirect as an error naming where GitLab sent Convoy (the `Location`, resolved against
/// the request's URL; the request's URL itself when there is none).
fn redirected(status: StatusCode, headers: &http::HeaderMap, url: &str) -> ClientError {
    let location = headers
        .get(http::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Url::parse(url).ok()?.join(value).ok())
        .map(|target| without_credentials(&target))
        .unwrap_or_else(|| url.to_owned());
    ClientError::Redirected {
        status: status.as_u16(),
        location,
    }
}

/// A URL fit for a log line: no user name, password, query or fragment.
fn without_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// A transport error in words, without the request's headers (the token is never shown).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the request timed out".to_owned()
    } else if error.is_connect() {
        format!("could not connect: {error}")
    } else {
        format!("the request failed: {error}")
    }
}

impl RestClient for HttpClient {
    type Error = ClientError;

    fn rest_endpoint(&self, endpoint: &str) -> Result<Url, ApiError<Self::Error>> {
        Ok(self.api_base.join(endpoint)?)
    }
}

#[async_trait]
impl AsyncClient for HttpClient {
    async fn rest_async(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<http::Response<Bytes>, ApiError<Self::Error>> {
        let (parts, ()) = request
            .body(())
            .map_err(|e| ApiError::client(ClientError::InvalidRequest(e.to_string())))?
            .into_parts();
        let path = parts.uri.path().to_owned();
        // The crate leaves a bare `?` on URLs without parameters.
        let mut url = parts.uri.to_string();
        if url.ends_with('?') {
            url.pop();
        }
        let mut retry = 0;
        loop {
            let (attempt, verdict) = self.attempt(&parts, &url, &body).await;
            let reason = match attempt {
                Attempt::Done(response) => return Ok(response),
                Attempt::Redirected(error) => return Err(ApiError::client(error)),
                Attempt::Transient(reason) => reason,
            };
            if retry >= self.options.max_retries {
                let attempts = retry + 1;
                return Err(ApiError::client(ClientError::Unavailable(format!(
                    "{} {path}: {reason} (gave up after {attempts} attempt{})",
                    parts.method,
                    if attempts == 1 { "" } else { "s" },
                ))));
            }
            // A throttled request waits in the budget's pause with every other one; the rest
            // back off.
            let delay = match verdict {
                Verdict::Throttled { pause } => {
                    metrics::record_rate_limit_wait(pause);
                    Duration::ZERO
                }
                _ => self.backoff(retry),
            };
            tracing::warn!(method = %parts.method, path, retry = retry + 1, ?delay, "GitLab request failed, retrying: {reason}");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }
}
