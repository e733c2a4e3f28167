//! The append-only release event log.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{Store, now, parse_time, time_text};
use crate::error::StoreError;
use crate::model::{NewEvent, ReleaseEvent};
use crate::wakeups::Wakeups;

/// One row to append, as the store's own operations write it.
pub(crate) struct EventInsert<'a> {
    pub release_id: i64,
    pub component_id: Option<i64>,
    pub actor: &'a str,
    pub kind: &'a str,
    pub from_state: Option<&'a str>,
    pub to_state: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// Why the owners must act (`Mention::as_str`), for a component's state change.
    pub mention: Option<&'a str>,
}

/// The PostgreSQL `NOTIFY` channel on which every commit that appended events is announced.
const EVENTS_CHANNEL: &str = "convoy_events";

/// The PostgreSQL advisory lock under which events are appended ("convoy" in ASCII).
const EVENT_LOG_LOCK: i64 = 0x636f_6e76_6f79;

/// Appends one event, inside the caller's transaction; the component name is copied from the
/// component row so that the log reads on its own.
///
/// Readers follow the log by id (`events_since(last_seen)`). On PostgreSQL an id is drawn at
/// insert but becomes visible at commit, so without care a reader could pass over an id that
/// commits after a higher one. Appending under one transaction-scoped lock makes ids become
/// visible in order. SQLite serialises writers already.
pub(crate) async fn insert_event(
    conn: &mut AnyConnection,
    event: &EventInsert<'_>,
) -> Result<i64, StoreError> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(EVENT_LOG_LOCK)
            .execute(&mut *conn)
            .await?;
        // Delivered to listeners when (and only if) the transaction commits; PostgreSQL sends
        // one notification per channel and payload per transaction however many events it adds.
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(EVENTS_CHANNEL)
            .execute(&mut *conn)
            .await?;
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO release_events \
         (release_id, component_id, component_name, actor, kind, from_state, to_state, reason, \
          mention, created_at) \
         VALUES ($1, $2, (SELECT name FROM component_releases WHERE id = $2), \
                 $3, $4, $5, $6, $7, $8, $9) \
         RETURNING id",
    )
    .bind(event.release_id)
    .bind(event.component_id)
    .bind(event.actor)
    .bind(event.kind)
    .bind(event.from_state)
    .bind(event.to_state)
    .bind(event.reason)
    .bind(event.mention)
    .bind(time_text(now()))
    .fetch_one(&mut *conn)
    .await?)
}

impl Store {
    /// Appends an event (a note, a failure detail, …) without changing any state and without
    /// waking the worker. Returns its id.
    pub async fn append_event(&self, event: &NewEvent) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = insert_event(
            &mut tx,
            &EventInsert {
                release_id: event.release_id,
                component_id: event.component_id,
                actor: &event.actor,
                kind: &event.kind,
                from_state: None,
                to_state: None,
                reason: event.reason.as_deref(),
                mention: None,
            },
        )
        .await?;
        self.commit_events(tx).await?;
        Ok(id)
    }

    /// Appends the event unless the same component already has an event of the same kind and
    /// reason (a warning that every pass would otherwise repeat). Returns whether it was added.
    pub async fn append_event_once(&self, event: &NewEvent) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let seen: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM release_events WHERE release_id = $1 AND component_id = $2 \
             AND kind = $3 AND reason = $4",
        )
        .bind(event.release_id)
        .bind(event.component_id)
        .bind(&event.kind)
        .bind(&event.reason)
        .fetch_one(&mut *tx)
        .await?;
        if seen > 0 {
            return Ok(false);
        }
        insert_event(
            &mut tx,
            &EventInsert {
                release_id: event.release_id,
                component_id: event.component_id,
                actor: &event.actor,
                kind: &event.kind,
                from_state: None,
                to_state: None,
                reason: event.reason.as_deref(),
                mention: None,
            },
        )
        .await?;
        self.commit_events(tx).await?;
        Ok(true)
    }

    /// Commits a transaction that appended events and tells this process's readers of the log.
    pub(crate) async fn commit_events(
        &self,
        tx: sqlx::Transaction<'_, sqlx::Any>,
    ) -> Result<(), StoreError> {
        tx.commit().await?;
        crate::wakeups::announce(&self.events_committed);
        Ok(())
    }

    /// Wake-ups for a reader that follows the log: they fire after a commit that appended
    /// events, in this process (SQLite and PostgreSQL) or in any process (PostgreSQL `LISTEN`).
    /// A reader still looks now and then on its own: a wake-up is a hint, not the log.
    pub async fn event_wakeups(&self) -> Wakeups {
        Wakeups::new(self, &self.events_committed, EVENTS_CHANNEL).await
    }

    /// Events of release `release_id` with an id above `after_id`, oldest first.
    pub async fn events(
        &self,
        release_id: i64,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<ReleaseEvent>, StoreError> {
        sqlx::query(
            "SELECT * FROM release_events WHERE release_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(release_id)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }

    /// Events of every release with an id above `after_id`, oldest first (for the live feed).
    pub async fn events_since(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<ReleaseEvent>, StoreError> {
        sqlx::query("SELECT * FROM release_events WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event_from_row)
            .collect()
    }

    /// The id of the newest event, 0 when the log is empty.
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM release_events")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

fn event_from_row(row: &AnyRow) -> Result<ReleaseEvent, StoreError> {
    Ok(ReleaseEvent {
        id: row.try_get("id")?,
        release_id: row.try_get("release_id")?,
        component_id: row.try_get("component_id")?,
        component_name: row.try_get("component_name")?,
        actor: row.try_get("actor")?,
        kind: row.try_get("kind")?,
        from_state: row.try_get("from_state")?,
        to_state: row.try_get("to_state")?,
        reason: row.try_get("reason")?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
    })
}
