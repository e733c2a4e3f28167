//! A Slack Web API client for what Convoy says in chat: `chat.postMessage`, `chat.update`,
//! `conversations.history` / `conversations.replies` (to find its own messages again by their
//! metadata) and `users.lookupByEmail`. Any server speaking that API works (Slack, or a
//! Slack-compatible chat). Three JSON methods do not justify a crate with its own HTTP stack.
//!
//! The bot token goes only to the configured API and never follows a redirect.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

/// Where and as whom Convoy posts.
#[derive(Clone)]
pub struct ChatSettings {
    /// The Web API's base, `https://slack.com/api`.
    pub api_url: String,
    /// A bot token (`xoxb-…`) with `chat:write`, `channels:history` and `users:read.email`.
    pub token: SecretString,
    /// The channel id (`C0123…`) every release is posted in.
    pub channel: String,
}

impl std::fmt::Debug for ChatSettings {
    // Hand-written so that the token never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatSettings")
            .field("api_url", &self.api_url)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// The metadata `event_type` of Convoy's messages.
pub(super) const EVENT_TYPE: &str = "convoy_notification";

/// A message of the channel, as far as Convoy looks at it.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Message {
    pub ts: String,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Metadata {
    pub event_type: String,
    #[serde(default)]
    pub event_payload: Value,
}

impl Message {
    /// Whether this is Convoy's message for the notification `key`.
    pub(super) fn is_for(&self, key: &str) -> bool {
        self.metadata.as_ref().is_some_and(|m| {
            m.event_type == EVENT_TYPE && m.event_payload["key"].as_str() == Some(key)
        })
    }
}

/// What went wrong, in a sentence; `retry_after` when the API asked to slow down.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub(super) struct ChatError {
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ChatError {
    fn new(message: String) -> ChatError {
        ChatError {
            message,
            retry_after: None,
        }
    }
}

/// Slack takes JSON bodies for its write methods only; the others read a form.
enum Payload {
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

pub(super) struct Slack {
    http: reqwest::Client,
    settings: ChatSettings,
    /// Slack takes about one message a second per channel: posts and edits wait their turn
    /// (in this process; a 429's `Retry-After` covers the rest).
    writes: DefaultDirectRateLimiter,
}

/// How long one call may take.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Messages of the channel looked through for Convoy's own (newest first).
const HISTORY_LIMIT: u32 = 200;

impl Slack {
    pub(super) fn new(settings: ChatSettings) -> Slack {
        let http = super::http_client(TIMEOUT);
        Slack {
            http,
            settings,
            writes: RateLimiter::direct(Quota::per_second(NonZeroU32::MIN)),
        }
    }

    /// `chat.postMessage`, in the thread of `thread_ts` if given; returns the message's `ts`.
    pub(super) async fn post(
        &self,
        text: &str,
        thread_ts: Option<&str>,
        key: &str,
    ) -> Result<String, ChatError> {
        let mut body = json!({
            "channel": self.settings.channel,
            "text": text,
            "unfurl_links": false,
            "metadata": { "event_type": EVENT_TYPE, "event_payload": { "key": key } },
        });
        if let Some(thread_ts) = thread_ts {
            body["thread_ts"] = json!(thread_ts);
        }
        self.writes.until_ready().await;
        let answer = self.call("chat.postMessage", Payload::Json(body)).await?;
        answer["ts"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ChatError::new("chat.postMessage answered without a ts".to_owned()))
    }

    /// `chat.update` of the message `ts`.
    pub(super) async fn update(&self, ts: &str, text: &str) -> Result<(), ChatError> {
        let body = json!({ "channel": self.settings.channel, "ts": ts, "text": text });
        self.writes.until_ready().await;
        self.call("chat.update", Payload::Json(body))
            .await
            .map(drop)
    }

    /// The channel's newest messages (`conversations.history`), or the replies in the thread
    /// of `thread_ts` (`conversations.replies`), with their metadata.
    pub(super) async fn messages(
        &self,
        thread_ts: Option<&str>,
    ) -> Result<Vec<Message>, ChatError> {
        let mut form = vec![
            ("channel", self.settings.channel.clone()),
            ("limit", HISTORY_LIMIT.to_string()),
            ("include_all_metadata", "true".to_owned()),
        ];
        let method = match thread_ts {
            Some(ts) => {
                form.push(("ts", ts.to_owned()));
                "conversations.replies"
            }
            None => "conversations.history",
        };
        let answer = self.call(method, Payload::Form(form)).await?;
        serde_json::from_value(answer["messages"].clone()).map_err(|e| {
            ChatError::new(format!(
                "{method} answered messages Convoy cannot read: {e}"
            ))
        })
    }

    /// The chat user with this email (`users.lookupByEmail`), if there is one.
    pub(super) async fn user_by_email(&self, email: &str) -> Result<Option<String>, ChatError> {
        let form = vec![("email", email.to_owned())];
        match self.call("users.lookupByEmail", Payload::Form(form)).await {
            Ok(answer) => Ok(answer["user"]["id"].as_str().map(str::to_owned)),
            Err(error) if error.message.contains("users_not_found") => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// One Web API call: `ok: false` and HTTP failures become a sentence.
    async fn call(&self, method: &str, payload: Payload) -> Result<Value, ChatError> {
        let url = format!("{}/{method}", self.settings.api_url.trim_end_matches('/'));
        let request = self
            .http
            .post(&url)
            .bearer_auth(self.settings.token.expose_secret());
        let request = match payload {
            Payload::Json(body) => request.json(&body),
            Payload::Form(fields) => {
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish();
                request
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form)
            }
        };
        let response = request.send().await.map_err(|e| {
            ChatError::new(format!("{method}: the chat API cannot be reached: {e}"))
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .map(Duration::from_secs);
            return Err(ChatError {
                message: format!("{method}: the chat API is rate limiting Convoy (429)"),
                retry_after,
            });
        }
        if !status.is_success() {
            return Err(ChatError::new(format!(
                "{method}: the chat API answered {status}"
            )));
        }
        let answer: Value = response
            .json()
            .await
            .map_err(|e| ChatError::new(format!("{method}: the chat API answered no JSON: {e}")))?;
        if answer["ok"] != json!(true) {
            let error = answer["error"].as_str().unwrap_or("an unnamed error");
            return Err(ChatError::new(format!(
                "{method}: the chat API said {error}"
            )));
        }
        Ok(answer)
    }
}
