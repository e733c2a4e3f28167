//! Turning a recorded webhook delivery into wake-ups of the releases it concerns.
//!
//! A delivery is only a hint that something changed: the steps ask the forge for the truth,
//! so duplicated, reordered or late deliveries cannot push a release into a wrong state.

use std::collections::BTreeSet;

use crate::context::Context;
use crate::queue::Job;

/// Processes one delivery (once: a processed delivery is left alone).
pub async fn process_delivery(ctx: &Context, delivery_id: i64) -> anyhow::Result<()> {
    let Some(delivery) = ctx.store.delivery(delivery_id).await? else {
        return Ok(());
    };
    if delivery.processed_at.is_some() {
        return Ok(());
    }
    let outcome = match (ctx.parse_webhook)(&delivery.event_name, delivery.payload.as_bytes()) {
        Ok(Some(event)) => wake_releases_of(ctx, event.project()).await?,
        Ok(None) => format!(
            "ignored: Convoy does not use {} events",
            delivery.event_name
        ),
        Err(error) => format!("rejected: {error}"),
    };
    ctx.store
        .mark_delivery_processed(delivery_id, &outcome)
        .await?;
    crate::metrics::delivery_processed(&delivery, &outcome);
    Ok(())
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
