//! Which project hooks Convoy made sure of, so that a release does not list and edit the same
//! project's hooks for every component (see `migrations/*/0011_project_hooks.sql`).

use chrono::{DateTime, Utc};

use crate::db::{Store, now, parse_time, time_text};
use crate::error::StoreError;

impl Store {
    /// When Convoy last made sure that `project_path` has the hook `hook_url` with the secret
    /// whose digest is `secret_digest`; `None` if never (or for another URL or secret).
    pub async fn hook_ensured_at(
        &self,
        project_path: &str,
        hook_url: &str,
        secret_digest: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<String> = sqlx::query_scalar(
            "SELECT ensured_at FROM project_hooks \
             WHERE project_path = $1 AND hook_url = $2 AND secret_digest = $3",
        )
        .bind(project_path)
        .bind(hook_url)
        .bind(secret_digest)
        .fetch_optional(&self.pool)
        .await?;
        at.as_deref().map(parse_time).transpose()
    }

    /// Records that Convoy made sure of the hook now.
    pub async fn record_hook_ensured(
        &self,
        project_path: &str,
        hook_url: &str,
        secret_digest: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO project_hooks (project_path, hook_url, secret_digest, ensured_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_path) DO UPDATE SET hook_url = excluded.hook_url, \
             secret_digest = excluded.secret_digest, ensured_at = excluded.ensured_at",
        )
        .bind(project_path)
        .bind(hook_url)
        .bind(secret_digest)
        .bind(time_text(now()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
