//! What an operator asks of the database: is it reachable, is its schema up to date, and how
//! many releases and components are in each state (for `/ready` and `/metrics`).

use crate::db::Store;
use crate::error::StoreError;

impl Store {
    /// Runs the smallest query there is: Ok when the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.writer).await?;
        Ok(())
    }

    /// The versions of Convoy's migrations this binary carries that the database has not
    /// applied (empty when the schema is up to date).
    pub async fn unapplied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let migrator = if self.is_postgres() {
            sqlx::migrate!("../migrations/postgres")
        } else {
            sqlx::migrate!("../migrations/sqlite")
        };
        // The table named in `db::MIGRATIONS_TABLE`, where `Store::connect` records them.
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM convoy_migrations")
            .fetch_all(&self.pool)
            .await?;
        Ok(migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .filter(|version| !applied.contains(version))
            .collect())
    }

    /// How many main releases are in each state, as (state, count), states without a
    /// release left out.
    pub async fn main_releases_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT state, COUNT(*) FROM main_releases GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many component releases are in each state, as (state, count).
    pub async fn components_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT state, COUNT(*) FROM component_releases GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}

impl Store {
    /// Who holds the lease on release `release_id` and until when (epoch ms), if anyone.
    pub async fn lease_of(&self, release_id: i64) -> Result<Option<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT lease_owner, lease_until_ms FROM main_releases \
             WHERE id = $1 AND lease_owner IS NOT NULL AND lease_until_ms IS NOT NULL",
        )
        .bind(release_id)
        .fetch_optional(&self.pool)
        .await?)
    }
}

/// Help texts of the store's metrics.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        COMPONENT_STATE_SECONDS,
        metrics::Unit::Seconds,
        "Seconds components spent in a state, recorded when they leave it."
    );
}

/// How long components stay in each state, in seconds: recorded when a component leaves one.
pub const COMPONENT_STATE_SECONDS: &str = "convoy_component_state_seconds";

impl Store {
    /// Records in [`COMPONENT_STATE_SECONDS`] how long component `id` spent in `left`, the
    /// state it has just left: from the event that entered it (or, for its first state, from
    /// the component's creation) until now. A failure only costs the sample.
    pub(crate) async fn observe_time_in_state(&self, id: i64, left: &str) {
        let entered: Result<Option<String>, sqlx::Error> = sqlx::query_scalar(
            "SELECT COALESCE(\
               (SELECT created_at FROM release_events \
                WHERE component_id = $1 AND kind = 'state' AND to_state = $2 \
                ORDER BY id DESC LIMIT 1), \
               (SELECT created_at FROM component_releases WHERE id = $1))",
        )
        .bind(id)
        .bind(left)
        .fetch_one(&self.pool)
        .await;
        let entered = match entered.map(|text| text.map(|t| crate::db::parse_time(&t))) {
            Ok(Some(Ok(time))) => time,
            other => {
                tracing::debug!(component_id = id, ?other, "no time in state recorded");
                return;
            }
        };
        let seconds = (crate::db::now() - entered).as_seconds_f64().max(0.0);
        metrics::histogram!(COMPONENT_STATE_SECONDS, "state" => left.to_owned()).record(seconds);
    }
}
