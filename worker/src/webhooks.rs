//! Turning recorded webhook deliveries into wake-ups of the releases they concern.
//!
//! A delivery is only a hint that something changed in a project: the steps ask the forge for
//! the truth, so duplicated, reordered or late deliveries cannot push a release into a wrong
//! state. The server records each delivery with the project it names (one write, no job); the
//! delivery loop here hears of it at once ([`convoy_store::Store::delivery_wakeups`]) and wakes
//! the releases that have a component in that project.

use std::collections::BTreeSet;
use std::time::Duration;

use convoy_store::{ProjectWakes, WaitingDelivery};

use crate::context::Context;

/// How often the loop looks for deliveries when no wake-up came: a delivery recorded by
/// another process on SQLite (`convoy serve` beside `convoy work`) waits at most this long.
/// The look is one read of an index that holds only the unprocessed deliveries.
const SAFETY_POLL: Duration = Duration::from_millis(500);
/// Deliveries routed (and marked processed) together.
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

/// Processes the deliveries not processed yet, oldest first, a batch at a time, until none is
/// left: the projects a batch names are woken in one transaction, and the batch is marked
/// processed in another. A failure leaves the batch unprocessed, for the next round. Returns
/// how many deliveries it found.
pub(crate) async fn process_waiting_deliveries(ctx: &Context) -> anyhow::Result<usize> {
    let mut found = 0;
    loop {
        let waiting = ctx.store.waiting_deliveries(BATCH).await?;
        found += waiting.len();
        let routes: Vec<Result<&str, String>> = waiting
            .iter()
            .map(|delivery| project_to_wake(ctx, delivery))
            .collect();
        let projects: BTreeSet<&str> = routes
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .copied()
            .collect();
        let wakes = ctx
            .store
            .wake_projects(&projects.into_iter().collect::<Vec<_>>())
            .await?;
        for &release_id in &wakes.raised {
            ctx.nudges.nudge(release_id);
        }
        let outcomes: Vec<(i64, String)> = waiting
            .iter()
            .zip(routes)
            .map(|(delivery, route)| (delivery.id, outcome(route, &wakes)))
            .collect();
        ctx.store.mark_deliveries_processed(&outcomes).await?;
        for (delivery, (_, outcome)) in waiting.iter().zip(&outcomes) {
            crate::metrics::delivery_processed(delivery.received_at, outcome);
        }
        if waiting.len() < BATCH as usize {
            return Ok(found);
        }
    }
}

/// The project whose releases the delivery wakes, or why it wakes none (a sentence for the
/// delivery's record).
fn project_to_wake<'d>(ctx: &Context, delivery: &'d WaitingDelivery) -> Result<&'d str, String> {
    if !ctx.forge.follows_event(&delivery.event_name) {
        return Err(format!(
            "ignored: Convoy does not use {} events",
            delivery.event_name
        ));
    }
    delivery
        .project_path
        .as_deref()
        .ok_or_else(|| "ignored: the delivery names no project".to_owned())
}

/// What a delivery did, for its record: "woke release 3", or why it woke none.
fn outcome(route: Result<&str, String>, wakes: &ProjectWakes) -> String {
    let project = match route {
        Ok(project) => project,
        Err(ignored) => return ignored,
    };
    match wakes.releases.get(project) {
        Some(releases) if !releases.is_empty() => {
            let ids: Vec<String> = releases.iter().map(i64::to_string).collect();
            format!("woke release {}", ids.join(", "))
        }
        _ => format!("no active release has a component in {project}"),
    }
}
