//! Components another active release is releasing: one release at a time may release a
//! component, whatever app it is for (issue 14 point 5).

use sqlx::Row;

use crate::db::Store;
use crate::error::StoreError;
use crate::releases::active_states;

/// A component project that an active release other than the one asking is releasing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyComponent {
    /// The component's name in the other release.
    pub name: String,
    pub project_path: String,
    pub release_id: i64,
    pub app_project: String,
    pub app_ref: String,
    /// The other release's state, by its stored name (e.g. `deploying`).
    pub release_state: String,
}

impl Store {
    /// The first of `project_paths` that a component of another active release (not
    /// `release_id`) still holds: any state but canceled and skipped, since a failed one can be
    /// retried and a released one may still be pinned by its release's manifest rewrite.
    pub async fn busy_component(
        &self,
        release_id: i64,
        project_paths: &[&str],
    ) -> Result<Option<BusyComponent>, StoreError> {
        for project_path in project_paths {
            let row = sqlx::query(concat!(
                "SELECT c.name, c.project_path, m.id, m.app_project, m.app_ref, m.state \
                 FROM component_releases c JOIN main_releases m ON m.id = c.release_id \
                 WHERE c.project_path = $1 AND m.id <> $2 \
                 AND c.state NOT IN ('canceled', 'skipped') AND m.state IN ",
                active_states!(),
                " ORDER BY m.id LIMIT 1"
            ))
            .bind(project_path)
            .bind(release_id)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return Ok(Some(BusyComponent {
                    name: row.try_get("name")?,
                    project_path: row.try_get("project_path")?,
                    release_id: row.try_get("id")?,
                    app_project: row.try_get("app_project")?,
                    app_ref: row.try_get("app_ref")?,
                    release_state: row.try_get("state")?,
                }));
            }
        }
        Ok(None)
    }
}
