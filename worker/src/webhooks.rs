//! Turning recorded webhook deliveries into wake-ups of the releases they concern.
//!
//! A delivery is only a hint that something changed in a project: the steps ask the forge for
//! the truth, so duplicated, reordered or late deliveries cannot push a release into a wrong
//! state. The server records each delivery with the project it names (one write, no job); the
//! delivery loop here hears of it at once ([`convoy_store::Store::delivery_wakeups`]) and wakes
//! the releases that have a component in that project.

use std::collections::BTreeSet;
use std::time::Duration;

use convoy_store::{Job, WebhookDelivery};

use crate::context::Context;

/// How often the loop looks for deliveries when no wake-up came: a delivery recorded by
/// another process on SQLite (`convoy serve` beside `convoy work`) waits at most this long.
/// The look is one read of an index that holds only the unprocessed deliveries.
const SAFETY_POLL: Duration = Duration::from_millis(500);
/// Deliveries read per query.
const BATCH: u32 = 200;

/// Processes every recorded delivery as it arrives, until the worker stops.
pub(crate) async fn process_deliveries_forever(ctx: Context) {
    let mut wakeups = ctx.store.delivery_wakeups().await;
    loop {
        if let Err(error) = process_waiting_deliveries(&ctx).await {
            tracing::warn!(%error, "cannot process webhook deliveries; trying again");
        }
        tokio::select! {
            () = wakeups.next() => {}
            () = tokio::time::sleep(SAFETY_POLL) => {}
            () = ctx.stop.requested() => return,
        }
    }
}

/// Processes the deliveries not processed yet, oldest first, until none is left or one
/// fails (it stays unprocessed; the next round tries it again). Returns how many it found.
pub(crate) async fn process_waiting_deliveries(ctx: &Context) -> anyhow::Result<usize> {
    let mut found = 0;
    loop {
        let waiting = ctx.store.unprocessed_deliveries(BATCH).await?;
        found += waiting.len();
        let mut failed = false;
        for delivery_id in waiting.iter().copied() {
            if let Err(error) = process_delivery(ctx, delivery_id).await {
                tracing::warn!(delivery_id, %error, "delivery not processed; will retry");
                failed = true;
            }
        }
        if failed || waiting.len() < BATCH as usize {
            return Ok(found);
        }
    }
}

/// Processes one delivery (once: a processed delivery is left alone).
async fn process_delivery(ctx: &Context, delivery_id: i64) -> anyhow::Result<()> {
    let Some(delivery) = ctx.store.delivery(delivery_id).await? else {
        return Ok(());
    };
    if delivery.processed_at.is_some() {
        return Ok(());
    }
    let outcome = outcome(ctx, &delivery).await?;
    ctx.store
        .mark_delivery_processed(delivery_id, &outcome)
        .await?;
    crate::metrics::delivery_processed(&delivery, &outcome);
    Ok(())
}

/// What the delivery leads to, in a sentence for the delivery's record.
async fn outcome(ctx: &Context, delivery: &WebhookDelivery) -> anyhow::Result<String> {
    if !ctx.forge.follows_event(&delivery.event_name) {
        return Ok(format!(
            "ignored: Convoy does not use {} events",
            delivery.event_name
        ));
    }
    match &delivery.project_path {
        Some(project) => wake_releases_of(ctx, project).await,
        None => Ok("ignored: the delivery names no project".to_owned()),
    }
}

async fn wake_releases_of(ctx: &Context, project: &str) -> anyhow::Result<String> {
    let components = ctx.store.active_components_for_project(project).await?;
    // The next pass looks at these components (and only these, of what waits for news).
    for c in &components {
        ctx.store.request_component_wake(c.id).await?;
    }
    let releases: BTreeSet<i64> = components.iter().map(|c| c.release_id).collect();
    if releases.is_empty() {
        return Ok(format!("no active release has a component in {project}"));
    }
    for release_id in &releases {
        ctx.store.request_wake(*release_id).await?;
        if let Err(error) = ctx
            .jobs
            .push(Job::AdvanceRelease {
                release_id: *release_id,
            })
            .await
        {
            // The wake flag is recorded; the reconcile loop will pick it up.
            tracing::warn!(release_id, %error, "could not queue the release; reconcile will");
        }
    }
    let ids: Vec<String> = releases.iter().map(i64::to_string).collect();
    Ok(format!("woke release {}", ids.join(", ")))
}
