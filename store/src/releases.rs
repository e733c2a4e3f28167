//! Main releases.

use convoy_core::StateName;
use convoy_core::component::{self, ComponentEvent};
use convoy_core::main_release::{self, MainReleaseEvent};
use convoy_core::{ComponentState, MainReleaseState};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{
    Store, flag, lock_and_wake_release, not_found_unless_changed, now, parse_flag,
    parse_optional_time, parse_state, parse_time, time_text,
};
use crate::error::StoreError;
use crate::events::{EventInsert, insert_event};
use crate::model::{Change, MainRelease, MainReleaseSummary, NewMainRelease};

/// The states in which a main release can still move, as an SQL list.
macro_rules! active_states {
    () => {
        "('created', 'analyzing', 'waiting', 'deploying')"
    };
}
pub(crate) use active_states;

impl Store {
    /// Records a new main release in state created, with its "created" event.
    ///
    /// At most one release per app and ref is active (a unique index, migration 0006): when one
    /// is, nothing is written and the answer is `StoreError::ActiveRelease` naming it. Of several
    /// concurrent calls for one app and ref exactly one wins.
    pub async fn create_main_release(
        &self,
        new: &NewMainRelease,
    ) -> Result<MainRelease, StoreError> {
        // The active release that made the insert fail may finish before it is read: then the
        // insert is tried again. A few rounds only, so that a flapping database cannot loop.
        let mut rounds = 0;
        loop {
            rounds += 1;
            match self.insert_main_release(new).await {
                Err(StoreError::Database(sqlx::Error::Database(err)))
                    if err.is_unique_violation() =>
                {
                    self.refuse_a_second_active_release(&new.app_project, &new.app_ref, None)
                        .await?;
                    if rounds >= 3 {
                        return Err(StoreError::Database(sqlx::Error::Database(err)));
                    }
                }
                other => return other,
            }
        }
    }

