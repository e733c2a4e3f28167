//! The notification outbox: rows derived from the release event log (in the same transaction
//! that moves the log's cursor, so each event is read once), then delivered by the worker
//! with claims, retries and backoff. See `migrations/*/0010_notifications.sql`.

use chrono::{DateTime, Utc};
use convoy_core::ComponentState;
use convoy_core::notices::{Mention, Notice, StateChange, notices};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Store, now, parse_optional_time, parse_state, parse_time, time_text};
use crate::error::StoreError;

/// The one channel so far: a note on the component's merge request.
pub const MERGE_REQUEST_NOTE: &str = "merge_request_note";

/// Events read from the log per derivation transaction.
const DERIVE_BATCH: i64 = 500;

/// One thing to tell, and how its delivery stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub release_id: i64,
    pub component_id: Option<i64>,
    pub channel: String,
    pub notice: Notice,
    /// The newest event it tells of (for a mention: the one that asked for it).
    pub event_id: i64,
    /// The newest event delivered; 0 when nothing was.
    pub delivered_event_id: i64,
    /// The message's id at the channel, once it exists.
    pub external_id: Option<String>,
    /// The text last delivered.
    pub body: Option<String>,
    /// Failed deliveries in a row.
    pub attempts: i64,
    /// How many times a worker claimed it for delivery, this time included.
    pub claims: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// Still to be delivered (or to be brought up to date).
    pub fn is_due(&self) -> bool {
        self.delivered_event_id < self.event_id
    }
}

