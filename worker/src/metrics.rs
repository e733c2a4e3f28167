//! What the worker reports to the `metrics` crate: reconcile rounds and what they found,
//! webhook deliveries processed and how long they waited, lease takeovers; and the job
//! queue's depth, read from apalis' storage.

use apalis::prelude::Metrics as _;
use chrono::{DateTime, Utc};
use convoy_store::QueueDepth;

use crate::queue::JobStorage;

/// Reconcile rounds (counter, label `outcome`: `ok` or `failed`).
pub const RECONCILE_ROUNDS: &str = "convoy_reconcile_rounds_total";
/// What reconcile rounds found to do (counter, label `found`: `unprocessed_delivery` or
/// `woken_release`).
pub const RECONCILE_FOUND: &str = "convoy_reconcile_found_total";
/// Webhook deliveries processed (counter, label `outcome`: `woke`, `idle`, `ignored`).
pub const WEBHOOKS_PROCESSED: &str = "convoy_webhook_deliveries_processed_total";
/// Seconds from a delivery's receipt to the end of its processing (histogram).
pub const WEBHOOK_LAG_SECONDS: &str = "convoy_webhook_processing_lag_seconds";
/// Releases taken over from a worker whose lease had expired (counter).
pub const LEASE_TAKEOVERS: &str = "convoy_lease_takeovers_total";
/// Notification deliveries (counter, labels `channel`: `merge_request_note` or `chat`, and
/// `outcome`: `delivered` or `failed`).
pub const NOTIFICATIONS: &str = "convoy_notifications_total";

/// Help texts, and the unlabelled series at zero.
pub fn describe_metrics() {
    metrics::describe_counter!(RECONCILE_ROUNDS, "Reconcile rounds, by outcome.");
    metrics::describe_counter!(RECONCILE_FOUND, "What reconcile rounds found to do.");
    metrics::describe_counter!(
        WEBHOOKS_PROCESSED,
        "Webhook deliveries processed, by outcome."
    );
    metrics::describe_histogram!(
        WEBHOOK_LAG_SECONDS,
        metrics::Unit::Seconds,
        "Seconds from a webhook delivery's receipt to its processing."
    );
    metrics::describe_counter!(
        LEASE_TAKEOVERS,
        "Releases taken over from an expired lease."
    );
    metrics::counter!(LEASE_TAKEOVERS).absolute(0);
    metrics::describe_counter!(
        NOTIFICATIONS,
        "Notification deliveries (merge request notes), by outcome."
    );
}

/// Counts one notification delivery.
pub(crate) fn notification_delivered(channel: &str, ok: bool) {
    let outcome = if ok { "delivered" } else { "failed" };
    let channel = channel.to_owned();
    metrics::counter!(NOTIFICATIONS, "channel" => channel, "outcome" => outcome).increment(1);
}

/// Counts one reconcile round.
pub(crate) fn reconcile_round(ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::counter!(RECONCILE_ROUNDS, "outcome" => outcome).increment(1);
}

/// Counts what a reconcile round found.
pub(crate) fn reconcile_found(found: &'static str, how_many: usize) {
    metrics::counter!(RECONCILE_FOUND, "found" => found).increment(how_many as u64);
}

/// Counts a processed delivery by the first word of its outcome, and its lag.
pub(crate) fn delivery_processed(received_at: DateTime<Utc>, outcome: &str) {
    let kind = match outcome.split(':').next().unwrap_or("") {
        "ignored" => "ignored",
        _ if outcome.starts_with("woke") => "woke",
        _ => "idle",
    };
    metrics::counter!(WEBHOOKS_PROCESSED, "outcome" => kind).increment(1);
    let lag = (Utc::now() - received_at).as_seconds_f64().max(0.0);
    metrics::histogram!(WEBHOOK_LAG_SECONDS).record(lag);
}

/// Whether another worker's lease on the release has expired: taking the lease now is a
/// takeover. Best effort (read before the lease is taken): it only feeds a counter.
pub(crate) async fn lease_expired(ctx: &crate::Context, release_id: i64, now_ms: i64) -> bool {
    matches!(ctx.store.lease_of(release_id).await, Ok(Some((_, until))) if until < now_ms)
}

/// Counts a lease taken from a holder whose lease had expired (it crashed or hung).
pub(crate) fn lease_taken_over() {
    metrics::counter!(LEASE_TAKEOVERS).increment(1);
}

impl JobStorage {
    /// Pending and running jobs, from apalis' own statistics of the queue.
    pub async fn depth(&self) -> anyhow::Result<QueueDepth> {
        let stats = match self {
            JobStorage::Sqlite(storage) => storage.fetch_by_queue().await?,
            JobStorage::Postgres(storage) => storage.fetch_by_queue().await?,
        };
        let value = |title: &str| {
            stats
                .iter()
                .find(|s| s.title == title)
                .and_then(|s| s.value.parse::<f64>().ok())
                .unwrap_or(0.0) as u64
        };
        Ok(QueueDepth {
            pending: value("PENDING_JOBS"),
            running: value("RUNNING_JOBS"),
        })
    }
}
