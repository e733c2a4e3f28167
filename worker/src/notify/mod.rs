//! Notifications: the outbox derived from the release event log (`Store::derive_notifications`,
//! what to tell is `convoy_core::notices`) is delivered here: as notes on the component's merge
//! request ([`notes`]) and, when configured, in a Slack-compatible chat channel ([`chat`]) and
//! as signed JSON events to webhook URLs ([`webhook`]).
//! Delivery never slows a release: it runs in its own loop, a failed delivery is retried with
//! backoff (shown on the release page meanwhile), and it is never a failure of the release.
//!
//! Exactly once, whatever crashes: a message's id is recorded the moment it exists, and before
//! writing one again Convoy looks for its own (each carries a marker naming what it is for).

mod chat;
mod messages;
mod notes;
mod slack;
mod webhook;

use std::time::Duration;

use convoy_core::notices::channels_for;
use convoy_store::{
    CHAT, ComponentRelease, MERGE_REQUEST_NOTE, MainRelease, Notification, WEBHOOK,
};
use futures::StreamExt;

use crate::advance::now_ms;
use crate::context::Context;

pub use slack::ChatSettings;
pub use webhook::WebhookSettings;

/// How often the loop looks when no event woke it.
const IDLE_LOOK: Duration = Duration::from_secs(2);
/// Rows claimed per round, and delivered at once.
const BATCH: i64 = 32;
const CONCURRENCY: usize = 4;
/// A failed delivery waits 1 s, then twice as long after each further failure, up to this.
const MAX_BACKOFF_MS: i64 = 60_000;

/// How one delivery went.
enum Outcome {
    /// Written; the row is not sent again before `not_before` has passed.
    Sent { body: String, not_before: Duration },
    /// There is nothing to write (yet): the next state change asks again.
    NothingToSend,
    /// It needs something that is not there yet (the release's chat message): look again soon.
    NotYet,
    /// The channel refused or could not be reached.
    Failed {
        sentence: String,
        retry_after: Option<Duration>,
    },
}

/// The channels this worker delivers to.
struct Channels {
    chat: Option<slack::Slack>,
    webhooks: Option<webhook::Webhooks>,
    webhook_urls: Vec<String>,
}

/// Delivers notifications until the worker stops.
pub async fn notify_forever(ctx: Context) {
    let webhooks = ctx.settings.webhooks.as_ref();
    let channels = Channels {
        chat: ctx.settings.chat.clone().map(slack::Slack::new),
        webhooks: webhooks.map(webhook::Webhooks::new),
        webhook_urls: webhooks.map(|w| w.urls.clone()).unwrap_or_default(),
    };
    let mut wakeups = ctx.store.event_wakeups().await;
    loop {
        if let Err(error) = notify_once(&ctx, &channels).await {
            tracing::warn!(%error, "notifications not delivered now; will retry");
        }
        tokio::select! {
            () = wakeups.next() => {}
            () = tokio::time::sleep(IDLE_LOOK) => {}
            () = ctx.stop.requested() => return,
        }
    }
}

/// One round: reads the log to its end into the outbox, then delivers what is due.
async fn notify_once(ctx: &Context, channels: &Channels) -> anyhow::Result<()> {
    let channels_of = |app_project: &str| {
        let chosen = channels_for(&ctx.settings.notify_rules, app_project);
        convoy_store::Channels {
            notes: chosen.notes,
            chat: chosen.chat && channels.chat.is_some(),
            webhooks: if chosen.webhooks {
                &channels.webhook_urls
            } else {
                &[]
            },
        }
    };
    while ctx.store.derive_notifications(&channels_of).await? > 0 {}
    let owner = format!("{}#notify", ctx.settings.worker_id);
    let claim_ms = ctx.settings.lease_ttl.as_millis() as i64;
    loop {
        let due = ctx
            .store
            .claim_due_notifications(&owner, now_ms(), claim_ms, BATCH)
            .await?;
        if due.is_empty() {
            return Ok(());
        }
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |n| async move {
                if let Err(error) = deliver(ctx, channels, &n).await {
                    tracing::warn!(notification = n.id, %error, "notification not delivered; will retry");
                }
            })
            .await;
    }
}