impl Store {
    /// Reads the next events of the log past the notification cursor and records what they
    /// ask to tell (see [`convoy_core::notices`]), moving the cursor in the same transaction.
    /// Returns how many events were read (0: the log is read to its end).
    pub async fn derive_notifications(&self) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        // The first write of the transaction: concurrent derivations take turns here.
        sqlx::query("UPDATE notification_cursor SET last_event_id = last_event_id WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let cursor: i64 =
            sqlx::query_scalar("SELECT last_event_id FROM notification_cursor WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        let events = sqlx::query(
            "SELECT e.id, e.release_id, e.component_id, e.kind, e.from_state, e.to_state, \
                    e.mention, m.require_review \
             FROM release_events e JOIN main_releases m ON m.id = e.release_id \
             WHERE e.id > $1 ORDER BY e.id LIMIT $2",
        )
        .bind(cursor)
        .bind(DERIVE_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = events.last() else {
            return Ok(0);
        };
        let last_id: i64 = last.try_get("id")?;
        let created_at = time_text(now());
        for event in &events {
            for (key, notice, event_id) in notices_of(event)? {
                let (release_id, component_id): (i64, Option<i64>) =
                    (event.try_get("release_id")?, event.try_get("component_id")?);
                // A status row exists once per component and moves on to the newest event; a
                // mention row exists once per event.
                sqlx::query(
                    "INSERT INTO notifications \
                     (release_id, component_id, channel, kind, dedupe_key, event_id, \
                      created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                     ON CONFLICT (dedupe_key) DO UPDATE SET \
                     event_id = excluded.event_id, updated_at = excluded.updated_at",
                )
                .bind(release_id)
                .bind(component_id)
                .bind(MERGE_REQUEST_NOTE)
                .bind(notice_name(notice))
                .bind(key)
                .bind(event_id)
                .bind(&created_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("UPDATE notification_cursor SET last_event_id = $1 WHERE id = 1")
            .bind(last_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(events.len())
    }

    /// Claims up to `limit` due rows whose next attempt has come, for `owner` until
    /// `now_ms + claim_ms` (a row claimed by a worker that died is due again after that).
    pub async fn claim_due_notifications(
        &self,
        owner: &str,
        now_ms: i64,
        claim_ms: i64,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        let candidates: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM notifications \
             WHERE delivered_event_id < event_id AND next_attempt_ms <= $1 \
             AND (claimed_until_ms IS NULL OR claimed_until_ms < $1) \
             ORDER BY id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::new();
        for id in candidates {
            let row = sqlx::query(
                "UPDATE notifications SET claimed_by = $2, claimed_until_ms = $4, \
                 claims = claims + 1 \
                 WHERE id = $1 AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) \
                 RETURNING *",
            )
            .bind(id)
            .bind(owner)
            .bind(now_ms)
            .bind(now_ms.saturating_add(claim_ms))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                claimed.push(notification_from_row(&row)?);
            }
        }
        Ok(claimed)
    }

    /// Records the message's id at the channel the moment it is known (before any edit), so a
    /// retry edits it instead of writing a second one.
    pub async fn record_notification_message(
        &self,
        id: i64,
        external_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE notifications SET external_id = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(external_id)
            .bind(time_text(now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that the row was delivered up to `event_id` with `body` (`None`: there was
    /// nothing to send, such as a status with no merge request yet), and gives up the claim.
    /// A newer event that arrived meanwhile keeps the row due.
    pub async fn record_notification_delivered(
        &self,
        id: i64,
        event_id: i64,
        body: Option<&str>,
    ) -> Result<(), StoreError> {
        let at = time_text(now());
        sqlx::query(
            "UPDATE notifications SET \
             delivered_event_id = CASE WHEN delivered_event_id > $2 THEN delivered_event_id \
                                       ELSE $2 END, \
             body = COALESCE($3, body), \
             delivered_at = CASE WHEN $3 IS NULL THEN delivered_at ELSE $4 END, \
             attempts = 0, last_error = NULL, next_attempt_ms = 0, \
             claimed_by = NULL, claimed_until_ms = NULL, updated_at = $4 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(event_id)
        .bind(body)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed delivery with its sentence; the row is tried again at
    /// `next_attempt_ms`.
    pub async fn record_notification_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notifications SET attempts = attempts + 1, last_error = $2, \
             next_attempt_ms = $3, claimed_by = NULL, claimed_until_ms = NULL, updated_at = $4 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(next_attempt_ms)
        .bind(time_text(now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every notification of release `release_id`, oldest first (the notification log).
    pub async fn notifications(&self, release_id: i64) -> Result<Vec<Notification>, StoreError> {
        sqlx::query("SELECT * FROM notifications WHERE release_id = $1 ORDER BY id")
            .bind(release_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(notification_from_row)
            .collect()
    }
}

/// What one logged event asks to tell: `(dedupe key, notice, event id)` each.
fn notices_of(event: &AnyRow) -> Result<Vec<(String, Notice, i64)>, StoreError> {
    let kind: String = event.try_get("kind")?;
    let component_id: Option<i64> = event.try_get("component_id")?;
    let (Some(component_id), "state") = (component_id, kind.as_str()) else {
        return Ok(Vec::new());
    };
    let event_id: i64 = event.try_get("id")?;
    let from: Option<String> = event.try_get("from_state")?;
    let to: Option<String> = event.try_get("to_state")?;
    let mention: Option<String> = event.try_get("mention")?;
    let Some(to) = to else {
        return Ok(Vec::new());
    };
    let change = StateChange {
        from: from
            .as_deref()
            .map(parse_state::<ComponentState>)
            .transpose()?,
        to: parse_state(&to)?,
        asked: mention.as_deref().and_then(Mention::parse),
        require_review: event.try_get::<i64, _>("require_review")? != 0,
    };
    Ok(notices(&change)
        .into_iter()
        .map(|notice| {
            let key = match notice {
                Notice::Status => format!("status:{component_id}"),
                Notice::Mention(_) => format!("mention:{event_id}"),
            };
            (key, notice, event_id)
        })
        .collect())
}

fn notice_name(notice: Notice) -> &'static str {
    match notice {
        Notice::Status => "status",
        Notice::Mention(mention) => mention.as_str(),
    }
}

fn parse_notice(name: &str) -> Result<Notice, StoreError> {
    if name == "status" {
        return Ok(Notice::Status);
    }
    Mention::parse(name)
        .map(Notice::Mention)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown notification kind {name:?}")))
}

fn notification_from_row(row: &AnyRow) -> Result<Notification, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Notification {
        id: row.try_get("id")?,
        release_id: row.try_get("release_id")?,
        component_id: row.try_get("component_id")?,
        channel: row.try_get("channel")?,
        notice: parse_notice(&kind)?,
        event_id: row.try_get("event_id")?,
        delivered_event_id: row.try_get("delivered_event_id")?,
        external_id: row.try_get("external_id")?,
        body: row.try_get("body")?,
        attempts: row.try_get("attempts")?,
        claims: row.try_get("claims")?,
        last_error: row.try_get("last_error")?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        delivered_at: parse_optional_time(row.try_get("delivered_at")?)?,
    })
}
