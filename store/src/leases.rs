//! Worker coordination: one worker at a time advances a release, and anything that happens to
//! a release raises its wake flag for the worker to look.
//!
//! The wake flag (`wake_requested`) has three values: 0 nothing to do, 1 something happened,
//! 2 a worker is handling what happened. A pass claims the flag (1 → 2) before it looks and
//! settles it (2 → 0) only after it succeeded; anything that happens meanwhile sets it back to
//! 1, so it is looked at again. A worker that dies mid-pass leaves 2, which the next holder of
//! the lease claims again: no wake-up is ever lost.

use crate::db::{Store, not_found_unless_changed};
use crate::error::StoreError;

/// `wake_requested` while a worker handles the wake-up it claimed.
const WAKE_CLAIMED: i64 = 2;

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
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Extends `owner`'s lease on release `release_id` until `now_ms + lease_ms`; false when
    /// `owner` does not hold it any more (it expired and another worker took it).
    pub async fn renew_lease(
        &self,
        release_id: i64,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE main_releases SET lease_until_ms = $3 WHERE id = $1 AND lease_owner = $2",
        )
        .bind(release_id)
        .bind(owner)
        .bind(now_ms.saturating_add(lease_ms))
        .execute(&self.writer)
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
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Gives up every lease whose owner starts with `prefix` (a worker's id): what a worker
    /// that stops, or a restarted one taking back what its previous life held, calls. Returns
    /// how many leases were given up.
    pub async fn release_leases_of(&self, prefix: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE main_releases SET lease_owner = NULL, lease_until_ms = NULL \
             WHERE substr(lease_owner, 1, length($1)) = $1",
        )
        .bind(prefix)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    /// Releases whose holder stopped renewing its lease before giving it up (it died), oldest
    /// first: another worker takes them over at once.
    pub async fn abandoned_release_ids(&self, now_ms: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM main_releases \
             WHERE lease_owner IS NOT NULL AND lease_until_ms < $1 ORDER BY id",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Claims the wake-up of release `release_id` for the pass about to run: true when one was
    /// requested (or claimed by a pass that never settled it).
    pub async fn claim_wake(&self, release_id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE main_releases SET wake_requested = $2 WHERE id = $1 AND wake_requested <> 0",
        )
        .bind(release_id)
        .bind(WAKE_CLAIMED)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether release `release_id` has a wake-up waiting (requested, or claimed by a pass that
    /// never settled it).
    pub async fn wake_waiting(&self, release_id: i64) -> Result<bool, StoreError> {
        let flag: Option<i64> =
            sqlx::query_scalar("SELECT wake_requested FROM main_releases WHERE id = $1")
                .bind(release_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(flag.is_some_and(|flag| flag != 0))
    }

    /// Clears the wake-up a successful pass claimed, unless another was requested meanwhile.
    pub async fn settle_wake(&self, release_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE main_releases SET wake_requested = 0 WHERE id = $1 AND wake_requested = $2",
        )
        .bind(release_id)
        .bind(WAKE_CLAIMED)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Asks the worker to look at release `release_id` (a webhook or an API action arrived).
    pub async fn request_wake(&self, release_id: i64) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE main_releases SET wake_requested = 1 WHERE id = $1")
            .bind(release_id)
            .execute(&self.writer)
            .await?;
        not_found_unless_changed(done.rows_affected(), || {
            format!("main release {release_id}")
        })
    }
}