/// Delivers one claimed row on its channel and records the outcome.
async fn deliver(ctx: &Context, channels: &Channels, n: &Notification) -> anyhow::Result<()> {
    let release = ctx.store.main_release(n.release_id).await?;
    let component = match n.component_id {
        Some(id) => ctx.store.component(id).await?,
        None => None,
    };
    let outcome = match (release, n.channel.as_str(), &channels.chat) {
        (None, _, _) => Outcome::NothingToSend,
        (Some(release), MERGE_REQUEST_NOTE, _) => match component {
            Some(c) => notes::deliver(ctx, &release, &c, n).await,
            None => Outcome::NothingToSend,
        },
        (Some(release), CHAT, Some(slack)) => {
            chat::deliver(ctx, slack, &release, component.as_ref(), n).await?
        }
        (Some(release), WEBHOOK, _) => match &channels.webhooks {
            Some(webhooks) => webhook::deliver(ctx, webhooks, &release, n).await?,
            None => Outcome::NothingToSend,
        },
        // Chat is no longer configured, or a channel this version does not know.
        _ => Outcome::NothingToSend,
    };
    record(ctx, n, outcome).await
}

async fn record(ctx: &Context, n: &Notification, outcome: Outcome) -> anyhow::Result<()> {
    let store = &ctx.store;
    match outcome {
        Outcome::Sent { body, not_before } => {
            let not_before = now_ms() + not_before.as_millis() as i64;
            store
                .record_notification_delivered(n.id, n.event_id, Some(&body), not_before)
                .await?;
            crate::metrics::notification_delivered(&n.channel, true);
        }
        Outcome::NothingToSend => {
            store
                .record_notification_delivered(n.id, n.event_id, None, 0)
                .await?;
        }
        Outcome::NotYet => {
            store
                .record_notification_deferred(n.id, now_ms() + 1_000)
                .await?;
        }
        Outcome::Failed {
            sentence,
            retry_after,
        } => {
            let wait = backoff_ms(n.attempts).max(retry_after.map_or(0, |d| d.as_millis() as i64));
            store
                .record_notification_failed(n.id, &sentence, now_ms() + wait)
                .await?;
            crate::metrics::notification_delivered(&n.channel, false);
        }
    }
    Ok(())
}

/// What a mention is about: the sentence recorded with the event it was made for.
async fn event_reason(ctx: &Context, n: &Notification) -> anyhow::Result<Option<String>> {
    let events = ctx.store.events(n.release_id, n.event_id - 1, 1).await?;
    Ok(events
        .into_iter()
        .find(|e| e.id == n.event_id)
        .and_then(|e| e.reason))
}

/// The HTTP client of a channel: answers within `timeout`, and no redirect is followed (a
/// token or signature goes only to the configured address).
fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .expect("a TLS backend is built in")
}

/// Who a mention asks: the owners, or with none the release manager.
fn people_to_ask(release: &MainRelease, c: &ComponentRelease) -> Vec<String> {
    match c.owners.as_deref() {
        Some(owners) if !owners.is_empty() => owners.to_vec(),
        _ => vec![release.started_by.clone()],
    }
}

/// 1 s after the first failure, doubling, at most [`MAX_BACKOFF_MS`].
fn backoff_ms(failures_before: i64) -> i64 {
    let doublings = u32::try_from(failures_before.clamp(0, 16)).unwrap_or(16);
    (1_000_i64 << doublings).min(MAX_BACKOFF_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff_ms(0), 1_000);
        assert_eq!(backoff_ms(1), 2_000);
        assert_eq!(backoff_ms(5), 32_000);
        assert_eq!(backoff_ms(6), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(1_000), MAX_BACKOFF_MS);
    }
}
