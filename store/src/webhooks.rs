//! Webhook deliveries: recorded before answering the forge, processed later by the worker.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Store, not_found_unless_changed, now, parse_optional_time, parse_time, time_text};
use crate::error::StoreError;
use crate::model::{NewDelivery, WaitingDelivery, WebhookDelivery};
use crate::wakeups::Wakeups;

/// The PostgreSQL `NOTIFY` channel on which every recorded delivery is announced.
const DELIVERIES_CHANNEL: &str = "convoy_deliveries";

impl Store {
    /// Records a delivery and returns its id, or None when a delivery with the same
    /// idempotency key was recorded before (a duplicate). See [`Store::record_deliveries`].
    pub async fn record_delivery(&self, delivery: &NewDelivery) -> Result<Option<i64>, StoreError> {
        let mut ids = self
            .record_deliveries(std::slice::from_ref(delivery))
            .await?;
        Ok(ids.pop().flatten())
    }

    /// Records deliveries in one transaction, so that they cost one commit to disk together,
    /// and returns for each its id, or None for a duplicate (of one recorded before, or of one
    /// earlier in `deliveries`). Safe under concurrent deliveries: the unique key decides, not a
    /// prior read. The recorded delivery is the worker's work item: no job is queued for it, a
    /// wake-up tells the worker's delivery loop ([`Store::delivery_wakeups`]).
    pub async fn record_deliveries(
        &self,
        deliveries: &[NewDelivery],
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let received_at = time_text(now());
        let mut tx = self.begin_write().await?;
        let mut ids = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let id = sqlx::query_scalar(
                "INSERT INTO webhook_deliveries \
                 (idempotency_key, event_name, project_path, payload, received_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            )
            .bind(&delivery.idempotency_key)
            .bind(&delivery.event_name)
            .bind(&delivery.project_path)
            .bind(&delivery.payload)
            .bind(&received_at)
            .fetch_optional(&mut *tx)
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        if ids.iter().any(Option::is_some) {
            self.announce_delivery().await;
        }
        Ok(ids)
    }

    /// Wake-ups for the worker's delivery loop: they fire after a delivery was recorded, by
    /// this process (SQLite and PostgreSQL) or by any process (PostgreSQL `LISTEN`).
    pub async fn delivery_wakeups(&self) -> Wakeups {
        Wakeups::new(self, &self.deliveries_recorded, DELIVERIES_CHANNEL).await
    }

    /// Tells the delivery loops a delivery is waiting. On PostgreSQL a `NOTIFY` outside any
    /// transaction: it writes no WAL, so the delivery still costs one commit to disk. Lost when
    /// it fails, which the loops' own poll covers.
    async fn announce_delivery(&self) {
        crate::wakeups::announce(&self.deliveries_recorded);
        if self.is_postgres() {
            let notified = sqlx::query("SELECT pg_notify($1, '')")
                .bind(DELIVERIES_CHANNEL)
                .execute(&self.writer)
                .await;
            if let Err(error) = notified {
                tracing::warn!(%error, "cannot announce a webhook delivery; the worker polls for it");
            }
        }
    }

    pub async fn delivery(&self, id: i64) -> Result<Option<WebhookDelivery>, StoreError> {
        sqlx::query("SELECT * FROM webhook_deliveries WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(delivery_from_row)
            .transpose()
    }

    /// Deliveries not processed yet, oldest first, without their payloads.
    pub async fn waiting_deliveries(&self, limit: u32) -> Result<Vec<WaitingDelivery>, StoreError> {
        sqlx::query(
            "SELECT id, event_name, project_path, received_at FROM webhook_deliveries \
             WHERE processed_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(WaitingDelivery {
                id: row.try_get("id")?,
                event_name: row.try_get("event_name")?,
                project_path: row.try_get("project_path")?,
                received_at: parse_time(&row.try_get::<String, _>("received_at")?)?,
            })
        })
        .collect()
    }

    /// Marks deliveries processed, each with what came of it ("woke release 3", "ignored: …"),
    /// in one transaction. A delivery that does not exist fails it all, writing nothing.
    pub async fn mark_deliveries_processed(
        &self,
        outcomes: &[(i64, String)],
    ) -> Result<(), StoreError> {
        let processed_at = time_text(now());
        let mut tx = self.begin_write().await?;
        for (id, outcome) in outcomes {
            let done = sqlx::query(
                "UPDATE webhook_deliveries SET processed_at = $2, outcome = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(&processed_at)
            .bind(outcome)
            .execute(&mut *tx)
            .await?;
            not_found_unless_changed(done.rows_affected(), || format!("webhook delivery {id}"))?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn delivery_from_row(row: &AnyRow) -> Result<WebhookDelivery, StoreError> {
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        event_name: row.try_get("event_name")?,
        project_path: row.try_get("project_path")?,
        payload: row.try_get("payload")?,
        received_at: parse_time(&row.try_get::<String, _>("received_at")?)?,
        processed_at: parse_optional_time(row.try_get("processed_at")?)?,
        outcome: row.try_get("outcome")?,
    })
}
