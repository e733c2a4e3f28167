//! Notifications: the outbox derived from the release event log (`Store::derive_notifications`,
//! what to tell is `convoy_core::notices`) is delivered here, as notes on the component's merge
//! request. Delivery never slows a release: it runs in its own loop, a failed delivery is
//! retried with backoff (shown on the release page meanwhile), and it is never a failure of
//! the release.
//!
//! Exactly once, whatever crashes: a message's id is recorded the moment it exists, and before
//! writing one Convoy looks for its own (each carries a hidden marker naming what it is for).

mod messages;

use std::time::Duration;

use convoy_core::notices::Notice;
use convoy_forge::{ForgeError, Note};
use convoy_store::{ComponentRelease, MainRelease, Notification};
use futures::StreamExt;

use crate::advance::now_ms;
use crate::context::Context;

/// How often the loop looks when no event woke it.
const IDLE_LOOK: Duration = Duration::from_secs(2);
/// Rows claimed per round, and delivered at once.
const BATCH: i64 = 32;
const CONCURRENCY: usize = 4;
/// A failed delivery waits 1 s, then twice as long after each further failure, up to this.
const MAX_BACKOFF_MS: i64 = 60_000;

/// Delivers notifications until the worker stops.
pub async fn notify_forever(ctx: Context) {
    let mut wakeups = ctx.store.event_wakeups().await;
    loop {
        if let Err(error) = notify_once(&ctx).await {
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
pub async fn notify_once(ctx: &Context) -> anyhow::Result<()> {
    while ctx.store.derive_notifications().await? > 0 {}
    loop {
        let owner = format!("{}#notify", ctx.settings.worker_id);
        let claim_ms = ctx.settings.lease_ttl.as_millis() as i64;
        let due = ctx
            .store
            .claim_due_notifications(&owner, now_ms(), claim_ms, BATCH)
            .await?;
        if due.is_empty() {
            return Ok(());
        }
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |n| async move {
                if let Err(error) = deliver(ctx, &n).await {
                    tracing::warn!(notification = n.id, %error, "notification not delivered; will retry");
                }
            })
            .await;
    }
}

/// Delivers one claimed row, recording the outcome.
async fn deliver(ctx: &Context, n: &Notification) -> anyhow::Result<()> {
    let Some((release, c)) = subject(ctx, n).await? else {
        ctx.store
            .record_notification_delivered(n.id, n.event_id, None)
            .await?;
        return Ok(());
    };
    let Some(iid) = c.merge_request_iid else {
        // Nothing to write on yet; the next state change (the merge request opened) asks again.
        ctx.store
            .record_notification_delivered(n.id, n.event_id, None)
            .await?;
        return Ok(());
    };
    let body = match n.notice {
        Notice::Status => messages::status(ctx, &release, &c, n),
        Notice::Mention(mention) => {
            let reason = event_reason(ctx, n).await?;
            messages::mention(ctx, &release, &c, n, mention, reason.as_deref())
        }
    };
    match write_note(ctx, n, &c.project_path, iid, &body).await {
        Ok(()) => {
            ctx.store
                .record_notification_delivered(n.id, n.event_id, Some(&body))
                .await?;
            crate::metrics::notification_delivered(true);
        }
        Err(error) => {
            let sentence = format!(
                "GitLab did not take Convoy's note on merge request !{iid} of {}: {error}",
                c.project_path
            );
            ctx.store
                .record_notification_failed(n.id, &sentence, now_ms() + backoff_ms(n.attempts))
                .await?;
            crate::metrics::notification_delivered(false);
        }
    }
    Ok(())
}

/// The release and component a row tells of, if they still exist.
async fn subject(
    ctx: &Context,
    n: &Notification,
) -> anyhow::Result<Option<(MainRelease, ComponentRelease)>> {
    let Some(component_id) = n.component_id else {
        return Ok(None);
    };
    let (Some(release), Some(c)) = (
        ctx.store.main_release(n.release_id).await?,
        ctx.store.component(component_id).await?,
    ) else {
        return Ok(None);
    };
    Ok(Some((release, c)))
}

/// The sentence recorded with the event a mention was made for.
async fn event_reason(ctx: &Context, n: &Notification) -> anyhow::Result<Option<String>> {
    let events = ctx.store.events(n.release_id, n.event_id - 1, 1).await?;
    Ok(events
        .into_iter()
        .find(|e| e.id == n.event_id)
        .and_then(|e| e.reason))
}

/// Writes the note: edits the status note in place, or creates the note once. Before creating
/// one it looks for Convoy's own, unless this is the row's first claim (a worker killed after
/// GitLab answered never recorded it).
async fn write_note(
    ctx: &Context,
    n: &Notification,
    project: &str,
    iid: u64,
    body: &str,
) -> Result<(), ForgeError> {
    let known = match n.external_id.as_deref().and_then(|id| id.parse().ok()) {
        Some(id) => Some(id),
        // The first claim: nobody wrote this note before.
        None if n.claims <= 1 => None,
        None => {
            let marker = messages::marker(n);
            let notes = ctx.forge.merge_request_notes(project, iid).await?;
            let found = own_note(&notes, &marker).map(|note| note.id);
            if let Some(id) = found {
                record_note_id(ctx, n, id).await?;
            }
            found
        }
    };
    match (known, n.notice) {
        // A mention is never edited: it was said.
        (Some(_), Notice::Mention(_)) => Ok(()),
        (Some(_), Notice::Status) if n.body.as_deref() == Some(body) => Ok(()),
        (Some(id), Notice::Status) => ctx
            .forge
            .edit_merge_request_note(project, iid, id, body)
            .await
            .map(drop),
        (None, _) => {
            let note = ctx
                .forge
                .create_merge_request_note(project, iid, body)
                .await?;
            record_note_id(ctx, n, note.id).await
        }
    }
}

fn own_note<'a>(notes: &'a [Note], marker: &str) -> Option<&'a Note> {
    notes
        .iter()
        .find(|note| !note.system && note.body.starts_with(marker))
}

async fn record_note_id(ctx: &Context, n: &Notification, id: u64) -> Result<(), ForgeError> {
    ctx.store
        .record_notification_message(n.id, &id.to_string())
        .await
        .map_err(|error| ForgeError::Unavailable(error.to_string()))
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

    #[test]
    fn only_convoys_own_note_is_found() {
        let note = |id, body: &str, system| Note {
            id,
            body: body.to_owned(),
            system,
        };
        let marker = "<!-- convoy:status release=1 component=2 -->";
        let notes = [
            note(1, "merged", true),
            note(2, &format!("> {marker} quoted by a person"), false),
            note(3, &format!("{marker}\nCoreKit is released"), false),
        ];
        assert_eq!(own_note(&notes, marker).map(|n| n.id), Some(3));
        assert_eq!(own_note(&notes[..2], marker), None);
    }
}
