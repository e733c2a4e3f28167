//! Worker coordination: one worker at a time advances a release, and anything that happens to
//! a release raises its wake flag for the worker to look.

use crate::db::{Store, not_found_unless_changed};
use crate::error::StoreError;

impl Store {
    /// Takes (or renews) the lease on release `release_id` for `owner` until
    /// `now_ms + lease_ms`. Succeeds when nobody holds it, its holder's lease expired, or
    /// `owner` holds it already; false otherwise (and when the release does not exist).
    pub async fn try_lease_release(
        &self,
        release_id: i64,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE main_releases SET lease_owner = $2, lease_until_ms = $4 \
             WHERE id = $1 \
             AND (lease_until_ms IS NULL OR lease_until_ms < $3 OR lease_owner = $2)",
        )
        .bind(release_id)
        .bind(owner)
        .bind(now_ms)
        .bind(now_ms.saturating_add(lease_ms))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up `owner`'s lease on release `release_id`; does nothing if another holds it.
    pub async fn release_lease(&self, release_id: i64, owner: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE main_releases SET lease_owner = NULL, lease_until_ms = NULL \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(release_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Reads and clears the wake flag of release `release_id` in one statement: true when a
    /// wake-up was requested since the last call.
    pub async fn take_wake(&self, release_id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE main_releases SET wake_requested = 0 WHERE id = $1 AND wake_requested = 1",
        )
        .bind(release_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Asks the worker to look at release `release_id` (a webhook or an API action arrived).
    pub async fn request_wake(&self, release_id: i64) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE main_releases SET wake_requested = 1 WHERE id = $1")
            .bind(release_id)
            .execute(&self.pool)
            .await?;
        not_found_unless_changed(done.rows_affected(), || {
            format!("main release {release_id}")
        })
    }
}
