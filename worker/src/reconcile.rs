//! Reconcile: don't trust webhooks. On a timer, every active release is checked against the
//! forge, releases left with work to do are advanced, and deliveries the delivery loop has not
//! processed yet are, so a missed webhook or job delays a release by at most one interval.

use crate::advance::advance_release;
use crate::context::Context;
use crate::webhooks::process_waiting_deliveries;

/// One round: waiting deliveries first, then every release with something to do.
pub async fn reconcile_once(ctx: &Context) -> anyhow::Result<()> {
    let deliveries = process_waiting_deliveries(ctx).await?;
    crate::metrics::reconcile_found("unprocessed_delivery", deliveries);
    // Every component of every active release that follows something at GitLab is checked
    // against the forge (a pass otherwise looks only at what a webhook concerns; one waiting
    // for its dependencies is looked at once it is ready); a finished release only while its
    // wake flag says something is left to do (a canceled release withdrawing an auto-merge).
    for release_id in ctx.store.active_main_release_ids().await? {
        ctx.store.request_full_look(release_id).await?;
    }
    let withdrawals = ctx.store.wake_canceled_with_auto_merge().await?;
    crate::metrics::reconcile_found("canceled_with_auto_merge", withdrawals.len());
    let woken = ctx.store.woken_release_ids().await?;
    crate::metrics::reconcile_found("woken_release", woken.len());
    for release_id in woken {
        if let Err(error) = advance_release(ctx, release_id).await {
            tracing::warn!(release_id, %error, "release not advanced; will retry");
        }
    }
    Ok(())
}

/// Runs [`reconcile_once`] every interval, until the task is dropped.
pub(crate) async fn reconcile_forever(ctx: Context) {
    let mut ticker = tokio::time::interval(ctx.settings.reconcile_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = ctx.stop.requested() => return,
        }
        let result = reconcile_once(&ctx).await;
        crate::metrics::reconcile_round(result.is_ok());
        if let Err(error) = result {
            tracing::warn!(%error, "reconcile round failed");
        }
    }
}