    /// `Err(StoreError::ActiveRelease)` naming the active release of `app_project` at `app_ref`
    /// (other than `except`) if there is one, else `Ok`. A check before an action that would
    /// reopen a release; the unique index of migration 0006 still decides a race.
    pub async fn refuse_a_second_active_release(
        &self,
        app_project: &str,
        app_ref: &str,
        except: Option<i64>,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(concat!(
            "SELECT id, state FROM main_releases WHERE app_project = $1 AND app_ref = $2 ",
            "AND id <> $3 AND state IN ",
            active_states!(),
            " ORDER BY id LIMIT 1"
        ))
        .bind(app_project)
        .bind(app_ref)
        .bind(except.unwrap_or(-1))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(()),
            Some(row) => Err(StoreError::ActiveRelease {
                id: row.try_get("id")?,
                app_project: app_project.to_string(),
                app_ref: app_ref.to_string(),
                state: row.try_get("state")?,
            }),
        }
    }

    async fn insert_main_release(&self, new: &NewMainRelease) -> Result<MainRelease, StoreError> {
        let created = MainReleaseState::Created.as_str();
        let at = time_text(now());
        let mut tx = self.writer.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO main_releases \
             (app_project, app_ref, state, require_review, started_by, created_at, updated_at, \
              wake_requested) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, 1) RETURNING id",
        )
        .bind(&new.app_project)
        .bind(&new.app_ref)
        .bind(created)
        .bind(flag(new.require_review))
        .bind(&new.started_by)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            &EventInsert {
                release_id: id,
                component_id: None,
                actor: &new.started_by,
                kind: "created",
                from_state: None,
                to_state: Some(created),
                reason: None,
                mention: None,
            },
        )
        .await?;
        let release = fetch_main_release(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("main release {id}")))?;
        self.commit_events(tx).await?;
        Ok(release)
    }

    pub async fn main_release(&self, id: i64) -> Result<Option<MainRelease>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_main_release(&mut conn, id).await
    }

    /// Newest first. `page` starts at 1 (0 is read as 1). Also returns the total count.
    pub async fn list_main_releases(
        &self,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<MainReleaseSummary>, u64), StoreError> {
        let offset = i64::from(page.max(1) - 1) * i64::from(per_page);
        let rows = sqlx::query(
            "SELECT m.*, \
             (SELECT COUNT(*) FROM component_releases c WHERE c.release_id = m.id) \
               AS components_total, \
             (SELECT COUNT(*) FROM component_releases c \
               WHERE c.release_id = m.id AND c.state = 'success') AS components_released \
             FROM main_releases m ORDER BY m.id DESC LIMIT $1 OFFSET $2",
        )
        .bind(i64::from(per_page))
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let summaries = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM main_releases")
            .fetch_one(&self.pool)
            .await?;
        Ok((summaries, crate::db::unsigned(total, "count")?))
    }

    /// Newest first, only releases of `apps` (page and total as `list_main_releases`).
    pub async fn list_main_releases_of(
        &self,
        apps: &[String],
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<MainReleaseSummary>, u64), StoreError> {
        if apps.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let offset = i64::from(page.max(1) - 1) * i64::from(per_page);
        // One placeholder per app; the apps themselves are bound, never written into the SQL.
        let placeholders: Vec<String> = (1..=apps.len()).map(|n| format!("${n}")).collect();
        let within = format!("m.app_project IN ({})", placeholders.join(", "));
        let list_sql = format!(
            "SELECT m.*, \
             (SELECT COUNT(*) FROM component_releases c WHERE c.release_id = m.id) \
               AS components_total, \
             (SELECT COUNT(*) FROM component_releases c \
               WHERE c.release_id = m.id AND c.state = 'success') AS components_released \
             FROM main_releases m WHERE {within} ORDER BY m.id DESC LIMIT ${} OFFSET ${}",
            apps.len() + 1,
            apps.len() + 2
        );
        let count_sql = format!("SELECT COUNT(*) FROM main_releases m WHERE {within}");
        let mut list = sqlx::query(sqlx::AssertSqlSafe(list_sql));
        let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
        for app in apps {
            list = list.bind(app.clone());
            count = count.bind(app.clone());
        }
        let rows = list
            .bind(i64::from(per_page))
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let summaries = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let total = count.fetch_one(&self.pool).await?;
        Ok((summaries, crate::db::unsigned(total, "count")?))
    }

    /// Every app project that has a release, in name order.
    pub async fn release_app_projects(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT app_project FROM main_releases ORDER BY app_project",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The app project of release `id`, if it exists.
    pub async fn release_app_project(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT app_project FROM main_releases WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Releases that can still move (created, analyzing, waiting, deploying), oldest first.
    pub async fn active_main_release_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(concat!(
            "SELECT id FROM main_releases WHERE state IN ",
            active_states!(),
            " ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Releases whose wake flag is set, whatever their state (a canceled release may still have
    /// work to finish, such as withdrawing an auto-merge), oldest first.
    pub async fn woken_release_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar(
                "SELECT id FROM main_releases WHERE wake_requested <> 0 ORDER BY id",
            )
            .fetch_all(&self.pool)
            .await?,
        )
    }

    /// Moves release `id` from `from` to `to` if it is still in `from`; returns false (and
    /// writes nothing) otherwise. Records the event, sets the reason, sets `finished_at` on a
    /// final state (clears it otherwise) and wakes the worker, all in one transaction.
    pub async fn transition_main_release(
        &self,
        id: i64,
        from: MainReleaseState,
        to: MainReleaseState,
        change: &Change,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let done = match move_release_in(&mut tx, id, from, to, change).await {
            // Reopening a release (retry) while another of its app and ref is active.
            Err(StoreError::Database(sqlx::Error::Database(err))) if err.is_unique_violation() => {
                drop(tx);
                return match fetch_main_release(&mut *self.pool.acquire().await?, id).await? {
                    Some(release) => self
                        .refuse_a_second_active_release(
                            &release.app_project,
                            &release.app_ref,
                            Some(id),
                        )
                        .await
                        .and(Err(StoreError::Database(sqlx::Error::Database(err)))),
                    None => Err(StoreError::Database(sqlx::Error::Database(err))),
                };
            }
            other => other?,
        };
        if !done {
            return Ok(false);
        }
        self.commit_events(tx).await?;
        Ok(true)
    }

    /// Cancels release `id` and every component of it that can still be canceled, in one
    /// transaction, with an event each: the one decision that wins against the worker and
    /// against component actions (`transition_component` locks the release row first, and
    /// refuses to move a component of a canceled release). Returns false, writing nothing, when
    /// the release's state allows no cancel (it finished, or was canceled already).
    pub async fn cancel_main_release(&self, id: i64, change: &Change) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        // The first write takes the release row (PostgreSQL) or the database (SQLite), so no
        // component moves between the read below and the commit.
        lock_and_wake_release(&mut tx, id).await?;
        let release = fetch_main_release(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("main release {id}")))?;
        if main_release::decide(release.state, &MainReleaseEvent::Cancel).is_err() {
            return Ok(false);
        }
        if !move_release_in(
            &mut tx,
            id,
            release.state,
            MainReleaseState::Canceled,
            change,
        )
        .await?
        {
            return Ok(false);
        }
        let components: Vec<(i64, String)> = sqlx::query(
            "SELECT id, state FROM component_releases WHERE release_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("state")?)))
        .collect::<Result<_, StoreError>>()?;
        let canceled = ComponentState::Canceled.as_str();
        for (component_id, state) in components {
            let current: ComponentState = parse_state(&state)?;
            if component::decide(current, &ComponentEvent::Cancel).is_err() {
                continue;
            }
            // Woken, as in `transition_component`: its withdrawal is a step of its own.
            sqlx::query(
                "UPDATE component_releases SET state = $2, reason = $3, updated_at = $4, \
                 wake_requested = wake_requested + 1 WHERE id = $1",
            )
            .bind(component_id)
            .bind(canceled)
            .bind(&change.reason)
            .bind(time_text(now()))
            .execute(&mut *tx)
            .await?;
            insert_event(
                &mut tx,
                &EventInsert {
                    release_id: id,
                    component_id: Some(component_id),
                    actor: &change.actor,
                    kind: "state",
                    from_state: Some(&state),
                    to_state: Some(canceled),
                    reason: change.reason.as_deref(),
                    mention: None,
                },
            )
            .await?;
        }
        self.commit_events(tx).await?;
        Ok(true)
    }

    /// Turns the review gate on or off; wakes the worker (a gate may have opened).
    pub async fn set_require_review(
        &self,
        release_id: i64,
        require_review: bool,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE main_releases SET require_review = $2, updated_at = $3, \
             wake_requested = 1 WHERE id = $1",
        )
        .bind(release_id)
        .bind(flag(require_review))
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        not_found_unless_changed(done.rows_affected(), || {
            format!("main release {release_id}")
        })
    }
}

