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

/// A note on the component's merge request.
pub const MERGE_REQUEST_NOTE: &str = "merge_request_note";
/// A Slack-compatible chat channel: one message per release, replies in its thread.
pub const CHAT: &str = "chat";
/// A configured URL that receives every state change as a signed JSON event.
pub const WEBHOOK: &str = "webhook";

/// The channels notifications are derived for, for one app.
#[derive(Debug, Clone, Copy, Default)]
pub struct Channels<'a> {
    /// Notes on the components' merge requests.
    pub notes: bool,
    /// Chat (configured, and chosen for the app).
    pub chat: bool,
    /// The webhook URLs configured.
    pub webhooks: &'a [String],
}

/// Events read from the log per derivation transaction.
const DERIVE_BATCH: i64 = 500;

/// One thing to tell, and how its delivery stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub release_id: i64,
    pub component_id: Option<i64>,
    pub channel: String,
    /// The webhook URL, for a webhook.
    pub target: Option<String>,
    /// What it is for, unique: `status:<component id>`, `mention:<event id>`,
    /// `chat:status:<release id>`, `chat:mention:<event id>`.
    pub key: String,
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
    /// How many times a worker set out to create its message (0: it cannot exist yet).
    pub writes: i64,
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
    /// ask to tell (see [`convoy_core::notices`]) on the channels `channels_of` gives for the
    /// release's app project, moving the cursor in the same transaction. Returns how many
    /// events were read (0: the log is read to its end).
    pub async fn derive_notifications<'a>(
        &self,
        channels_of: &(dyn Fn(&str) -> Channels<'a> + Sync),
    ) -> Result<usize, StoreError> {
        // Nothing new in the log (the loop's usual case): two reads, and no write lock taken
        // from the writers that have work (on SQLite, one writer at a time).
        let newest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM release_events")
            .fetch_one(&self.pool)
            .await?;
        let cursor: i64 =
            sqlx::query_scalar("SELECT last_event_id FROM notification_cursor WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        if cursor >= newest {
            return Ok(0);
        }
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
                    e.mention, m.require_review, m.app_project \
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
            let event_id: i64 = event.try_get("id")?;
            let release_id: i64 = event.try_get("release_id")?;
            let app_project: String = event.try_get("app_project")?;
            for wanted in wanted_by(event, channels_of(&app_project))? {
                // A status row exists once per component (or release) and moves on to the
                // newest event; a mention row exists once per event.
                sqlx::query(
                    "INSERT INTO notifications \
                     (release_id, component_id, channel, target, kind, dedupe_key, event_id, \
                      created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                     ON CONFLICT (dedupe_key) DO UPDATE SET \
                     event_id = excluded.event_id, updated_at = excluded.updated_at",
                )
                .bind(release_id)
                .bind(wanted.component_id)
                .bind(wanted.channel)
                .bind(wanted.target)
                .bind(notice_name(wanted.notice))
                .bind(&wanted.key)
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
                "UPDATE notifications SET claimed_by = $2, claimed_until_ms = $4 \
                 WHERE id = $1 AND (claimed_until_ms IS NULL OR claimed_until_ms < $3) \
                 RETURNING *",
            )
            .bind(id)
            .bind(owner)
            .bind(now_ms)
            .bind(now_ms.saturating_add(claim_ms))
            .fetch_optional(&self.writer)
            .await?;
            if let Some(row) = row {
                claimed.push(notification_from_row(&row)?);
            }
        }
        Ok(claimed)
    }

    /// Records, right before a worker creates the row's message, that it may exist from now on
    /// (a later delivery looks for it before creating one).
    pub async fn record_notification_writing(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE notifications SET writes = writes + 1 WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
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
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Records that the row was delivered up to `event_id` with `body` (`None`: there was
    /// nothing to send, such as a status with no merge request yet), and gives up the claim.
    /// The row is not delivered again before `not_before_ms` (a chat message is edited at most
    /// so often). A newer event that arrived meanwhile keeps the row due.
    pub async fn record_notification_delivered(
        &self,
        id: i64,
        event_id: i64,
        body: Option<&str>,
        not_before_ms: i64,
    ) -> Result<(), StoreError> {
        let at = time_text(now());
        sqlx::query(
            "UPDATE notifications SET \
             delivered_event_id = CASE WHEN delivered_event_id > $2 THEN delivered_event_id \
                                       ELSE $2 END, \
             body = COALESCE($3, body), \
             delivered_at = CASE WHEN $3 IS NULL THEN delivered_at ELSE $4 END, \
             attempts = 0, last_error = NULL, next_attempt_ms = $5, \
             claimed_by = NULL, claimed_until_ms = NULL, updated_at = $4 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(event_id)
        .bind(body)
        .bind(at)
        .bind(not_before_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Gives up the claim of a row that cannot be sent yet (a chat reply before its release's
    /// message exists), to be looked at again at `next_attempt_ms`; not a failure.
    pub async fn record_notification_deferred(
        &self,
        id: i64,
        next_attempt_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notifications SET next_attempt_ms = $2, claimed_by = NULL, \
             claimed_until_ms = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(next_attempt_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The row recorded for `dedupe_key` (`chat:status:<release id>`, …), if any.
    pub async fn notification_by_key(
        &self,
        dedupe_key: &str,
    ) -> Result<Option<Notification>, StoreError> {
        sqlx::query("SELECT * FROM notifications WHERE dedupe_key = $1")
            .bind(dedupe_key)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(notification_from_row)
            .transpose()
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
        .execute(&self.writer)
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

/// One row a logged event asks for.
struct Wanted {
    channel: &'static str,
    target: Option<String>,
    key: String,
    notice: Notice,
    component_id: Option<i64>,
}

/// What one logged event asks to tell. On merge request notes: a component's state change
/// moves its status note and may mention its owners. In chat (when `chat`): any state change
/// moves the release's one message, and a mention becomes a reply in its thread. Each webhook
/// gets every state change.
fn wanted_by(event: &AnyRow, channels: Channels<'_>) -> Result<Vec<Wanted>, StoreError> {
    let kind: String = event.try_get("kind")?;
    let to: Option<String> = event.try_get("to_state")?;
    if kind != "state" || to.is_none() {
        return Ok(Vec::new());
    }
    let event_id: i64 = event.try_get("id")?;
    let release_id: i64 = event.try_get("release_id")?;
    let component_id: Option<i64> = event.try_get("component_id")?;
    let mut wanted: Vec<Wanted> = channels
        .webhooks
        .iter()
        .map(|url| Wanted {
            channel: WEBHOOK,
            target: Some(url.clone()),
            key: format!("webhook:{event_id}:{url}"),
            notice: Notice::Event,
            component_id,
        })
        .collect();
    if channels.chat {
        wanted.push(Wanted {
            channel: CHAT,
            target: None,
            key: format!("chat:status:{release_id}"),
            notice: Notice::Status,
            component_id: None,
        });
    }
    let (Some(component_id), Some(to)) = (component_id, to) else {
        return Ok(wanted);
    };
    let from: Option<String> = event.try_get("from_state")?;
    let mention: Option<String> = event.try_get("mention")?;
    let change = StateChange {
        from: from
            .as_deref()
            .map(parse_state::<ComponentState>)
            .transpose()?,
        to: parse_state(&to)?,
        asked: mention.as_deref().and_then(Mention::parse),
        require_review: event.try_get::<i64, _>("require_review")? != 0,
    };
    for notice in notices(&change) {
        let key = match notice {
            Notice::Status => format!("status:{component_id}"),
            Notice::Mention(_) => format!("mention:{event_id}"),
            // Only webhooks take events, above.
            Notice::Event => continue,
        };
        if channels.chat && matches!(notice, Notice::Mention(_)) {
            wanted.push(Wanted {
                channel: CHAT,
                target: None,
                key: format!("chat:{key}"),
                notice,
                component_id: Some(component_id),
            });
        }
        if !channels.notes {
            continue;
        }
        wanted.push(Wanted {
            channel: MERGE_REQUEST_NOTE,
            target: None,
            key,
            notice,
            component_id: Some(component_id),
        });
    }
    Ok(wanted)
}

fn notice_name(notice: Notice) -> &'static str {
    match notice {
        Notice::Status => "status",
        Notice::Event => "event",
        Notice::Mention(mention) => mention.as_str(),
    }
}

fn parse_notice(name: &str) -> Result<Notice, StoreError> {
    match name {
        "status" => return Ok(Notice::Status),
        "event" => return Ok(Notice::Event),
        _ => {}
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
        target: row.try_get("target")?,
        key: row.try_get("dedupe_key")?,
        notice: parse_notice(&kind)?,
        event_id: row.try_get("event_id")?,
        delivered_event_id: row.try_get("delivered_event_id")?,
        external_id: row.try_get("external_id")?,
        body: row.try_get("body")?,
        attempts: row.try_get("attempts")?,
        writes: row.try_get("writes")?,
        last_error: row.try_get("last_error")?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        delivered_at: parse_optional_time(row.try_get("delivered_at")?)?,
    })
}
