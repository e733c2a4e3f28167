//! Generic webhooks: every state change of a release and of its components, posted as a JSON
//! event to each configured URL, signed with HMAC-SHA256, retried with backoff until the
//! receiver answers 2xx. The event id is stable (`convoy-event-<event id>`), the same on every
//! retry and for every URL, so receivers deduplicate; the body is built only from what the log
//! recorded, so a retry sends the same bytes.
//!
//! Headers: `X-Convoy-Event` (the event type), `X-Convoy-Event-Id`, and
//! `X-Convoy-Signature: sha256=<hex HMAC-SHA256 of the body with the shared secret>`.

use std::time::Duration;

use convoy_store::{MainRelease, Notification, ReleaseEvent};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::Sha256;

use super::Outcome;
use crate::context::Context;

/// How long a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where events go and the secret they are signed with.
#[derive(Clone)]
pub struct WebhookSettings {
    pub urls: Vec<String>,
    pub secret: SecretString,
}

impl std::fmt::Debug for WebhookSettings {
    // Hand-written so that the secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

pub(super) struct Webhooks {
    http: reqwest::Client,
    secret: SecretString,
}

impl Webhooks {
    pub(super) fn new(settings: &WebhookSettings) -> Webhooks {
        let http = super::http_client(TIMEOUT);
        Webhooks {
            http,
            secret: settings.secret.clone(),
        }
    }
}

pub(super) async fn deliver(
    ctx: &Context,
    webhooks: &Webhooks,
    release: &MainRelease,
    n: &Notification,
) -> anyhow::Result<Outcome> {
    let Some(url) = n.target.as_deref() else {
        return Ok(Outcome::NothingToSend);
    };
    let events = ctx.store.events(n.release_id, n.event_id - 1, 1).await?;
    let Some(event) = events.into_iter().find(|e| e.id == n.event_id) else {
        return Ok(Outcome::NothingToSend);
    };
    let (kind, body) = payload(ctx, release, &event);
    let signature = sign(webhooks.secret.expose_secret(), body.as_bytes());
    let sent = webhooks
        .http
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Convoy-Event", kind)
        .header("X-Convoy-Event-Id", event_id(&event))
        .header("X-Convoy-Signature", format!("sha256={signature}"))
        .body(body.clone())
        .send()
        .await;
    let failure = match sent {
        Ok(response) if response.status().is_success() => {
            return Ok(Outcome::Sent {
                body,
                not_before: Duration::ZERO,
            });
        }
        Ok(response) => format!("it answered {}", response.status()),
        Err(error) => format!("it cannot be reached: {error}"),
    };
    Ok(Outcome::Failed {
        sentence: format!(
            "the webhook {url} did not take event {}: {failure}",
            event_id(&event)
        ),
        retry_after: None,
    })
}

fn event_id(event: &ReleaseEvent) -> String {
    format!("convoy-event-{}", event.id)
}

/// The event's type and its JSON body, from the logged event and the release's fixed facts.
fn payload(ctx: &Context, release: &MainRelease, event: &ReleaseEvent) -> (&'static str, String) {
    let kind = if event.component_id.is_some() {
        "component.state_changed"
    } else {
        "release.state_changed"
    };
    let url = ctx
        .settings
        .public_url
        .as_ref()
        .map(|url| format!("{}/releases/{}", url.trim_end_matches('/'), release.id));
    let body = json!({
        "id": event_id(event),
        "type": kind,
        "occurred_at": event.created_at,
        "release": {
            "id": release.id,
            "app_project": release.app_project,
            "app_ref": release.app_ref,
            "url": url,
        },
        "component": event.component_name,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "reason": event.reason,
        "actor": event.actor,
    });
    (kind, body.to_string())
}

/// Hex HMAC-SHA256 of `body` under `secret`.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231s_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