/// Moves release `id` from `from` to `to` inside `conn`'s transaction if it is still in
/// `from` (false, nothing written, otherwise): sets the reason, `finished_at` on a final state
/// (clears it otherwise), wakes the worker and records the event.
pub(crate) async fn move_release_in(
    conn: &mut AnyConnection,
    id: i64,
    from: MainReleaseState,
    to: MainReleaseState,
    change: &Change,
) -> Result<bool, StoreError> {
    let (from, to, at) = (from.as_str(), to.as_str(), now());
    let finished_at = is_final(to).then(|| time_text(at));
    let done = sqlx::query(
        "UPDATE main_releases SET state = $3, reason = $4, updated_at = $5, \
         finished_at = $6, wake_requested = 1 WHERE id = $1 AND state = $2",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(&change.reason)
    .bind(time_text(at))
    .bind(finished_at)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    insert_event(
        conn,
        &EventInsert {
            release_id: id,
            component_id: None,
            actor: &change.actor,
            kind: "state",
            from_state: Some(from),
            to_state: Some(to),
            reason: change.reason.as_deref(),
            mention: None,
        },
    )
    .await?;
    Ok(true)
}

pub(crate) async fn fetch_main_release(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<MainRelease>, StoreError> {
    sqlx::query("SELECT * FROM main_releases WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(main_release_from_row)
        .transpose()
}

fn is_final(state: &str) -> bool {
    matches!(state, "success" | "failed" | "canceled")
}

fn main_release_from_row(row: &AnyRow) -> Result<MainRelease, StoreError> {
    Ok(MainRelease {
        id: row.try_get("id")?,
        app_project: row.try_get("app_project")?,
        app_ref: row.try_get("app_ref")?,
        state: parse_state(&row.try_get::<String, _>("state")?)?,
        require_review: parse_flag(row.try_get("require_review")?),
        manifest_path: row.try_get("manifest_path")?,
        manifest_commit_id: row.try_get("manifest_commit_id")?,
        reason: row.try_get("reason")?,
        started_by: row.try_get("started_by")?,
        created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_time(&row.try_get::<String, _>("updated_at")?)?,
        finished_at: parse_optional_time(row.try_get("finished_at")?)?,
    })
}

fn summary_from_row(row: &AnyRow) -> Result<MainReleaseSummary, StoreError> {
    Ok(MainReleaseSummary {
        release: main_release_from_row(row)?,
        components_total: crate::db::unsigned(row.try_get("components_total")?, "count")?,
        components_released: crate::db::unsigned(row.try_get("components_released")?, "count")?,
    })
}
