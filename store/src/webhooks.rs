//! Webhook deliveries: recorded before answering the forge, processed later by the worker.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Store, not_found_unless_changed, now, parse_optional_time, parse_time, time_text};
use crate::error::StoreError;
use crate::model::{NewDelivery, WebhookDelivery};

impl Store {
    /// Records a delivery and returns its id, or None when a delivery with the same
    /// idempotency key was recorded before (a duplicate). Safe under concurrent deliveries:
    /// the unique key decides, not a prior read.
    pub async fn record_delivery(&self, delivery: &NewDelivery) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO webhook_deliveries \
             (idempotency_key, event_name, project_path, payload, received_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(&delivery.idempotency_key)
        .bind(&delivery.event_name)
        .bind(&delivery.project_path)
        .bind(&delivery.payload)
        .bind(time_text(now()))
        .fetch_optional(&self.pool)
        .await?)
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

    /// Ids of deliveries not processed yet, oldest first.
    pub async fn unprocessed_deliveries(&self, limit: u32) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM webhook_deliveries WHERE processed_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Marks a delivery processed, with what came of it ("routed to component 3", "ignored: …").
    pub async fn mark_delivery_processed(&self, id: i64, outcome: &str) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET processed_at = $2, outcome = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(time_text(now()))
        .bind(outcome)
        .execute(&self.pool)
        .await?;
        not_found_unless_changed(done.rows_affected(), || format!("webhook delivery {id}"))
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
